"""The generated dataset card (README.md): Hub metadata, configs, how the build was made."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from datasets import Features

from pandaset_build import __version__
from pandaset_build.errors import MissingStageOutputs
from pandaset_build.formats.citations import (
    citations_section,
    cited_sources,
    licences_section,
    source_datasets,
)
from pandaset_build.formats.features import HF_CONFIGS
from pandaset_build.json_types import JsonObject
from pandaset_build.labels.stats import LabelStats
from pandaset_build.store.atomic import write_bytes_atomic
from pandaset_build.store.build import Build
from pandaset_build.store.scored import ScoredBuild

NONCOMMERCIAL = {
    "license": "other",
    "license_name": "polyform-noncommercial-1.0.0",
    "license_link": "https://polyformproject.org/licenses/noncommercial/1.0.0/",
}
TASK_CATEGORIES = ["image-classification", "visual-question-answering", "image-text-to-text"]
TAGS = [
    "image-quality-assessment",
    "full-reference-iqa",
    "region-level",
    "pairwise-comparison",
    "panoptic-segmentation",
    "distortion-graph",
    "synthetic-distortions",
]
SIZE_CATEGORIES = (
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
    (1_000_000_000, "100M<n<1B"),
)
REPO_PLACEHOLDER = "path/to/export/hf"


def size_category(rows: int) -> str:
    """The Hub's `size_categories` bucket of a row count."""
    return next((name for bound, name in SIZE_CATEGORIES if rows < bound), "n>1T")


def sources_used(build: Build) -> list[str]:
    """Ingested source formats: the folders of `sources/` that hold shards."""
    root = build.layout.sources
    return sorted(p.name for p in root.iterdir() if p.is_dir() and any(p.glob("*.parquet")))


def hub_metadata(
    build: Build, identity: dict[str, list[str]], rows: dict[str, dict[str, int]]
) -> JsonObject:
    """The Hub fields of the front matter. Every score is computed by pyiqa code, licensed
    PolyForm Noncommercial 1.0.0 (as are the TOPIQ weights), so the dataset carries that licence;
    the sources' own licences are listed in the card's text."""
    if not any(identity["pyiqa_version"]):
        raise MissingStageOutputs(f"{build.root}: scores record no pyiqa version; rerun `score`")
    largest = max(sum(per_split.values()) for per_split in rows.values())
    return {
        "pretty_name": f"PandaSet ({build.recipe.name})",
        **NONCOMMERCIAL,
        "annotations_creators": ["machine-generated"],
        "task_categories": TASK_CATEGORIES,
        "size_categories": [size_category(largest)],
        "source_datasets": source_datasets(sources_used(build)),
        "tags": TAGS,
    }


def card_yaml(configs: dict[str, Features], splits: dict[str, list[str]]) -> JsonObject:
    """Front matter: one `configs` entry per configuration (the first is the default)."""
    entries = []
    for i, config in enumerate(configs):
        entry: JsonObject = {"config_name": config}
        if i == 0:
            entry["default"] = True
        entry["data_files"] = [
            {"split": split, "path": f"data/{config}/{split}-*.parquet"} for split in splits[config]
        ]
        entries.append(entry)
    info = [
        {"config_name": config, "features": features._to_yaml_list()}
        for config, features in configs.items()
    ]
    return {"configs": entries, "dataset_info": info}


def front_matter(data: JsonObject) -> str:
    return "---\n" + yaml.safe_dump(data, sort_keys=False) + "---\n"


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def counts_section(rows: dict[str, dict[str, int]], stats: JsonObject) -> str:
    splits = list(stats["images"])
    text = "## Counts\n\n"
    text += markdown_table(
        ["configuration", *splits],
        [[c, *(per.get(s, 0) for s in splits)] for c, per in rows.items()],
    )
    for key, title in (
        ("regions_per_distortion", "Regions per distortion (over all versions)"),
        ("regions_per_severity", "Regions per severity (over all versions)"),
        ("region_comparisons", "Region comparisons over all ordered pairs"),
        ("pairs_per_difficulty", "Pairs per difficulty class"),
    ):
        names = list(next(iter(stats[key].values()), {}))
        text += f"\n### {title}\n\n"
        text += markdown_table(
            ["label", *splits], [[n, *(stats[key][s][n] for s in splits)] for n in names]
        )
    return text


