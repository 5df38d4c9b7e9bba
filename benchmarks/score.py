"""Score speed and score agreement on the crops and frames the stage scores.

Speed (default): for each region of the chosen demo images, A (one metric call per crop pair,
nothing shared) and B (the stage's scorer: one batch per bucket, identical pairs once, each
reference through the backbone once) are run alternately on the same crops, and then the same
for the image's 16 frames; CPU time on the CPU (one torch thread, as the recipe's
`scoring.cpu_threads`), wall time with CUDA synchronisation on a GPU. It prints both rates,
B's backbone passes against the limit (distinct crops + 1 reference per region, distinct frames
+ 1 per image), and the projection for the paper's 630K region scores; on a GPU also the GPU's
busy share (forward time measured with CUDA events over the wall time).

Compare (`--compare A B`, each `precision@device`, e.g. `fp32@cpu bf16@cpu` or
`fp32@cuda tf32@cuda`): the same crops scored under both settings; prints the largest score
difference and the share of region comparison labels (every ordered pair of versions, the
recipe's thresholds) that differ. With random weights (no weights file here) the spread of
scores within a region is small, so few labels are near a threshold: the share of flips is only
meaningful with the real weights.

Run: HF_HUB_OFFLINE=1 python benchmarks/score.py [--tags coffee.png] [--regions N]
     HF_HUB_OFFLINE=1 python benchmarks/score.py --compare fp32@cpu bf16@cpu
(topiq_fr runs with random weights here: the same compute as the real weights.)
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from pandaset_build.config.recipe import Comparison
from pandaset_build.engine.executors import LocalExecutor
from pandaset_build.iqa.batching import PairScorer, image_key
from pandaset_build.iqa.metric import Metric, load_metric
from pandaset_build.labels.pairs import compare
from pandaset_build.stages.distort import distort
from pandaset_build.stages.ingest import ingest
from pandaset_build.stages.score import PreparedImage, prepare_image
from pandaset_build.store.build import open_build
from pandaset_build.store.catalog import read_sources, source_index

REGIONS_AT_PAPER_SCALE = 630_000
Pairs = list[tuple[np.ndarray, np.ndarray]]


def prepared_images(tags: list[str], tmp: Path) -> tuple[list[PreparedImage], Comparison]:
    """The demo images ingested and distorted with the quickstart recipe, prepared as the stage
    prepares them (masked, bucketed crops; whole frames)."""
    build = open_build(tmp / "b", "quickstart")
    ingest(build, "demo", Path("."), LocalExecutor(1))
    distort(build, LocalExecutor(1))
    index = dict(source_index(build))
    sources = read_sources(tuple((tag, index[tag]) for tag in tags))
    return [prepare_image(build, source) for source in sources], build.recipe.comparison


def groups(image: PreparedImage, regions: int | None) -> list[tuple[Pairs, bool]]:
    """Per region its 16 crop pairs (the first `regions` regions), then the 16 frames (True)."""
    by_region: dict[int, Pairs] = {}
    for _, region_id, distorted, ref in image.crops:
        by_region.setdefault(region_id, []).append((distorted, ref))
    chosen = [(pairs, False) for pairs in list(by_region.values())[:regions]]
    return [*chosen, ([(frame, image.reference) for frame in image.frames.values()], True)]


class Clock:
    """CPU time on the CPU; on a GPU wall time after synchronising, plus GPU busy time."""

    def __init__(self, device: str) -> None:
        self.cuda = device.startswith("cuda")
        self.busy_s = 0.0

    def run(self, work: Callable[[], list[float]]) -> tuple[float, list[float]]:
        if not self.cuda:
            start = time.process_time()
            result = work()
            return time.process_time() - start, result
        torch.cuda.synchronize()
        begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start = time.perf_counter()
        begin.record()
        result = work()
        end.record()
        torch.cuda.synchronize()
        self.busy_s += begin.elapsed_time(end) / 1000
        return time.perf_counter() - start, result


def naive(metric: Metric, pairs: Pairs) -> list[float]:
    """One metric call per pair, nothing shared (every image through the backbone)."""
    return [float(metric([d], [r])[0]) for d, r in pairs]


def staged(metric: Metric, pairs: Pairs, batch_size: int) -> list[float]:
    """The stage's scorer on one group."""
    scorer = PairScorer(metric, batch_size)
    keys = [scorer.add(d, r) for d, r in pairs]
    scores = scorer.run()
    return [scores[k] for k in keys]


