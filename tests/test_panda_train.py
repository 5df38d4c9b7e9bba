"""Trainer: overfits a tiny bench, resumes exactly, logs, validates, trains probes."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest
import torch
from conftest import patience, run_cli, start_cli
from panda_tiny import build_tiny_bench, tiny_config

from pandaset_build.config.panda import PandaConfig
from pandaset_build.pairsets import PandaBenchSource
from pandaset_build.panda.train import train

PAIRS = [
    ("snow", "haze", "a.png"),
    ("mixed", "blur", "a.png"),
    ("noise", "mixed2", "b.png"),
    ("haze", "snow", "b.png"),
    ("blur", "pixelate", "a.png"),
    ("snow", "haze", "empty.png"),
]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> PandaBenchSource:
    return PandaBenchSource(build_tiny_bench(tmp_path_factory.mktemp("bench")), "train", PAIRS)


def _log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]


def test_loss_decreases_when_overfitting(source: PandaBenchSource, tmp_path: Path) -> None:
    cfg = tiny_config(epochs=10, batch_size=8, lr=3e-3)
    cfg.train.augment.enabled = False
    train(cfg, None, tmp_path, random_init=True, train_source=source)
    losses = [r["train_loss"] for r in _log(tmp_path) if r["event"] == "epoch"]
    assert len(losses) == 10
    assert losses == sorted(losses, reverse=True)
    assert losses[-1] < 0.85 * losses[0]  # label smoothing 0.5 keeps the CE terms high
    steps = [r for r in _log(tmp_path) if r["event"] == "step"]
    assert {"comparison", "distortion_acc", "score_mae"} <= set(steps[0])


def test_kill_and_resume_gives_identical_weights(source: PandaBenchSource, tmp_path: Path) -> None:
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    train(tiny_config(epochs=2), None, straight, random_init=True, train_source=source)
    train(tiny_config(epochs=1), None, resumed, random_init=True, train_source=source)
    (resumed / "train_log.jsonl").open("a").write('{"event": "step", "epoch": 2}\n')  # killed
    last = train(tiny_config(epochs=2), None, resumed, random_init=True, train_source=source)
    a = torch.load(straight / "last.pth", weights_only=False)
    b = torch.load(last, weights_only=False)
    assert a["epoch"] == b["epoch"] == 2 and a["loss"] == b["loss"]
    for key, value in a["model_state_dict"].items():
        assert torch.equal(value, b["model_state_dict"][key]), key
    assert [r["epoch"] for r in _log(resumed) if r["event"] == "epoch"] == [1, 2]
    assert not list(resumed.glob(".*.tmp"))


def test_validation_and_periodic_checkpoints(source: PandaBenchSource, tmp_path: Path) -> None:
    cfg = tiny_config(epochs=2, val_every=1, checkpoint_every=2)
    train(cfg, None, tmp_path, random_init=True, train_source=source, val_source=source)
    epochs = [r for r in _log(tmp_path) if r["event"] == "epoch"]
    assert epochs[-1]["val"]["regions"] > 0 and "f1" in epochs[-1]["val"]["comparison"]
    assert (tmp_path / "ep_2.pth").exists() and not (tmp_path / "ep_1.pth").exists()


@pytest.mark.parametrize("kind", ["linear_probe", "attentive_probe"])
def test_probes_train(source: PandaBenchSource, tmp_path: Path, kind: str) -> None:
    cfg = tiny_config(epochs=1)
    cfg.model.kind = kind
    last = train(cfg, None, tmp_path, random_init=True, train_source=source)
    assert torch.load(last, weights_only=False)["config"]["model"]["kind"] == kind


@pytest.mark.slow
def test_sigkill_mid_training_then_rerun_gives_the_same_weights(tmp_path: Path) -> None:
    root = build_tiny_bench(tmp_path / "bench")
    tiny = tiny_config(epochs=3, batch_size=2).model_dump()
    cfg = PandaConfig.model_validate({**tiny, "data": {"max_pairs": 24}})
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(cfg.to_yaml())

    def args(out: Path) -> list[str]:
        return ["train-panda", "--recipe", str(recipe), "--data", str(root), "--out", str(out),
                "--random-backbone"]  # fmt: skip

    run_cli(*args(tmp_path / "whole"))
    killed = tmp_path / "killed"
    process = start_cli(*args(killed))
    deadline = time.monotonic() + patience(120)
    while not (killed / "last.pth").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert torch.load(killed / "last.pth", weights_only=False)["epoch"] < 3
    run_cli(*args(killed))
    a = torch.load(tmp_path / "whole" / "last.pth", weights_only=False)
    b = torch.load(killed / "last.pth", weights_only=False)
    assert a["epoch"] == b["epoch"] == 3
    for key, value in a["model_state_dict"].items():
        assert torch.equal(value, b["model_state_dict"][key]), key
