"""The Ray executor on a local cluster: the same bytes as the local executor, workers killed."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import psutil
import pytest
from conftest import kill_after, patience, run_cli, start_cli, tree_bytes

OUTPUTS = ("sources", "versions", "plans", "scores")


@pytest.fixture(scope="module")
def local_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    build = tmp_path_factory.mktemp("local") / "b"
    run_cli("run", "--recipe", "quickstart", "--build", str(build), "--workers", "2")
    return build


@pytest.mark.slow
def test_quickstart_through_ray_equals_the_local_build(local_build: Path, tmp_path: Path) -> None:
    build = tmp_path / "ray"
    run_cli("run", "--recipe", "quickstart", "--build", str(build), "--executor", "ray")
    for folder in OUTPUTS:
        assert tree_bytes(build / folder) == tree_bytes(local_build / folder), folder


def ray_task_processes() -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if cmdline.startswith("ray::run_shard_task"):
            found.append(process)
    return found


@pytest.mark.slow
def test_killed_ray_workers_and_driver_resume_to_the_local_bytes(
    local_build: Path, tmp_path: Path
) -> None:
    build = tmp_path / "ray"
    run_cli("ingest", "--source", "demo", "--recipe", "quickstart", "--build", str(build))
    process = start_cli("distort", "--build", str(build), "--executor", "ray")
    killed_workers = 0
    deadline = time.monotonic() + patience(90)
    while process.poll() is None and time.monotonic() < deadline and killed_workers < 2:
        for victim in ray_task_processes():
            victim.send_signal(signal.SIGKILL)
            killed_workers += 1
            time.sleep(0.5)
        time.sleep(0.05)
    assert process.wait(timeout=patience(180)) == 0
    assert killed_workers >= 1
    score = start_cli("score", "--build", str(build), "--executor", "ray")
    assert kill_after(score, build / "_done" / "score", records=1)
    run_cli("score", "--build", str(build), "--executor", "ray")
    for folder in OUTPUTS:
        assert tree_bytes(build / folder) == tree_bytes(local_build / folder), folder
