"""Helpers shared by the benchmarks: child-process runs with peak RSS, generated datasets."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

CHILD = """
import json, resource, sys, time
sys.path[:0] = {paths!r}
start = time.perf_counter()
{code}
seconds = time.perf_counter() - start
peak_mb = max(
    resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
) / 1024
print("RESULT" + json.dumps({{"seconds": seconds, "peak_mb": peak_mb}}))
"""


def measure(code: str) -> dict[str, float]:
    """Run `code` in a fresh Python process; its wall time (s) and peak RSS (MB)."""
    paths = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).resolve().parent)]
    script = CHILD.format(paths=paths, code=code)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT"))
    return json.loads(line.removeprefix("RESULT"))


def make_dataset(root: Path, count: int, size: int = 128, regions: int = 8, seed: int = 0) -> Path:
    """A folder dataset of smooth random photos with `regions` horizontal bands each."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    ys, xs = np.mgrid[0:size, 0:size]
    for i in range(count):
        base = rng.integers(0, 256, 3)
        image = base + 60 * np.sin(xs[..., None] / rng.uniform(5, 20) + rng.uniform(0, 6, 3))
        image = np.clip(image + rng.normal(0, 8, image.shape), 0, 255).astype(np.uint8)
        ids = (ys * regions // size + 1).astype(np.uint8)
        Image.fromarray(image).save(root / "images" / f"img{i:05d}.png")
        Image.fromarray(ids, mode="L").save(root / "masks" / f"img{i:05d}.png")
    return root


def timed(label: str, start: float) -> None:
    print(f"{label}: {time.perf_counter() - start:.1f} s", file=sys.stderr)
