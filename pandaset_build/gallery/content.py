"""What the gallery shows, as plain records: pairs (benches and a dataset sample), images with
region outlines, predicted Distortion Graphs and the figure-6 statistics."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pandaset_build.config import vocab
from pandaset_build.json_types import JsonObject
from pandaset_build.labels.pairs import DIFFICULTIES
from pandaset_build.labels.stats import LabelStats
from pandaset_build.mllm.prompts import find_hint
from pandaset_build.pairsets import BenchSource, PairRecord, pair_from_bench_row
from pandaset_build.panda.graph import DistortionGraph
from pandaset_build.stages.bench import BENCH_SPLIT, IMAGE_CACHE, bench_row
from pandaset_build.store.build import Build
from pandaset_build.store.masks import Rle, decode_mask
from pandaset_build.store.scored import ScoredBuild

SAMPLE = "sample"
OUTLINE_TOLERANCE_PX = 1.0

# Super-categories of the 14 families (the gallery's grouping of figure 6).
SUPER_CATEGORIES: dict[str, tuple[str, ...]] = {
    "weather": ("rain", "snow", "haze"),
    "camera/equipment": ("blur", "noise"),
    "digital": ("compression", "pixelate", "oversharpen"),
    "light": (
        "brightness",
        "darken",
        "contrast_inc",
        "contrast_dec",
        "saturate_inc",
        "saturate_dec",
    ),
    "clean": ("clean",),
}


@dataclass(frozen=True)
class GalleryPair:
    """A pair shown in the gallery: where it comes from and its labels."""

    split: str
    source: str  # a bench difficulty, or "sample" for a pair drawn from the dataset
    pair: PairRecord


def bench_pairs(build: Build) -> Iterator[GalleryPair]:
    """Every pair of `bench/easy|medium|hard`, read with the bench reader."""
    for kind in DIFFICULTIES:
        folder = build.layout.bench_split(kind)
        if folder.is_dir():
            for pair in iter(BenchSource(folder)):
                yield GalleryPair(BENCH_SPLIT, kind, pair)


def sample_pairs(scored: ScoredBuild, per_split: int, seed: int) -> Iterator[GalleryPair]:
    """`per_split` ordered pairs of each split, drawn with a generator fixed by the seed."""
    versions = scored.versions
    load = lru_cache(maxsize=IMAGE_CACHE)(scored.image)
    for index, split in enumerate(scored.splits):
        tags = scored.tags(split)
        total = len(tags) * len(versions) * (len(versions) - 1)
        if not total:
            continue
        rng = np.random.default_rng([seed, index])
        picks = np.sort(rng.choice(total, size=min(per_split, total), replace=False))
        per_image = len(versions) * (len(versions) - 1)
        for pick in picks.tolist():
            tag = tags[pick // per_image]
            a, t = divmod(pick % per_image, len(versions) - 1)
            anchor, target = versions[a], [v for v in versions if v != versions[a]][t]
            row = bench_row(scored.build, load(tag), anchor, target, scored.predicate_id)
            yield GalleryPair(split, SAMPLE, pair_from_bench_row(row))


def outline_paths(mask: Rle | None) -> str:
    """An SVG path (even-odd fill) of a region's outer and hole contours, in pixel units."""
    if mask is None:
        return ""
    pixels = decode_mask(mask).astype(np.uint8)
    contours, _ = cv2.findContours(pixels, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    parts = []
    for contour in contours:
        points = cv2.approxPolyDP(contour, OUTLINE_TOLERANCE_PX, True).reshape(-1, 2)
        coords = " ".join(f"{x + 0.5:g} {y + 0.5:g}" for x, y in points.tolist())
        parts.append(f"M{coords}Z")
    return "".join(parts)


def region_labels(pair: PairRecord) -> list[list[float]]:
    """Per region: anchor distortion, severity, score, target distortion, severity, score,
    comparison (vocabulary ids; scores rounded to 4 decimals)."""
    return [
        [
            r.anchor.distortion,
            r.anchor.severity,
            round(r.anchor.score, 4),
            r.target.distortion,
            r.target.severity,
            round(r.target.score, 4),
            r.comparison,
        ]
        for r in pair.regions
    ]


def prediction_folders(build: Build) -> dict[str, list[Path]]:
    """Bench difficulty -> the `eval/<model>-<difficulty>/graphs` folders written by eval-panda."""
    found: dict[str, list[Path]] = {kind: [] for kind in DIFFICULTIES}
    for folder in sorted(build.layout.evaluations.glob("*/graphs")):
        kind = folder.parent.name.rpartition("-")[2]
        if kind in found:
            found[kind].append(folder)
    return found


def predictions(folders: list[Path], pair: PairRecord) -> list[JsonObject]:
    """The compact predicted graphs of a pair, one per model that has one."""
    out = []
    for folder in folders:
        path = find_hint(folder, pair)
        if path is not None:
            model = folder.parent.name.rpartition("-")[0]
            out.append({"model": model, **compact_graph(json.loads(path.read_text()))})
    return out


def compact_graph(graph: DistortionGraph) -> JsonObject:
    """Names and per-region labels of a published-schema graph (objects of image 1 then 2;
    each object's attributes are distortion, severity, score; ART links anchor to target)."""
    objects = graph["objects"]
    first = [o for o in objects if o["image"] == "1"]
    attributes: dict[str, list[str]] = {o["id"]: [] for o in objects}
    for a in graph["attributes"]:
        attributes[a["object"]].append(a["attribute"])
    comparison = {a["object"]: a["predicate"] for a in graph["art"]}
    regions = []
    for i, obj in enumerate(first):
        a_dist, a_sev, a_score = attributes[obj["id"]][:3]
        b_dist, b_sev, b_score = attributes[str(i + len(first))][:3]
        regions.append(
            [
                vocab.DISTORTION_ID[a_dist],
                vocab.SEVERITY_ID[a_sev],
                float(a_score),
                vocab.DISTORTION_ID[b_dist],
                vocab.SEVERITY_ID[b_sev],
                float(b_score),
                vocab.COMPARISON_ID[comparison[obj["id"]]],
            ]
        )
    return {"names": [o["name"] for o in first], "regions": regions}


def percentages(counts: dict[str, dict[str, int]]) -> dict[str, dict[str, float]]:
    """Per split, each count as a percentage of the split's total."""
    out = {}
    for split, per_name in counts.items():
        total = sum(per_name.values()) or 1
        out[split] = {name: 100.0 * n / total for name, n in per_name.items()}
    return out


def super_counts(per_distortion: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    return {
        split: {
            name: sum(counts[f] for f in families) for name, families in SUPER_CATEGORIES.items()
        }
        for split, counts in per_distortion.items()
    }


def statistics(stats: LabelStats, scored: ScoredBuild) -> JsonObject:
    """Figure 6 as percentages normalised per split, with the metric that made the scores."""
    summary = stats.to_json(scored.splits)
    identity = scored.score_identity()
    return {
        "metric": ", ".join(identity["metric"]),
        "pyiqa": ", ".join(identity["pyiqa_version"]),
        "images": summary["images"],
        "distortion": percentages(summary["regions_per_distortion"]),
        "severity": percentages(summary["regions_per_severity"]),
        "comparison": percentages(summary["region_comparisons"]),
        "super_category": percentages(super_counts(summary["regions_per_distortion"])),
        "super_categories": {k: list(v) for k, v in SUPER_CATEGORIES.items()},
    }


def write_script(path: Path, name: str, data: Any) -> None:
    """A JS file assigning `data` to `window.<name>` (file:// pages cannot fetch JSON)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"window.{name} = {json.dumps(data, separators=(',', ':'))};\n")
