"""Shared fixtures: small generated datasets and recipes, made on the fly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image


def patience(seconds: float) -> float:
    """A wait for an event, scaled by the machine's load (and `PANDASET_TEST_PATIENCE`), so a
    loaded machine gives a slower run, not a failure."""
    load = os.getloadavg()[0] / (os.cpu_count() or 1)
    return seconds * max(1.0, load) * float(os.environ.get("PANDASET_TEST_PATIENCE", "1"))


def make_folder_dataset(root: Path, count: int, size: int = 64, seed: int = 0) -> Path:
    """`root/images/*.png` photos of noise and `root/masks/*.png` with 2-5 block regions each."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    for i in range(count):
        image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        ids = np.zeros((size, size), dtype=np.uint8)
        cuts = np.sort(
            rng.choice(np.arange(4, size - 4), size=int(rng.integers(1, 5)), replace=False)
        )
        for region, (top, bottom) in enumerate(zip([0, *cuts], [*cuts, size], strict=True), 1):
            ids[top:bottom, : size - 3] = region
        Image.fromarray(image).save(root / "images" / f"img{i:04d}.png")
        Image.fromarray(ids, mode="L").save(root / "masks" / f"img{i:04d}.png")
    return root


def write_recipe(path: Path, **overrides: object) -> Path:
    """A recipe extending quickstart with top-level overrides."""
    path.write_text(yaml.safe_dump({"extends": "quickstart", "name": path.stem, **overrides}))
    return path


@pytest.fixture
def folder_dataset(tmp_path: Path) -> Path:
    return make_folder_dataset(tmp_path / "folder", count=12)


def run_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run `python -m pandaset_build ARGS` and return the finished process."""
    result = subprocess.run(
        [sys.executable, "-m", "pandaset_build", *args], capture_output=True, text=True
    )
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def start_cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pandaset_build", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def kill_after(process: subprocess.Popen[str], done_dir: Path, records: int) -> bool:
    """SIGKILL `process` once `done_dir` holds `records` completion records; False if it ended."""
    deadline = time.monotonic() + patience(120)
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        if done_dir.exists() and len(list(done_dir.glob("*.json"))) >= records:
            process.send_signal(signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.02)
    process.kill()
    raise AssertionError("the run made no progress in 120 s")


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Relative path -> bytes of every visible file under root."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


HOLD_LOCK = """
import sys
from pathlib import Path
from pandaset_build.store.build import build_lock
with build_lock(Path(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.read()
"""


@contextmanager
def lock_held_elsewhere(root: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holds the build's lock (as a running stage does) until the block ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdin is not None
    assert holder.stdout.readline().strip() == "held"
    try:
        yield holder
    finally:
        holder.stdin.close()
        holder.wait()
