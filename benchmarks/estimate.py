"""The dry-run estimate against the measured run: `run --dry-run`, then `run`, alternated.

Run: python benchmarks/estimate.py [--rounds 3] [--workers 2] [--recipe quickstart]

Each round estimates a fresh build (`run --dry-run --json`) and then runs it (`run`), on the
demo data, and prints the estimate, the measured wall time and CPU time of the run, the load
average, and the ratio measured / estimated (the target: between 0.5 and 2).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pandaset_build", *args]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    return result


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--recipe", default="quickstart")
    args = parser.parse_args()
    common = ["--recipe", args.recipe, "--workers", str(args.workers)]
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(args.rounds):
            build = str(Path(tmp) / f"b{n}")
            load = os.getloadavg()[0]
            start = time.perf_counter()
            found = json.loads(cli("run", "--dry-run", "--json", "--build", build, *common).stdout)
            dry = time.perf_counter() - start
            cpu, start = children_cpu(), time.perf_counter()
            cli("run", "--build", build, *common)
            wall, cpu = time.perf_counter() - start, children_cpu() - cpu
            ratio = wall / found["seconds"]
            ratios.append(ratio)
            stages = ", ".join(f"{s['stage']} {s['seconds']:.1f}" for s in found["stages"])
            print(
                f"round {n + 1}: load {load:.2f}; estimate {found['seconds']:.1f} s ({stages}; "
                f"dry run {dry:.1f} s); run {wall:.1f} s wall, {cpu:.1f} s CPU; "
                f"measured / estimated {ratio:.2f}"
            )
    print(f"ratio min {min(ratios):.2f} max {max(ratios):.2f} (target 0.5 to 2)")


if __name__ == "__main__":
    main()
