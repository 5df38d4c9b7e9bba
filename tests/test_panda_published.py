"""The `panda_published` recipe and the global batch: accumulated micro-batches step as DDP."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from panda_tiny import build_tiny_bench, tiny_config

from pandaset_build.config.loader import resolve_recipe_path
from pandaset_build.config.panda import PandaConfig
from pandaset_build.pairsets import PandaBenchSource
from pandaset_build.panda.factory import build_model, forward_batch
from pandaset_build.panda.losses import panda_loss
from pandaset_build.panda.train import Runtime, _dataset, _loader, train

PAIRS = [
    ("snow", "haze", "a.png"),
    ("mixed", "blur", "a.png"),
    ("noise", "mixed2", "b.png"),
    ("haze", "snow", "b.png"),
    ("blur", "pixelate", "a.png"),
    ("snow", "blur", "b.png"),
]


def test_published_recipe_switches_every_quirk_on() -> None:
    published = PandaConfig.from_yaml(resolve_recipe_path("panda_published"))
    ours = PandaConfig.from_yaml(resolve_recipe_path("panda"))
    assert published.model.published_pixel_range and published.model.published_random_eval_tokens
    assert published.train.batch_size == 6 and published.train.global_batch_size == 8 * 6
    assert published.train.accumulation_steps(1) == 8  # one GPU: 8 micro-batches of 6
    assert published.train.accumulation_steps(8) == 1  # the README's 8 processes
    assert published.train.amp == "fp16"
    with pytest.raises(ValueError, match=r"global_batch_size 48 is not a multiple of .* 6 x 5"):
        published.train.accumulation_steps(5)
    # everything else is the same as the project's recipe
    departures = {"published_pixel_range", "published_random_eval_tokens"}
    model = {k: v for k, v in published.model.model_dump().items() if k not in departures}
    assert model == {k: v for k, v in ours.model.model_dump().items() if k not in departures}
    assert published.loss == ours.loss and published.data == ours.data
    train_keys = {"global_batch_size", "amp"}
    assert {k: v for k, v in published.train.model_dump().items() if k not in train_keys} == {
        k: v for k, v in ours.train.model_dump().items() if k not in train_keys
    }


def test_accumulated_steps_average_micro_batch_gradients(tmp_path: Path) -> None:
    source = PandaBenchSource(build_tiny_bench(tmp_path / "bench"), "train", PAIRS)
    cfg = tiny_config(epochs=1, batch_size=2, global_batch_size=4)
    cfg.train.augment.enabled = False
    last = train(cfg, None, tmp_path / "run", random_init=True, train_source=source)

    # the same epoch written out: steps over micro-batches (0, 1) and (2), each step's gradient
    # the mean of its micro-batches' gradients, as DDP averages the ranks' gradients
    torch.manual_seed(cfg.train.seed)
    model = build_model(cfg.model, random_init=True, seed=cfg.train.seed)
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
    torch.manual_seed(cfg.train.seed + 1000)
    model.train()
    runtime = Runtime(0, 1, torch.device("cpu"))
    batches = list(_loader(_dataset(cfg, source, True), cfg, runtime, 1, True))
    assert len(batches) == 3 and all(b is not None for b in batches)
    for window in (batches[:2], batches[2:]):
        optimizer.zero_grad()
        for batch in window:
            loss, _ = panda_loss(forward_batch(model, batch), batch, cfg.loss, model)
            (loss / len(window)).backward()
        optimizer.step()
    trained = torch.load(last, weights_only=False)["model_state_dict"]
    for key, value in model.state_dict().items():
        assert torch.allclose(trained[key], value, atol=1e-6), key
    assert not torch.allclose(trained["a_token_pool"], initial["a_token_pool"])  # it trained
