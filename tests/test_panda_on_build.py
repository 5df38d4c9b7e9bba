"""PANDA on a build made by this tool: train briefly on CPU, beat the random baseline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import make_folder_dataset, write_recipe
from panda_tiny import tiny_config

from pandaset_build.engine.executors import LocalExecutor
from pandaset_build.pairsets import HFExportSource, SubsetSource
from pandaset_build.panda.baselines import RandomBaseline
from pandaset_build.panda.evaluate import evaluate
from pandaset_build.panda.heads import PandaOutput
from pandaset_build.panda.losses import panda_loss
from pandaset_build.panda.train import train
from pandaset_build.stages.distort import distort
from pandaset_build.stages.export import export
from pandaset_build.stages.ingest import ingest
from pandaset_build.stages.score import score
from pandaset_build.store.build import open_build


def scored_export(tmp_path: Path) -> Path:
    data = make_folder_dataset(tmp_path / "data", count=8, size=64)
    recipe = write_recipe(tmp_path / "r.yaml", shard_size=4, splits={"train": 0.7, "test": 0.3})
    build = open_build(tmp_path / "b", recipe)
    for stage in (
        lambda: ingest(build, "folder", data, LocalExecutor(1)),
        lambda: distort(build, LocalExecutor(1)),
        lambda: score(build, LocalExecutor(1), metric="ssim"),
    ):
        assert stage().ok
    export(build, "hf")
    return build.layout.export("hf")


@pytest.mark.slow
def test_training_on_a_generated_build_beats_the_random_baseline(tmp_path: Path) -> None:
    hf = scored_export(tmp_path)
    train_pairs = SubsetSource(HFExportSource(hf, "train"), 300, seed=0)
    test_pairs = SubsetSource(HFExportSource(hf, "test"), 80, seed=0)
    cfg = tiny_config(epochs=4, lr=1e-3, batch_size=6)
    log = tmp_path / "panda"
    checkpoint = train(
        cfg, None, log, "cpu", pretrained=False, random_init=True, train_source=train_pairs
    )
    records = [json.loads(line) for line in (log / "train_log.jsonl").read_text().splitlines()]
    losses = [r["train_loss"] for r in records if r["event"] == "epoch"]
    assert len(losses) == 4 and losses[-1] < losses[0]
    trained = evaluate(checkpoint, test_pairs, config=cfg)
    random = evaluate(RandomBaseline(0), test_pairs, config=cfg)
    assert trained["regions"] == random["regions"] > 50
    assert trained["distortion"]["avg"]["acc"] > random["distortion"]["avg"]["acc"]


def test_padding_never_enters_the_loss() -> None:
    cfg = tiny_config()
    b, r = 2, 5
    flags = torch.tensor([[True] * 5, [True, True, False, False, False]])

    def loss_with_padding(fill: float) -> torch.Tensor:
        generator = torch.Generator().manual_seed(0)
        out = PandaOutput(
            comparison=torch.randn(b, r, 5, generator=generator),
            distortion=torch.randn(b, r, 2, 15, generator=generator),
            severity=torch.randn(b, r, 2, 4, generator=generator),
            score=torch.rand(b, r, 2, generator=generator),
        )
        batch = {
            "region_mask_flags": flags.reshape(-1),
            "comparison": torch.randint(0, 5, (b, r + 1), generator=generator),
            "distortion": torch.randint(0, 15, (b, r, 2), generator=generator),
            "severity": torch.randint(0, 4, (b, r, 2), generator=generator),
            "scores": torch.rand(b, r, 2, generator=generator),
        }
        for tensor in (out.comparison, out.distortion, out.severity, out.score):
            tensor[~flags] = fill
        batch["comparison"][:, 1:][~flags] = -1
        for key in ("distortion", "severity"):
            batch[key][~flags] = int(fill)
        batch["scores"][~flags] = fill
        return panda_loss(out, batch, cfg.loss, torch.nn.Linear(1, 1))[0]

    assert torch.allclose(loss_with_padding(0.0), loss_with_padding(3.0))
