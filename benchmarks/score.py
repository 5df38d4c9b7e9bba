"""Score speed: the stage's scorer (batches per bucket, identical pairs once, reference features
reused) vs a naive loop of one metric call per region crop, on the same crops of a distorted demo
image, side by side; both give the same scores. CPU unless --device says so.

Run: HF_HUB_OFFLINE=1 python benchmarks/score.py [--metric topiq_fr] [--tags coffee.png]
(topiq_fr runs with random weights here: the same compute as the real weights.)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from pandaset_build.engine.executors import LocalExecutor
from pandaset_build.iqa.batching import PairScorer
from pandaset_build.iqa.crops import bucket_shape, region_crops, resize_to
from pandaset_build.iqa.metric import load_metric
from pandaset_build.stages.distort import distort
from pandaset_build.stages.ingest import ingest
from pandaset_build.store.build import open_build
from pandaset_build.store.catalog import read_sources, source_index
from pandaset_build.store.images import read_rgb
from pandaset_build.store.masks import decode_mask

REGIONS_AT_PAPER_SCALE = 630_000


def region_crops_of(build, source) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every (version, region) crop pair exactly as the stage builds it: masked, bucketed."""
    scoring = build.recipe.scoring
    reference = read_rgb(source.image_path)
    masks = [decode_mask(r.mask) for r in source.regions]
    images = [
        read_rgb(build.layout.version_image(v, source.split, source.tag))
        for v in build.recipe.versions
    ]
    crops = []
    for index, region in enumerate(source.regions):
        for image in images:
            distorted, ref = region_crops(image, reference, masks[index], region.bbox)
            shape = bucket_shape(*ref.shape[:2], scoring.bucket_long_sides, scoring.min_short_side)
            crops.append((resize_to(distorted, shape), resize_to(ref, shape)))
    return crops


def naive(metric, crops) -> tuple[float, list[float]]:
    """One metric call per crop, nothing shared."""
    start = time.perf_counter()
    scores = [float(metric([d], [r])[0]) for d, r in crops]
    return time.perf_counter() - start, scores


def staged(metric, crops, batch_size: int) -> tuple[float, list[float]]:
    """The stage's scorer: per-shape batches, identical pairs once, reference features reused."""
    start = time.perf_counter()
    scorer = PairScorer(metric, batch_size)
    keys = [scorer.add(d, r) for d, r in crops]
    scores = scorer.run()
    return time.perf_counter() - start, [scores[k] for k in keys]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--metric", default="topiq_fr")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--tags", nargs="+", default=["coffee.png"])
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        build = open_build(Path(tmp) / "b", "quickstart")
        ingest(build, "demo", Path("."), LocalExecutor(1))
        distort(build, LocalExecutor(1))
        index = dict(source_index(build))
        metric = load_metric(args.metric, args.device, random_weights=args.metric == "topiq_fr")
        stage_s = naive_s = 0.0
        regions = 0
        for tag in args.tags:
            crops = region_crops_of(build, read_sources(((tag, index[tag]),))[0])
            seconds, stage_scores = staged(metric, crops, args.batch_size)
            stage_s += seconds
            seconds, naive_scores = naive(metric, crops)
            naive_s += seconds
            regions += len(crops)
            worst = max(abs(a - b) for a, b in zip(stage_scores, naive_scores, strict=True))
            assert worst < 1e-5, worst
    device = torch.cuda.get_device_name() if args.device.startswith("cuda") else "CPU (2 threads)"
    print(f"{args.metric} on {device}, {regions} region crops (16 versions), same scores (1e-5)")
    print(f"  naive loop   {naive_s:8.1f} s  {regions / naive_s:7.2f} regions/s")
    print(f"  stage scorer {stage_s:8.1f} s  {regions / stage_s:7.2f} regions/s")
    print(f"  speed-up     {naive_s / stage_s:8.2f}x (target >= 5x)")
    hours = REGIONS_AT_PAPER_SCALE / (regions / stage_s) / 3600
    print(f"  projected for {REGIONS_AT_PAPER_SCALE:,} regions: {hours:.1f} h on this device")


if __name__ == "__main__":
    main()
