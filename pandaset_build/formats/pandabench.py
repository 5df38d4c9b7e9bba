"""`export --layout pandabench`: the published PandaBench folders and stats JSON, exactly."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from PIL import Image

from pandaset_build.config import vocab
from pandaset_build.formats.export_summary import ExportSummary
from pandaset_build.formats.jsonstream import JsonObjectWriter
from pandaset_build.formats.manifest import write_manifest
from pandaset_build.store.atomic import staged_folder
from pandaset_build.store.build import Build
from pandaset_build.store.images import encode_png, read_rgb
from pandaset_build.store.masks import Rle, decode_mask, uncompressed_rle
from pandaset_build.store.predicates import PREDICATE_FILE, predicate_vocabulary
from pandaset_build.store.records import Row
from pandaset_build.store.scored import ScoredBuild, ScoredImage

FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG"}


def reference_bytes(path: str, tag: str) -> bytes:
    """The original file when it is plain RGB in the format the tag names, else a lossless PNG."""
    with Image.open(path) as img:
        plain = img.mode == "RGB" and img.format == FORMATS.get(Path(tag).suffix.lower())
    return Path(path).read_bytes() if plain else encode_png(read_rgb(path))


def stats_entry(
    image: ScoredImage,
    version: str,
    rles: list[Rle],
    relations: list[list[int]],
) -> Row:
    """One tag's entry of `stats/<split>_stats_<version>.json`, in the published schema."""
    regions = []
    for region, rle, plan, score in zip(
        image.source.regions,
        rles,
        image.plans[version],
        image.region_scores[version],
        strict=True,
    ):
        entry = {
            "segmentation_mask": rle,
            "bbox": [float(v) for v in region.bbox],
            "name": region.name,
            "description": region.description,
            "category_id": int(region.category_id),
            "severity": vocab.SEVERITY_ID[plan.severity],
            "score_fr": float(score),
            "degradation": plan.distortion,
            "iscrowd": region.iscrowd,
            "mean_change": plan.mean_change,
            "changed_share": plan.changed_share,
            "audit": plan.audit,
        }
        if region.category_id == vocab.NO_CATEGORY:
            del entry["category_id"]  # a region without a class has none, as released Seagull's
        regions.append(entry)
    return {
        "score_fr": float(image.image_scores[version]),
        "relations": [relations],
        "regions": regions,
    }


def export_pandabench(build: Build) -> ExportSummary:
    """Write `export/pandabench/`; nothing is left on failure."""
    start = time.perf_counter()
    scored = ScoredBuild(build)
    scored.check()
    predicates = predicate_vocabulary(build)
    predicate_id = {name: i for i, name in enumerate(predicates)}
    final = build.layout.export("pandabench")
    files = 0
    with staged_folder(final) as out:
        (out / "depth").mkdir()
        (out / "stats").mkdir()
        (out / "stats" / PREDICATE_FILE).write_text(json.dumps(predicates, indent=1) + "\n")
        splits = list(build.recipe.splits)  # every split, so the published loader opens empty ones
        for split in splits:
            for folder in ("gt", *scored.versions):
                (out / folder / split).mkdir(parents=True)
        writers = {
            (split, version): JsonObjectWriter(out / "stats" / f"{split}_stats_{version}.json")
            for split in splits
            for version in scored.versions
        }
        for image in scored.iter_images():
            source, split = image.source, image.split
            rles = [uncompressed_rle(decode_mask(r.mask)) for r in source.regions]
            relations = [[r.subject, r.object, predicate_id[r.predicate]] for r in source.relations]
            for version in scored.versions:
                target = out / version / split / image.tag
                shutil.copyfile(build.layout.version_image(version, split, image.tag), target)
                writers[split, version].add(image.tag, stats_entry(image, version, rles, relations))
            gt = out / "gt" / split / image.tag
            gt.write_bytes(reference_bytes(source.image_path, image.tag))
            if source.depth_path:
                depth = Path(source.depth_path)
                target = out / "depth" / split / f"{Path(image.tag).stem}{depth.suffix}"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(depth, target)
                files += 1
            files += len(scored.versions) + 1
        for writer in writers.values():
            writer.close()
        files += len(writers) + 1
        rows = {
            "versions": {s: scored.count(s) * len(scored.versions) for s in splits},
            "gt": {s: scored.count(s) for s in splits},
        }
        write_manifest(out, build, "pandabench", rows)
    return ExportSummary("pandabench", final, rows, files, time.perf_counter() - start)
