"""`export --layout hf`: references, versions and pairs as streamed, sharded parquet."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path

from pandaset_build.config import vocab
from pandaset_build.formats.card import write_card
from pandaset_build.formats.export_summary import ExportSummary
from pandaset_build.formats.features import HF_CONFIGS
from pandaset_build.formats.manifest import write_manifest
from pandaset_build.formats.shard_writer import ShardWriter, check_folder_files
from pandaset_build.labels.pairs import DIFFICULTIES, Pair, difficulty, image_pairs
from pandaset_build.labels.stats import LabelStats
from pandaset_build.stages import bench
from pandaset_build.store.atomic import staged_folder
from pandaset_build.store.build import Build
from pandaset_build.store.records import Row
from pandaset_build.store.scored import ScoredBuild, ScoredImage


def reference_row(image: ScoredImage) -> Row:
    """A `references` row: the original image file, its regions and relations."""
    source = image.source
    row = source.to_row()
    return {
        "tag": image.tag,
        "split": image.split,
        "source": source.source,
        "image": {"bytes": Path(source.image_path).read_bytes(), "path": None},
        "width": source.width,
        "height": source.height,
        "regions": row["regions"],
        "relations": row["relations"],
    }


def version_row(build: Build, image: ScoredImage, version: str) -> Row:
    """A `versions` row: the stored PNG, the image score, per region its labels and score."""
    path = build.layout.version_image(version, image.split, image.tag)
    return {
        "tag": image.tag,
        "split": image.split,
        "version": version,
        "image": {"bytes": path.read_bytes(), "path": None},
        "image_score": image.image_scores[version],
        "score_provenance": asdict(image.provenance[version]),
        "regions": [
            {
                "region_id": plan.region_id,
                "distortion": vocab.DISTORTION_ID[plan.distortion],
                "subtype": plan.subtype,
                "severity": vocab.SEVERITY_ID[plan.severity],
                "level": plan.level,
                "params": plan.params,
                "score": score,
                "isp": plan.isp,
                "isp_folder": plan.isp_folder,
                "depth_tier": plan.depth_tier,
                "mean_change": plan.mean_change,
                "changed_share": plan.changed_share,
                "attempts": plan.attempts,
                "audit": plan.audit,
                "relabelled_from": plan.relabelled_from,
            }
            for plan, score in zip(image.plans[version], image.region_scores[version], strict=True)
        ],
    }


def pair_row(pair: Pair) -> Row:
    """A `pairs` row: difficulty, image comparison, per region the comparison."""
    return {
        "tag": pair.tag,
        "split": pair.split,
        "anchor_version": pair.anchor,
        "target_version": pair.target,
        "difficulty": DIFFICULTIES.index(pair.difficulty),
        "image_comparison": pair.image_comparison,
        "image_score_diff": pair.image_score_diff,
        "regions": [
            {"region_id": r.region_id, "comparison": r.comparison, "score_diff": r.score_diff}
            for r in pair.regions
        ],
    }


def preview_triples(scored: ScoredBuild, limit: int) -> list[bench.Triple]:
    """Up to `limit` pairs of the bench selection, taking easy, medium, hard in turn."""
    chosen, _ = bench.select(scored, None)
    turns = itertools.zip_longest(*(chosen[kind] for kind in DIFFICULTIES))
    return [t for t in itertools.chain.from_iterable(turns) if t is not None][:limit]


def preview_row(scored: ScoredBuild, image: ScoredImage, anchor: str, target: str) -> Row:
    """A bench row with its difficulty: both images and every label of every region."""
    row = bench.bench_row(scored.build, image, anchor, target, scored.predicate_id)
    return {"difficulty": DIFFICULTIES.index(difficulty(anchor, target)), **row}


def expected_rows(scored: ScoredBuild, preview: int) -> dict[str, dict[str, int]]:
    """Rows per configuration and split, known before anything is written."""
    n = len(scored.versions)
    per_image = {"references": 1, "versions": n, "pairs": n * (n - 1)}
    rows = {"preview": {bench.BENCH_SPLIT: preview}} if preview else {}
    for config, k in per_image.items():
        rows[config] = {split: scored.count(split) * k for split in scored.splits}
    return rows


def export_hf(build: Build) -> ExportSummary:
    """Write `export/hf/` (data shards and README.md card); nothing is left on failure."""
    start = time.perf_counter()
    scored = ScoredBuild(build)
    scored.check()
    settings = build.recipe.export
    triples = preview_triples(scored, settings.preview_pairs)
    rows = expected_rows(scored, len(triples))
    rule = build.recipe.comparison
    stats = LabelStats()
    final = build.layout.export("hf")
    with staged_folder(final) as out:
        writers = {
            (config, split): ShardWriter(
                out / "data" / config, split, HF_CONFIGS[config], n, settings.shard_bytes
            )
            for config, per_split in rows.items()
            for split, n in per_split.items()
        }
        load: Callable[[str], ScoredImage] = lru_cache(maxsize=bench.IMAGE_CACHE)(scored.image)
        for anchor, target, tag in triples:
            row = preview_row(scored, load(tag), anchor, target)
            writers["preview", bench.BENCH_SPLIT].write(row)
        for image in scored.iter_images():
            stats.add_image(image)
            writers["references", image.split].write(reference_row(image))
            for version in scored.versions:
                writers["versions", image.split].write(version_row(build, image, version))
            for pair in image_pairs(image, scored.versions, rule):
                stats.add_pair(pair)
                writers["pairs", image.split].write(pair_row(pair))
        files = sum(len(writer.close()) for writer in writers.values())
        check_folder_files(out, settings.max_files_per_folder)
        write_card(out / "README.md", build, scored, rows, stats)
        write_manifest(out, build, "hf", rows)
    return ExportSummary(
        "hf", final, rows, files, time.perf_counter() - start, stats=stats.to_json(scored.splits)
    )
