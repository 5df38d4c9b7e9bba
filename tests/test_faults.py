"""Fault tolerance: failed writes leave nothing partial, kills anywhere resume to the same bytes."""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import psutil
import pytest
from conftest import (
    lock_held_elsewhere,
    make_folder_dataset,
    run_cli,
    start_cli,
    tree_bytes,
    write_recipe,
)

from pandaset_build.engine.executors import LocalExecutor
from pandaset_build.errors import BuildError
from pandaset_build.stages import distort as distort_module
from pandaset_build.stages.distort import distort
from pandaset_build.store.atomic import atomic_path
from pandaset_build.store.build import build_lock, open_build

OUTPUTS = ("sources", "versions", "plans", "scores")


def test_a_write_failing_halfway_leaves_no_file(tmp_path: Path) -> None:
    final = tmp_path / "out" / "x.png"
    with pytest.raises(OSError), atomic_path(final) as tmp:
        tmp.write_bytes(b"half")
        raise OSError("disk full")
    assert not final.exists()
    assert list((tmp_path / "out").iterdir()) == []


def ingested(tmp_path: Path, name: str, count: int = 10, size: int = 40) -> Path:
    data = tmp_path / "data"
    if not data.exists():
        make_folder_dataset(data, count=count, size=size)
    recipe = tmp_path / "r.yaml"
    if not recipe.exists():
        write_recipe(recipe, shard_size=1)
    build = tmp_path / name
    run_cli("ingest", "--source", "folder", "--root", str(data), "--build", str(build),
            "--recipe", str(recipe))  # fmt: skip
    return build


@pytest.mark.slow
def test_disk_failure_mid_stage_then_rerun_gives_the_same_bytes(
    tmp_path: Path, monkeypatch
) -> None:
    reference = ingested(tmp_path, "reference")
    run_cli("distort", "--build", str(reference))
    broken = ingested(tmp_path, "broken")
    calls = {"n": 0}
    real_write = distort_module.write_png

    def failing_write(path: Path, image, *options) -> None:
        calls["n"] += 1
        if calls["n"] == 37:
            with atomic_path(path) as tmp:
                tmp.write_bytes(b"partial")
                raise OSError(f"{path}: no space left on device")
        real_write(path, image, *options)

    monkeypatch.setattr(distort_module, "write_png", failing_write)
    report = distort(open_build(broken), LocalExecutor(1))
    assert len(report.errors) == 1 and "no space left" in report.errors[0].error
    assert not any(p.name.startswith(".") for p in (broken / "versions").rglob("*"))
    monkeypatch.setattr(distort_module, "write_png", real_write)
    assert distort(open_build(broken), LocalExecutor(1)).ok
    for folder in ("versions", "plans"):
        assert tree_bytes(broken / folder) == tree_bytes(reference / folder)


@pytest.mark.slow
def test_a_second_run_on_the_same_build_is_refused(tmp_path: Path) -> None:
    build = ingested(tmp_path, "b", count=2)
    with lock_held_elsewhere(build):
        result = run_cli("distort", "--build", str(build), check=False)
        assert result.returncode == 2
        assert "in use by pid" in result.stderr
        with pytest.raises(BuildError, match="in use"), build_lock(build):
            pass
    assert not (build / "versions").exists()


def kill_at(process, delay: float, target: str) -> bool:
    """After `delay` s, SIGKILL the driver or one of its worker processes; False if it ended."""
    deadline = time.monotonic() + delay
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        time.sleep(0.01)
    victim = psutil.Process(process.pid)
    if target == "worker":
        workers = [
            c for c in victim.children(recursive=True) if "multiprocessing" in " ".join(c.cmdline())
        ]
        if not workers:
            process.wait()
            return False
        victim = workers[0]
    victim.send_signal(signal.SIGKILL)
    process.wait()
    return True


@pytest.mark.slow
def test_kills_of_driver_and_workers_at_random_points_resume_to_identical_bytes(
    tmp_path: Path,
) -> None:
    reference = ingested(tmp_path, "reference", count=16, size=64)
    run_cli("distort", "--build", str(reference), "--workers", "2")
    run_cli("score", "--build", str(reference), "--metric", "ssim")
    rng = random.Random(7)
    kills = 0
    for trial in range(4):
        build = ingested(tmp_path, f"trial{trial}")
        for stage in (
            ["distort", "--workers", "2"],
            ["score", "--metric", "ssim", "--workers", "2"],
        ):
            target = "worker" if trial % 2 else "driver"
            process = start_cli(stage[0], "--build", str(build), *stage[1:])
            kills += kill_at(process, rng.uniform(1.0, 4.0), target)
            result = run_cli(stage[0], "--build", str(build), *stage[1:], check=False)
            if result.returncode != 0:
                run_cli(stage[0], "--build", str(build), *stage[1:])
        for folder in OUTPUTS:
            assert tree_bytes(build / folder) == tree_bytes(reference / folder), (trial, folder)
    assert kills >= 4
