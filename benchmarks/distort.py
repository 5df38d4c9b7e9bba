"""Distort speed: fast region-wise path vs the full-frame reference path, render vs PNG encode,
and peak RSS of the stage for two image counts.

Run: python benchmarks/distort.py [--images 6] [--size 512 384] [--regions 20]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from common import make_dataset, measure

from pandaset_build.config.recipe import default_recipe
from pandaset_build.render.frame import Frame
from pandaset_build.render.plan import plan_image
from pandaset_build.render.renderer import render_fast, render_reference
from pandaset_build.store.images import encode_png
from pandaset_build.store.masks import encode_mask
from pandaset_build.store.records import Region, SourceRecord

STAGE = """
from pathlib import Path
from pandaset_build.store.build import open_build
from pandaset_build.engine.executors import LocalExecutor
from pandaset_build.stages.ingest import ingest
from pandaset_build.stages.distort import distort
build = open_build(Path({build!r}), "default")
ingest(build, "folder", Path({data!r}), LocalExecutor(1))
assert distort(build, LocalExecutor(1)).ok
"""


def photo(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A smooth synthetic photo: low-frequency colour fields plus mild texture."""
    ys, xs = np.mgrid[0:height, 0:width] / max(height, width)
    channels = [
        128 + 80 * np.sin(2 * np.pi * (rng.uniform(0.5, 3) * xs + rng.uniform(0.5, 3) * ys))
        for _ in range(3)
    ]
    image = np.stack(channels, axis=-1) + rng.normal(0, 6, (height, width, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


def regions(rng: np.random.Generator, height: int, width: int, count: int) -> np.ndarray:
    """Voronoi cells of `count` random seeds: irregular regions that tile the frame."""
    seeds = rng.uniform((0, 0), (height, width), (count, 2))
    ys, xs = np.mgrid[0:height, 0:width]
    distance = (ys[..., None] - seeds[:, 0]) ** 2 + (xs[..., None] - seeds[:, 1]) ** 2
    return np.argmin(distance, axis=-1)


def source_record(tag: str, labels: np.ndarray, count: int) -> SourceRecord:
    height, width = labels.shape
    rows = []
    for i in range(count):
        mask = labels == i
        ys, xs = np.nonzero(mask)
        bbox = [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
        rows.append(
            Region(i, "", 0, True, [float(v) for v in bbox], encode_mask(mask), int(mask.sum()))
        )
    return SourceRecord(tag, "bench", width, height, "", rows)


def compare_paths(images: int, height: int, width: int, count: int) -> None:
    recipe = default_recipe()
    rng = np.random.default_rng(0)
    fast_s = reference_s = encode_s = 0.0
    versions = 0
    for n in range(images):
        image = photo(rng, height, width)
        labels = regions(rng, height, width, count)
        source = source_record(f"bench{n}.png", labels, count)
        plans = plan_image(recipe, source)
        frame = Frame(
            image=image,
            masks=[labels == i for i in range(count)],
            boxes=[r.bbox for r in source.regions],
            distance=np.linspace(1, 0, height)[:, None].repeat(width, 1),
        )
        for version in recipe.versions:
            version_plans = [p for p in plans if p.version == version]
            start = time.perf_counter()
            fast = render_fast(frame, version_plans)
            fast_s += time.perf_counter() - start
            start = time.perf_counter()
            render_reference(frame, version_plans)
            reference_s += time.perf_counter() - start
            start = time.perf_counter()
            encode_png(fast)
            encode_s += time.perf_counter() - start
            versions += 1
    print(f"{images} images {width}x{height}, {count} regions, {versions} versions, 1 core")
    print(f"  reference path  {reference_s:8.2f} s  {versions / reference_s:7.2f} versions/s")
    print(f"  fast path       {fast_s:8.2f} s  {versions / fast_s:7.2f} versions/s")
    print(f"  speed-up        {reference_s / fast_s:8.1f}x (target >= 5x)")
    print(f"  PNG encode      {encode_s:8.2f} s  render/encode = {fast_s / encode_s:.2f} "
          "(target <= 1)")  # fmt: skip


def stage_rss(counts: list[int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for count in counts:
            data = make_dataset(Path(tmp) / f"d{count}", count, size=128, regions=16)
            result = measure(STAGE.format(build=str(Path(tmp) / f"b{count}"), data=str(data)))
            print(f"  distort stage, {count:4d} images of 128 px: {result['seconds']:6.1f} s, "
                  f"peak RSS {result['peak_mb']:.0f} MB")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=6)
    parser.add_argument("--size", type=int, nargs=2, default=[512, 384], metavar=("W", "H"))
    parser.add_argument("--regions", type=int, default=20)
    parser.add_argument("--rss-counts", type=int, nargs="+", default=[50, 200])
    args = parser.parse_args()
    compare_paths(args.images, args.size[1], args.size[0], args.regions)
    stage_rss(args.rss_counts)


if __name__ == "__main__":
    main()