def loading_snippet(split: str, repo: str = REPO_PLACEHOLDER) -> str:
    """Python that joins pairs -> versions -> references and decodes a region mask."""
    return f"""```python
from datasets import load_dataset
from pycocotools import mask as mask_utils

REPO = "{repo}"
pairs = load_dataset(REPO, "pairs", split="{split}")
versions = load_dataset(REPO, "versions", split="{split}")
references = load_dataset(REPO, "references", split="{split}")
version_row = {{key: i for i, key in enumerate(zip(versions["tag"], versions["version"]))}}
reference_row = {{tag: i for i, tag in enumerate(references["tag"])}}

pair = pairs[0]
anchor = versions[version_row[pair["tag"], pair["anchor_version"]]]
target = versions[version_row[pair["tag"], pair["target_version"]]]
reference = references[reference_row[pair["tag"]]]
label = pair["regions"][0]
region = reference["regions"][label["region_id"]]
rle = region["mask"]
mask = mask_utils.decode({{"size": rle["size"], "counts": rle["counts"].encode()}})
comparison = pairs.features["regions"].feature["comparison"].names[label["comparison"]]
distortion = versions.features["regions"].feature["distortion"].names
print(region["name"], int(mask.sum()), "pixels:", comparison,
      distortion[anchor["regions"][label["region_id"]]["distortion"]], "vs",
      distortion[target["regions"][label["region_id"]]["distortion"]], anchor["image"].size)
```
"""


def regions_note(sources: list[str]) -> str:
    """What a card says about the regions of sources without classes (Seagull ROIs, SAM)."""
    notes = []
    if "seagull" in sources:
        notes.append(
            "- Seagull-100w regions are its ROIs (SAM/SEEM masks) and have no class: a region's "
            "name is its ROI's index among its image's ROIs in the ROI file (`roi 3`) and its "
            "`category_id` is -1. Overlapping ROIs were made disjoint, the smaller on top; a "
            "region that draws blur or noise keeps the pixels of one of its image's released "
            "Blur_k / Noise_k versions (`isp_folder`), the third of the k folders matching its "
            "severity by measured change in the region."
        )
    if "folder" in sources:
        notes.append("- Folder regions without a class (SAM masks, unnamed ids) have -1.")
    return "".join("\n" + note for note in notes)


def preview_entry(pairs: int, rows: dict[str, dict[str, int]]) -> str:
    """The card's line on the `preview` configuration; none when the export has no preview."""
    if "preview" not in rows:
        return ""
    return f"""- `preview` (the default, for the viewer): up to {pairs} pairs of the
  benchmark selection with both images and every label joined: per region its name, box, mask,
  both sides' distortion, severity and score, and the comparison.
"""


