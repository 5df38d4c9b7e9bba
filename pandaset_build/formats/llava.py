"""`export --layout llava`: LLaVA-style conversations over every ordered pair, one file per split.

The question is the paper's type (b) prompt (system text, then the user text with the numbered
region list); the answer is the ground-truth Distortion Graph in the type (b) answer schema.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any, TextIO

from pandaset_build.config import vocab
from pandaset_build.formats.export_summary import ExportSummary
from pandaset_build.formats.manifest import write_manifest
from pandaset_build.json_types import JsonObject
from pandaset_build.labels.pairs import Pair, image_pairs
from pandaset_build.store.atomic import staged_folder, write_bytes_atomic
from pandaset_build.store.build import Build
from pandaset_build.store.records import Region
from pandaset_build.store.scored import ScoredBuild, ScoredImage

PAPER_DISTORTIONS: dict[str, str] = {
    name: name.replace("_inc", "-increase").replace("_dec", "-decrease")
    for name in vocab.DISTORTIONS
}
PAPER_COMPARISONS: dict[str, str] = {name: name.replace("_", "-") for name in vocab.COMPARISONS}
DISTORTION_LIST = str(sorted(PAPER_DISTORTIONS.values()))
COMPARISON_SET = str(list(PAPER_COMPARISONS.values()))
RANKINGS = str(dict(enumerate(PAPER_COMPARISONS.values())))

SYSTEM = (
    "You are an image quality assessor. Respond with **JSON only** matching:\n"
    '{"regions": [{"index": int>=1, "a": {"distortion": one of '
    + DISTORTION_LIST
    + ', "severity": '
    '0..3, "score": 0..1}, "b": {"distortion": same set, "severity": 0..3, "score": 0..1}, '
    '"comparison": one of ' + COMPARISON_SET + "  # A relative to B} x n_regions]}\n"
    "Note: Regions in image A are same as regions in image B."
)
USER = (
    "Provide an image quality assessment for each of the regions in image A and image B based on "
    "their bounding boxes and names. Identify the distortion present in each region, and pick one "
    f"for each region from this list {DISTORTION_LIST}.\n"
    "Identify the severity of distortion for each region from: [0, 1, 2, 3], where 0 means clean, "
    "and 3 means highest severity.\n"
    "Compare the regions in image A and image B, and rank them based on image A.\n"
    f"These are the rankings to choose from: {RANKINGS}.\n"
    "Give a score between 0 and 1 for each region, based on the degradation and their severity, "
    "where 0 means severely bad image, and 1 means clean image.\n"
    "Regions:\n"
)
SCORE_DECIMALS = 4


def region_line(number: int, region: Region) -> str:
    """`1. Region: field | Box: [x1=0.0, y1=290.0, x2=1023.0, y2=675.0]` from a COCO xywh box
    (x2 = x + w and y2 = y + h, exclusive, as PSG's boxes)."""
    x, y, w, h = (float(v) for v in region.bbox)
    box = f"[x1={x:.1f}, y1={y:.1f}, x2={x + w:.1f}, y2={y + h:.1f}]"
    return f"{number}. Region: {region.name} | Box: {box}"


def question(image: ScoredImage) -> str:
    """The human turn: both image tokens, the system text, the user text with the regions."""
    lines = [region_line(i, r) for i, r in enumerate(image.source.regions, 1)]
    return "<image>\n<image>\n" + SYSTEM + "\n\n" + USER + "\n".join(lines)


def side(image: ScoredImage, version: str, index: int) -> JsonObject:
    plan = image.plans[version][index]
    return {
        "distortion": PAPER_DISTORTIONS[plan.distortion],
        "severity": vocab.SEVERITY_ID[plan.severity],
        "score": round(image.region_scores[version][index], SCORE_DECIMALS),
    }


def answer(image: ScoredImage, pair: Pair) -> str:
    """The ground-truth graph in the type (b) schema: regions numbered from 1, `a` the anchor."""
    regions = [
        {
            "index": i + 1,
            "a": side(image, pair.anchor, i),
            "b": side(image, pair.target, i),
            "comparison": PAPER_COMPARISONS[vocab.COMPARISONS[region.comparison]],
        }
        for i, region in enumerate(pair.regions)
    ]
    return json.dumps({"regions": regions})


def image_file(image: ScoredImage, version: str) -> str:
    """The image of a version, relative to the export folder."""
    return f"images/{version}/{image.split}/{image.tag}.png"


def conversation(image: ScoredImage, pair: Pair, prompt: str) -> JsonObject:
    return {
        "id": f"{pair.tag}_{pair.anchor}_{pair.target}",
        "image": [image_file(image, pair.anchor), image_file(image, pair.target)],
        "conversations": [
            {"from": "human", "value": prompt},
            {"from": "gpt", "value": answer(image, pair)},
        ],
    }


def link_or_copy(source: Path, target: Path) -> None:
    """A hard link where the file system allows one, else a copy (same bytes either way)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


class JsonListWriter:
    """Writes `[item, ...]` one item at a time, so a split's file never sits in memory."""

    def __init__(self, path: Path) -> None:
        self.file: TextIO = path.open("w")
        self.file.write("[")
        self.count = 0

    def add(self, item: Any) -> None:
        self.file.write(("\n" if self.count == 0 else ",\n") + json.dumps(item))
        self.count += 1

    def close(self) -> None:
        self.file.write("\n]\n")
        self.file.close()


README = """# LLaVA-style conversations of a PandaSet build

`<split>.json`: one LLaVA conversation per ordered pair of versions of each image:
`{"id", "image": [image A, image B], "conversations": [human, gpt]}`. The human turn holds two
`<image>` tokens (A = anchor, B = target), the paper's type (b) system text and its user text
with the numbered region list; the gpt turn is the ground-truth graph as JSON:
`{"regions": [{"index": i, "a": {"distortion", "severity", "score"}, "b": {...},
"comparison"}]}` with the paper's hyphenated labels. Image paths are relative to this folder.

Train with a multi-image LLaVA code base (LLaVA-NeXT / LLaVA-OneVision `train_mem.py`):
`--data_path {split}.json --image_folder <this folder>`; see pandaset-build's docs/export.md.
"""


def export_llava(build: Build) -> ExportSummary:
    """Write `export/llava/` (`<split>.json`, `images/`, README.md); nothing is left on failure."""
    start = time.perf_counter()
    scored = ScoredBuild(build)
    scored.check()
    rule = build.recipe.comparison
    final = build.layout.export("llava")
    rows: dict[str, dict[str, int]] = {"conversations": {}, "images": {}}
    files = 0
    with staged_folder(final) as out:
        for split in scored.splits:
            writer = JsonListWriter(out / f"{split}.json")
            for image in scored.iter_images(split):
                for version in scored.versions:
                    source = build.layout.version_image(version, split, image.tag)
                    link_or_copy(source, out / image_file(image, version))
                prompt = question(image)
                for pair in image_pairs(image, scored.versions, rule):
                    writer.add(conversation(image, pair, prompt))
            writer.close()
            rows["conversations"][split] = writer.count
            rows["images"][split] = scored.count(split) * len(scored.versions)
            files += 1 + rows["images"][split]
        write_bytes_atomic(out / "README.md", README.encode())
        write_manifest(out, build, "llava", rows)
        files += 1
    return ExportSummary("llava", final, rows, files, time.perf_counter() - start)
