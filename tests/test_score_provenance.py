"""Every score row records how it was made; a resume at another precision is refused."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch
from conftest import make_folder_dataset, run_cli, write_recipe

from pandaset_build.engine.executors import LocalExecutor
from pandaset_build.errors import MetricError, ScoreSettingsChanged
from pandaset_build.iqa.metric import load_metric, state_sha256
from pandaset_build.iqa.precision import precision_mode
from pandaset_build.stages.distort import distort
from pandaset_build.stages.ingest import ingest
from pandaset_build.stages.score import score
from pandaset_build.store.build import open_build

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def distorted_build(tmp_path: Path) -> Path:
    dataset = make_folder_dataset(tmp_path / "data", count=2, size=48)
    build = open_build(tmp_path / "b", write_recipe(tmp_path / "r.yaml", shard_size=1))
    ingest(build, "folder", dataset, LocalExecutor(1))
    distort(build, LocalExecutor(1))
    return build.root


def score_rows(build: Path) -> list[dict]:
    return pq.read_table(build / "scores").to_pylist()


def test_rows_record_precision_device_versions_weights_and_batch(tmp_path: Path) -> None:
    build = distorted_build(tmp_path)
    report = score(open_build(build), LocalExecutor(1), metric="ssim", batch_size=5)
    rows = score_rows(build)
    digest = state_sha256(load_metric("ssim").model.net)
    assert {
        (r["precision"], r["torch_version"], r["cuda_version"], r["weights_sha256"]) for r in rows
    } == {("fp32", torch.__version__, "", digest)}
    assert {r["batch_size"] for r in rows} == {5}
    assert all(r["device"].startswith("cpu") for r in rows)
    assert len(digest) == 64
    assert any("ssim at fp32 on cpu" in note and "batch 5" in note for note in report.notes)


@pytest.mark.slow
def test_resume_at_another_precision_is_refused_naming_both_until_restart(
    tmp_path: Path,
) -> None:
    build = distorted_build(tmp_path)
    score(open_build(build), LocalExecutor(1), metric="ssim")
    first = {(r["tag"], r["version"], r["region_id"]): r["score"] for r in score_rows(build)}
    (build / "_done" / "score" / "00001.json").unlink()  # one shard left to do
    with pytest.raises(ScoreSettingsChanged, match="made at fp32 on cpu; this run is bf16 on cpu"):
        score(open_build(build), LocalExecutor(1), metric="ssim", precision="bf16")
    refused = run_cli("score", "--build", str(build), "--metric", "ssim", "--precision", "bf16",
                      check=False)  # fmt: skip
    assert refused.returncode == 2 and "--restart" in refused.stderr
    assert "fp32 on cpu" in refused.stderr and "bf16 on cpu" in refused.stderr
    run_cli("score", "--build", str(build), "--metric", "ssim", "--precision", "bf16", "--restart")
    rows = score_rows(build)
    assert {r["precision"] for r in rows} == {"bf16"}
    assert {(r["tag"], r["version"], r["region_id"]) for r in rows} == set(first)


def test_tf32_on_the_cpu_is_refused_and_fp32_turns_tf32_off() -> None:
    with pytest.raises(MetricError, match="TF32 is a CUDA GPU mode"):
        load_metric("ssim", precision="tf32")
    torch.backends.cudnn.allow_tf32 = True
    with precision_mode("fp32", "cpu"):
        assert not torch.backends.cudnn.allow_tf32
        assert not torch.backends.cuda.matmul.allow_tf32
    assert torch.backends.cudnn.allow_tf32
    with precision_mode("bf16", "cpu"):
        assert torch.is_autocast_enabled("cpu")
