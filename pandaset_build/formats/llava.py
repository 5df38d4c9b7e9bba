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
from pandaset_build.mllm import paper
from pandaset_build.mllm.prompts import paper_pair_texts
from pandaset_build.store.atomic import staged_folder, write_bytes_atomic
from pandaset_build.store.build import Build
from pandaset_build.store.scored import ScoredBuild, ScoredImage

SCORE_DECIMALS = 4


def question(image: ScoredImage) -> str:
    """The human turn: both image tokens, the paper's type (b) system text, then its user text."""
    system, user = paper_pair_texts([(r.name, tuple(r.bbox)) for r in image.source.regions])
    return "<image>\n<image>\n" + system + "\n\n" + user


def side(image: ScoredImage, version: str, index: int) -> JsonObject:
    plan = image.plans[version][index]
    return {
        "distortion": paper.distortion_name(vocab.DISTORTION_ID[plan.distortion]),
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
            "comparison": paper.comparison_name(region.comparison),
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
