"""Score speed: the stage's scorer (buckets, batches, reuse) vs a naive loop of one metric call
per region crop, on the same distorted demo image, side by side. CPU unless --device says so.

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

from pandaset_build.builddir import open_build
from pandaset_build.distort import distort
from pandaset_build.executor import LocalExecutor
from pandaset_build.images import read_rgb
from pandaset_build.ingest import ingest
from pandaset_build.score import score_image
from pandaset_build.scoring import load_metric, region_crops
from pandaset_build.sources.record import decode_mask
from pandaset_build.tables import read_sources, source_index, version_path

REGIONS_AT_PAPER_SCALE = 630_000


def naive(build, source, metric) -> tuple[float, int]:
    """One metric call per (version, region) crop at its own size, nothing shared."""
    reference = read_rgb(source["image_path"])
    masks = [decode_mask(r["mask"]) for r in source["regions"]]
    start = time.perf_counter()
    count = 0
    for version in build.recipe.versions:
        image = read_rgb(version_path(build, version, source["split"], source["tag"]))
        for index, region in enumerate(source["regions"]):
            distorted, ref = region_crops(image, reference, masks[index], region["bbox"])
            if min(distorted.shape[:2]) < 32:
                pad = [(0, max(0, 32 - distorted.shape[0])), (0, max(0, 32 - distorted.shape[1]))]
                distorted = np.pad(distorted, [*pad, (0, 0)], mode="edge")
                ref = np.pad(ref, [*pad, (0, 0)], mode="edge")
            metric([distorted], [ref])
            count += 1
    return time.perf_counter() - start, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--metric", default="topiq_fr")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--tags", nargs="+", default=["coffee.png"])
    parser.add_argument("--batch-size", type=int, default=8)
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
            source = read_sources(((tag, index[tag]),))[0]
            start = time.perf_counter()
            rows = score_image(build, source, metric, args.batch_size)
            stage_s += time.perf_counter() - start
            seconds, count = naive(build, source, metric)
            naive_s += seconds
            regions += count
            assert count == sum(r["region_id"] is not None for r in rows)
    device = torch.cuda.get_device_name() if args.device.startswith("cuda") else "CPU (2 threads)"
    print(f"{args.metric} on {device}, {regions} region crops (+ {len(rows)} rows incl. images)")
    print(f"  naive loop   {naive_s:8.1f} s  {regions / naive_s:7.2f} regions/s (regions only)")
    print(f"  stage        {stage_s:8.1f} s  {regions / stage_s:7.2f} regions/s (regions + images)")
    print(f"  speed-up     {naive_s / stage_s:8.2f}x (target >= 5x)")
    hours = REGIONS_AT_PAPER_SCALE / (regions / stage_s) / 3600
    print(f"  projected for {REGIONS_AT_PAPER_SCALE:,} regions: {hours:.1f} h on this device")


if __name__ == "__main__":
    main()
