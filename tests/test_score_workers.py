"""Resident score workers: one local worker per device, Ray actors that build the metric once
and are replaced when killed; the scores are the same bytes as one local worker's."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest
import torch
from conftest import make_folder_dataset, tree_bytes, write_recipe

from pandaset_build.engine.executors import LocalExecutor
from pandaset_build.engine.shards import Shard, ShardOutcome, make_shards
from pandaset_build.engine.stage import Stage
from pandaset_build.engine.worker import assigned_device
from pandaset_build.errors import MetricError
from pandaset_build.iqa.metric import worker_devices
from pandaset_build.stages.distort import distort
from pandaset_build.stages.ingest import ingest
from pandaset_build.stages.score import score
from pandaset_build.store.build import Build, open_build

os.environ.setdefault("HF_HUB_OFFLINE", "1")
TESTS = Path(__file__).resolve().parent


def distorted_build(root: Path, count: int) -> Path:
    dataset = make_folder_dataset(root / "data", count=count, size=40)
    build = open_build(root / "b", write_recipe(root / "r.yaml", shard_size=1))
    ingest(build, "folder", dataset, LocalExecutor(1))
    distort(build, LocalExecutor(1))
    return build.root


def note_device(build: Build, shard: Shard, options: None) -> ShardOutcome:
    outcome = ShardOutcome()
    outcome.add(f"on {assigned_device()}")
    return outcome


@pytest.mark.slow
def test_one_worker_per_device_scores_each_shard_once_and_equals_one_worker(
    tmp_path: Path,
) -> None:
    build = open_build(tmp_path / "probe", write_recipe(tmp_path / "r.yaml"))
    shards = make_shards("probe", [f"t{i}" for i in range(6)], list(range(6)), 1)
    stage = Stage("probe", note_device)
    report = stage.run(build, shards, None, LocalExecutor(devices=["fake:0", "fake:1"]))
    assert sorted(r.shard for r in report.records) == [s.name for s in shards]
    for record in report.records:
        assert sum(record.counts.values()) == 1
        assert set(record.counts) <= {"on fake:0", "on fake:1"}
    one = distorted_build(tmp_path / "one", count=4)
    two = tmp_path / "two"
    shutil.copytree(one.parent, two, symlinks=True)
    score(open_build(one), LocalExecutor(1), metric="ssim")
    report = score(open_build(two / "b"), LocalExecutor(devices=["cpu", "cpu"]), metric="ssim")
    assert sorted(r.shard for r in report.records) == [f"{i:05d}" for i in range(4)]
    assert tree_bytes(two / "b" / "scores") == tree_bytes(one / "scores")


@pytest.mark.slow
def test_ray_gpu_actors_build_the_metric_once_and_a_killed_one_is_replaced(
    tmp_path: Path,
) -> None:
    ray = pytest.importorskip("ray")
    from pandaset_build.engine.ray import RayExecutor

    local = distorted_build(tmp_path / "local", count=6)
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    shutil.copytree(local.parent, whole, symlinks=True)
    shutil.copytree(local.parent, killed, symlinks=True)
    score(open_build(local), LocalExecutor(1), metric="ssim")
    loads = tmp_path / "loads.txt"
    path = os.pathsep.join([str(TESTS), str(TESTS.parent), os.environ.get("PYTHONPATH", "")])
    ray.init(
        num_cpus=2,
        num_gpus=1,
        log_to_driver=False,
        runtime_env={
            "env_vars": {"PANDASET_TEST_LOADS": str(loads), "PYTHONPATH": path},
            "worker_process_setup_hook": "ray_hooks.count_metric_loads",
        },
    )
    try:
        score(open_build(whole / "b"), RayExecutor(num_gpus=1), metric="ssim")
        assert len(loads.read_text().split()) == 1  # six shards, one actor, one metric
        assert tree_bytes(whole / "b" / "scores") == tree_bytes(local / "scores")
        loads.unlink()
        run = threading.Thread(
            target=score, args=(open_build(killed / "b"), RayExecutor(num_gpus=1)),
            kwargs={"metric": "ssim"},
        )  # fmt: skip
        run.start()
        done = killed / "b" / "_done" / "score"
        deadline = time.monotonic() + 120
        while not (done.is_dir() and any(done.iterdir())) and time.monotonic() < deadline:
            time.sleep(0.05)
        victim = int(loads.read_text().split()[0])
        os.kill(victim, signal.SIGKILL)
        run.join(300)
        pids = loads.read_text().split()
        assert len(pids) == 2 and len(set(pids)) == 2 and pids[0] == str(victim)
        assert len(list(done.iterdir())) == 6
        assert tree_bytes(killed / "b" / "scores") == tree_bytes(local / "scores")
    finally:
        ray.shutdown()


def test_worker_devices_per_option() -> None:
    assert worker_devices("cpu") is None
    with pytest.raises(MetricError, match="--gpus 0: only with --device cuda"):
        worker_devices("cpu", "0")
    if not torch.cuda.is_available():
        with pytest.raises(MetricError, match="no CUDA GPU is visible"):
            worker_devices("cuda", "0,1")
    else:
        assert worker_devices("cuda", "0,0") == ["cuda:0"]