def limit_of(pairs: Pairs) -> int:
    """Distinct distorted images other than the reference, plus one reference."""
    reference = image_key(pairs[0][1])
    return len({image_key(d) for d, _ in pairs} - {reference}) + 1


def speed(args: argparse.Namespace, images: list[PreparedImage]) -> None:
    metric = load_metric(args.metric, args.device, random_weights=args.metric == "topiq_fr")
    clock = Clock(args.device)
    seconds = {"A": 0.0, "B": 0.0, "B frames": 0.0}
    regions = passes = limit = 0
    wall = time.perf_counter()
    turn = 0
    for image in images:
        for group, frames in groups(image, args.regions):
            size = args.frame_batch_size if frames else args.batch_size
            turn += 1
            if turn % 2:  # A and B alternate which goes first
                a_s, a = clock.run(lambda g=group: naive(metric, g))
            before = metric.passes
            b_s, b = clock.run(lambda g=group, n=size: staged(metric, g, n))
            passes += metric.passes - before
            if not turn % 2:
                a_s, a = clock.run(lambda g=group: naive(metric, g))
            limit += limit_of(group)
            worst = max(abs(x - y) for x, y in zip(a, b, strict=True))
            assert worst < 1e-4, worst
            seconds["A"] += a_s
            seconds["B"] += b_s
            if frames:
                seconds["B frames"] += b_s
            else:
                regions += len(group)
    wall = time.perf_counter() - wall
    where = torch.cuda.get_device_name() if clock.cuda else "CPU (1 thread, CPU time)"
    print(f"{args.metric} on {where}: {regions} region crops and {len(images) * 16} frames")
    print(f"  A one call per pair  {seconds['A']:8.1f} s")
    print(f"  B stage scorer       {seconds['B']:8.1f} s (frames {seconds['B frames']:.1f} s)")
    print(f"  speed-up A/B         {seconds['A'] / seconds['B']:8.2f}x (scores equal to 1e-4)")
    print(f"  backbone passes (B)  {passes} (limit {limit}: distinct crops + 1 per region, "
          f"distinct frames + 1 per image)")  # fmt: skip
    rate = regions / seconds["B"]
    print(f"  regions/s (B, frames included) {rate:.2f}")
    if clock.cuda:
        print(f"  GPU busy share       {clock.busy_s / wall:.0%} of the wall time")
    hours = REGIONS_AT_PAPER_SCALE / rate / 3600
    print(f"  projected for {REGIONS_AT_PAPER_SCALE:,} regions: {hours:.2f} h on this device")


def setting(text: str) -> tuple[str, str]:
    precision, _, device = text.partition("@")
    return precision, device or "cpu"


def agreement(args: argparse.Namespace, images: list[PreparedImage], rule: Comparison) -> None:
    scores = []
    for text in args.compare:
        precision, device = setting(text)
        metric = load_metric(
            args.metric, device, random_weights=args.metric == "topiq_fr", precision=precision
        )
        scores.append(
            [
                staged(metric, g, args.frame_batch_size if frames else args.batch_size)
                for image in images
                for g, frames in groups(image, args.regions)
            ]
        )
    worst = flips = labels = 0
    for a, b in zip(*scores, strict=True):
        worst = max(worst, max(abs(x - y) for x, y in zip(a, b, strict=True)))
        for i, j in itertools.permutations(range(len(a)), 2):
            labels += 1
            flips += compare(a[i] - a[j], rule) != compare(b[i] - b[j], rule)
    print(f"{args.metric}: {args.compare[0]} vs {args.compare[1]} on the same crops and frames")
    spread = max(max(a) - min(a) for a in scores[0])
    print(f"  largest score difference {worst:.3g} (largest spread within a group: {spread:.3g})")
    print(f"  comparison labels that differ: {flips} of {labels} ({flips / labels:.2%})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--metric", default="topiq_fr")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--tags", nargs="+", default=["coffee.png"])
    parser.add_argument("--regions", type=int, default=None, help="first N regions per image")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--frame-batch-size", type=int, default=4)
    parser.add_argument("--compare", nargs=2, metavar="PRECISION@DEVICE")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        images, rule = prepared_images(args.tags, Path(tmp))
    if args.compare:
        agreement(args, images, rule)
    else:
        speed(args, images)


if __name__ == "__main__":
    main()
