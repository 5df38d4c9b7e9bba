"""What a dataset card cites and credits: BibTeX entries, source licences, `source_datasets`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    """An ingest source format: its Hub `source_datasets` entry, licence text and citations."""

    hub_name: str
    licence: str
    citations: tuple[str, ...]


SOURCES: dict[str, Source] = {
    "psg": Source(
        "extended|psg",
        "**PSG** (OpenPSG): panoptic scene-graph annotations CC BY 4.0; the images are COCO "
        "images, Flickr photos under their own licences (COCO terms of use).",
        ("psg", "coco"),
    ),
    "coco-panoptic": Source(
        "extended|coco",
        "**COCO panoptic**: annotations CC BY 4.0; the images are Flickr photos under their own "
        "licences (COCO terms of use).",
        ("coco",),
    ),
    "seagull": Source(
        "extended|seagull-100w",
        "**Seagull-100w** (and RAISE, its image source): redistributed under their own terms; "
        "check them before sharing derived images.",
        ("seagull",),
    ),
    "folder": Source(
        "original",
        "**folder**: images and masks supplied by whoever ran the build, under their own terms.",
        (),
    ),
    "demo": Source(
        "extended|scikit-image-data",
        "**demo**: four scikit-image sample photos (astronaut and rocket public domain, coffee "
        "and chelsea CC0 1.0) with panoptic masks made for pandaset-build.",
        ("scikit_image",),
    ),
}

SCORES_LICENCE = (
    "**Scores**: computed with pyiqa; pyiqa and the TOPIQ weights are released under the "
    "PolyForm Noncommercial licence 1.0.0, so the scores and the labels derived from them "
    "(severities are planned, comparisons come from score differences) are for noncommercial "
    "use. This is why the card's `license` is `other` with `license_name` "
    "`polyform-noncommercial-1.0.0`."
)

ALWAYS_CITED = ("panda", "depictqa", "topiq")

BIBTEX: dict[str, str] = {
    "panda": """@inproceedings{janjua2026panda,
  title     = {Panoptic Pairwise Distortion Graph},
  author    = {Janjua and Wahab and Rashidi},
  booktitle = {International Conference on Learning Representations (ICLR)},
  year      = {2026}
}""",
    "depictqa": """@inproceedings{you2024depicting,
  title     = {Depicting Beyond Scores: Advancing Image Quality Assessment through Multi-modal
               Language Models},
  author    = {You, Zhiyuan and Li, Zheyuan and Gu, Jinjin and Yin, Zhenfei and Xue, Tianfan and
               Dong, Chao},
  booktitle = {European Conference on Computer Vision (ECCV)},
  year      = {2024}
}""",
    "topiq": """@article{chen2024topiq,
  title   = {{TOPIQ}: A Top-Down Approach From Semantics to Distortions for Image Quality
             Assessment},
  author  = {Chen, Chaofeng and Mo, Jiadi and Hou, Jingwen and Wu, Haoning and Liao, Liang and
             Sun, Wenxiu and Yan, Qiong and Lin, Weisi},
  journal = {IEEE Transactions on Image Processing},
  volume  = {33},
  pages   = {2404--2418},
  year    = {2024}
}""",
    "psg": """@inproceedings{yang2022psg,
  title     = {Panoptic Scene Graph Generation},
  author    = {Yang, Jingkang and Ang, Yi Zhe and Guo, Zujin and Zhou, Kaiyang and Zhang, Wayne
               and Liu, Ziwei},
  booktitle = {European Conference on Computer Vision (ECCV)},
  year      = {2022}
}""",
    "coco": """@inproceedings{lin2014coco,
  title     = {Microsoft {COCO}: Common Objects in Context},
  author    = {Lin, Tsung-Yi and Maire, Michael and Belongie, Serge and Hays, James and Perona,
               Pietro and Ramanan, Deva and Doll{\\'a}r, Piotr and Zitnick, C. Lawrence},
  booktitle = {European Conference on Computer Vision (ECCV)},
  pages     = {740--755},
  year      = {2014}
}""",
    "seagull": """@article{chen2024seagull,
  title   = {{SEAGULL}: No-reference Image Quality Assessment for Regions of Interest via
             Vision-Language Instruction Tuning},
  author  = {Chen, Zewen and Wang, Juan and Wang, Wen and Xu, Sunhan and Xiong, Hang and Zeng,
             Yun and Guo, Jian and Wang, Shuxun and Yuan, Chunfeng and Li, Bing and Hu, Weiming},
  journal = {arXiv preprint arXiv:2411.10161},
  year    = {2024}
}""",
    "scikit_image": """@article{vanderwalt2014scikit,
  title   = {scikit-image: image processing in {P}ython},
  author  = {van der Walt, St{\\'e}fan and Sch{\\"o}nberger, Johannes L. and Nunez-Iglesias, Juan
             and Boulogne, Fran{\\c{c}}ois and Warner, Joshua D. and Yager, Neil and Gouillart,
             Emmanuelle and Yu, Tony and {the scikit-image contributors}},
  journal = {PeerJ},
  volume  = {2},
  pages   = {e453},
  year    = {2014}
}""",
}


def _source(name: str) -> Source:
    if name not in SOURCES:
        raise ValueError(f"sources/{name}: unknown source format; known: {sorted(SOURCES)}")
    return SOURCES[name]


def source_datasets(sources: list[str]) -> list[str]:
    """The Hub `source_datasets` entries of the ingested sources, in first-use order."""
    return list(dict.fromkeys(_source(name).hub_name for name in sources))


def cited_sources(sources: list[str]) -> list[str]:
    """BibTeX keys to cite: PANDA, DepictQA, TOPIQ, then those of the sources used."""
    keys = [*ALWAYS_CITED, *(key for name in sources for key in _source(name).citations)]
    return list(dict.fromkeys(keys))


def citations_section(keys: list[str]) -> str:
    entries = "\n\n".join(BIBTEX[key] for key in keys)
    return f"## Citation\n\n```bibtex\n{entries}\n```\n"


def licences_section(sources: list[str]) -> str:
    lines = [f"- {_source(name).licence}" for name in sources] + [f"- {SCORES_LICENCE}"]
    return "## Licences\n\n" + "\n".join(lines) + "\n"
