"""`export --layout pandabench`: the published PandaBench folders and stats JSON, exactly."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pyarrow.parquet as pq
from PIL import Image

from pandaset_build.config import vocab
from pandaset_build.formats.export_summary import ExportSummary
from pandaset_build.formats.jsonstream import JsonObjectWriter
from pandaset_build.formats.manifest import write_manifest
from pandaset_build.store.atomic import staged_folder
from pandaset_build.store.build import Build
from pandaset_build.store.images import encode_png, read_rgb
from pandaset_build.store.masks import Rle, decode_mask, uncompressed_rle
from pandaset_build.store.records import Relation, Row
from pandaset_build.store.scored import ScoredBuild, ScoredImage
from pandaset_build.store.tables import parquet_files

PREDICATE_FILE = "predicate_classes.json"
FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG"}


def recorded_predicates(build: Build) -> dict[int, str]:
    """Predicate names by id as ingest recorded them for sources that number them (PSG)."""
    by_id: dict[int, str] = {}
    for folder in sorted(p for p in build.layout.sources.iterdir() if p.is_dir()):
        path = build.layout.source_predicates(folder.name)
        if path.is_file():
            names = json.loads(path.read_text(encoding="utf-8"))
            by_id.update((i, str(name)) for i, name in enumerate(names) if i not in by_id)
    return by_id


def predicate_vocabulary(build: Build) -> list[str]:
    """Predicate names by id: the source's own ids and names (PSG's `predicate_classes`, all
    of them, as ingest recorded them) where the source has them, then any names without an id,
    sorted, after the largest id; an id no source names is `unused_<id>`."""
    by_id = recorded_predicates(build)
    unnumbered: set[str] = set()
    for path in parquet_files(build.layout.sources):
        for relations in pq.read_table(path, columns=["relations"]).column(0).to_pylist():
            for relation in map(Relation.from_row, relations or []):
                if relation.predicate_id >= 0:
                    by_id.setdefault(relation.predicate_id, relation.predicate)
                else:
                    unnumbered.add(relation.predicate)
    size = max(by_id, default=-1) + 1
    names = [by_id.get(i, f"unused_{i}") for i in range(size)]
    return names + sorted(unnumbered - set(names))


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
        writers = {
            (split, version): JsonObjectWriter(out / "stats" / f"{split}_stats_{version}.json")
            for split in scored.splits
            for version in scored.versions
        }
        for image in scored.iter_images():
            source, split = image.source, image.split
            rles = [uncompressed_rle(decode_mask(r.mask)) for r in source.regions]
            relations = [[r.subject, r.object, predicate_id[r.predicate]] for r in source.relations]
            for version in scored.versions:
                target = out / version / split / image.tag
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(build.layout.version_image(version, split, image.tag), target)
                writers[split, version].add(image.tag, stats_entry(image, version, rles, relations))
            gt = out / "gt" / split / image.tag
            gt.parent.mkdir(parents=True, exist_ok=True)
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
            "versions": {s: scored.count(s) * len(scored.versions) for s in scored.splits},
            "gt": {s: scored.count(s) for s in scored.splits},
        }
        write_manifest(out, build, "pandabench", rows)
    return ExportSummary("pandabench", final, rows, files, time.perf_counter() - start)