def card_text(
    build: Build, scored: ScoredBuild, rows: dict[str, dict[str, int]], stats: LabelStats
) -> str:
    recipe = build.recipe
    identity = scored.score_identity()
    summary = stats.to_json(scored.splits)
    splits = {config: list(per_split) for config, per_split in rows.items()}
    sources = sources_used(build)
    first_split = next(iter(rows["pairs"]), "train")
    preview = preview_entry(recipe.export.preview_pairs, rows)
    body = f"""
# PandaSet build `{recipe.name}`

Region-level pairwise image-quality data made by pandaset-build {__version__}: every image is
rendered in {len(scored.versions)} versions ({", ".join(scored.versions)}); every region of every
version carries a distortion label, sub-type, severity, parameters and a full-reference score;
every ordered pair of versions of an image gets per-region comparison labels.

## How it was built

- Recipe: `{recipe.name}`, SHA-256 `{recipe.digest()}`, seed {recipe.seed}
- Sources: {", ".join(sources)}
- Metric: {", ".join(identity["metric"])}; pyiqa {", ".join(identity["pyiqa_version"])};
  weights: {", ".join(w or "(pyiqa default)" for w in identity["weights"])} (state dict SHA-256
  {", ".join(identity["weights_sha256"]) or "not recorded"})
- Score provenance (also per row of `versions`, `score_provenance`): precision
  {", ".join(identity["precision"]) or "not recorded"}; device
  {", ".join(identity["device"]) or "not recorded"}; torch
  {", ".join(identity["torch_version"]) or "not recorded"}; CUDA
  {", ".join(identity["cuda_version"]) or "none"}; cuDNN
  {", ".join(identity["cudnn_version"]) or "none"};
  batch {", ".join(identity["batch_size"]) or "not recorded"} crops
- Scores: each region is cropped to its box in the version and in the reference, with the
  reference's pixels outside the region's mask; both crops are resized into a shape bucket
  before the metric scores them: the long side to the smallest of
  {", ".join(map(str, recipe.scoring.bucket_long_sides))} px that holds it (the largest when
  none does), the short side to the aspect ratio rounded up to quarter steps of that, at least
  {recipe.scoring.min_short_side} px. The image score compares the whole version with the
  reference.{regions_note(sources)}
- Comparison of anchor A and target T from d = s_A - s_T: |d| < {recipe.comparison.same_below}
  same; |d| < {recipe.comparison.significant_from} slightly better / worse by sign; else
  significantly better / worse.
- Difficulty: easy (both versions single-family), medium (exactly one of `mixed`, `mixed2`),
  hard (`mixed` and `mixed2`).

## Configurations

{preview}- `references`: one row per image: the clean reference (original file bytes), its
  regions (COCO xywh boxes, COCO compressed RLE masks, COCO's `iscrowd` flag) and scene
  relations.
- `versions`: one row per image and version: the stored lossless PNG (the scored pixels), the
  image score, how the scores were made (`score_provenance`: metric, weights and their
  SHA-256, precision, device, torch / CUDA / cuDNN / pyiqa versions, batch size), per region
  its distortion, sub-type, severity, DepictQA level, parameters (JSON)
  and score, and for a region that keeps a source's ISP pixels `isp` and the ISP image's
  folder (`isp_folder`); for haze the depth tier (`depth_tier`); and the visibility audit:
  the region's mean absolute change from the reference in grey levels (`mean_change`), the
  share of its pixels that changed (`changed_share`), the draws made (`attempts`) and the
  outcome (`audit`: visible, redrawn, relabelled, kept). Regions are matched across versions
  by index (`region_id`).
- `pairs`: one row per ordered pair of versions: difficulty, image comparison, per region the
  comparison label and score difference.

Label ids follow the published PANDA code: distortion, severity and comparison `ClassLabel`s.

## Loading and joining

`pairs` holds labels only; join it to `versions` (images, per-side labels) by
(`tag`, `anchor_version` / `target_version`) and to `references` (names, boxes, masks) by `tag`
and `region_id`. Masks are COCO compressed RLE:

{loading_snippet(first_split)}
{counts_section(rows, summary)}
```json
{json.dumps(summary["comparison_shares"], indent=1)}
```

{licences_section(sources)}
{citations_section(cited_sources(sources))}"""
    configs = {name: features for name, features in HF_CONFIGS.items() if name in rows}
    header = {**hub_metadata(build, identity, rows), **card_yaml(configs, splits)}
    return front_matter(header) + body


def write_card(
    path: Path,
    build: Build,
    scored: ScoredBuild,
    rows: dict[str, dict[str, int]],
    stats: LabelStats,
) -> None:
    """Write the card README.md atomically."""
    write_bytes_atomic(path, card_text(build, scored, rows, stats).encode())
