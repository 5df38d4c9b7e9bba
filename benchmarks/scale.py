"""Scale check: ingest + distort of generated datasets, local 1 / 2 workers and Ray, side by side.

Prints images/s and peak RSS (largest single process of the run's process tree, sampled) for
each image count, so RSS flat in the count is visible, and per-shard seconds (median / max) so
stragglers are visible.

Run: python benchmarks/scale.py [--counts 500 2000] [--size 64]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from common import make_dataset

RUN = """
import json, sys
from pathlib import Path
from pandaset_build.store.build import open_build
from pandaset_build.engine.executors import LocalExecutor
from pandaset_build.stages.ingest import ingest
from pandaset_build.stages.distort import distort
build = open_build(Path(sys.argv[1]), "default")
if sys.argv[3] == "ray":
    from pandaset_build.engine.ray import RayExecutor
    executor = RayExecutor(num_cpus=2)
else:
    executor = LocalExecutor(int(sys.argv[3]))
ingest(build, "folder", Path(sys.argv[2]), executor)
report = distort(build, executor)
assert report.ok, report.failures[:3]
shard_seconds = sorted(r.seconds for r in report.records)
print("RESULT" + json.dumps(shard_seconds))
"""


def peak_rss_of_tree(process: subprocess.Popen, peaks: dict[str, float]) -> None:
    """Sample the RSS of every process in the tree until it ends; keep the largest (MB)."""
    root = psutil.Process(process.pid)
    while process.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peaks["max"] = max([peaks["max"]] + [p.memory_info().rss / 2**20 for p in tree])
        except psutil.Error:
            pass
        time.sleep(0.05)


def run(build: Path, data: Path, executor: str) -> tuple[float, float, list[float]]:
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", RUN, str(build), str(data), executor],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peaks = {"max": 0.0}
    sampler = threading.Thread(target=peak_rss_of_tree, args=(process, peaks))
    sampler.start()
    stdout, stderr = process.communicate()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(stderr[-3000:])
    line = next(x for x in stdout.splitlines() if x.startswith("RESULT"))
    return time.perf_counter() - start, peaks["max"], json.loads(line.removeprefix("RESULT"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--counts", type=int, nargs="+", default=[500, 2000])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--executors", nargs="+", default=["1", "2", "ray"])
    args = parser.parse_args()
    print(f"{'images':>7} {'executor':>9} {'images/s':>9} {'peak MB':>8} "
          f"{'shard s median':>15} {'shard s max':>12}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for count in args.counts:
            data = make_dataset(Path(tmp) / f"data{count}", count, size=args.size, regions=8)
            for executor in args.executors:
                build = Path(tmp) / f"build{count}-{executor}"
                seconds, peak, shards = run(build, data, executor)
                label = "ray" if executor == "ray" else f"local {executor}"
                print(f"{count:>7} {label:>9} {count / seconds:>9.1f} {peak:>8.0f} "
                      f"{shards[len(shards) // 2]:>15.2f} {shards[-1]:>12.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
