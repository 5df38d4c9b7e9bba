"""PandaDG shapes, one code path for both sides, probes, and the backbone loader."""

from __future__ import annotations

from pathlib import Path

import pytest
import timm
import torch
from panda_tiny import SIZE, tiny_config

from pandaset_build.config.panda import ModelConfig, PandaConfig
from pandaset_build.errors import WeightsError
from pandaset_build.panda.backbone import build_backbone
from pandaset_build.panda.factory import build_model

TINY_VIT = {"embed_dim": 32, "depth": 1, "num_heads": 2}


def inputs(b: int, r: int, size: int = SIZE) -> tuple[torch.Tensor, ...]:
    torch.manual_seed(0)
    masks = [(torch.rand(b, r, size, size) > 0.5).to(torch.uint8) for _ in range(2)]
    return torch.rand(b, 3, size, size), torch.rand(b, 3, size, size), *masks


@pytest.mark.parametrize("kind", ["panda", "linear_probe", "attentive_probe", "random"])
def test_forward_shapes(kind: str) -> None:
    cfg = tiny_config().model.model_copy(update={"kind": kind})
    model = build_model(cfg, random_init=True).eval()
    out = model(*inputs(2, 3))
    assert out.comparison.shape == (2, 3, 5)
    assert out.distortion.shape == (2, 3, 2, 15)
    assert out.severity.shape == (2, 3, 2, 4)
    assert out.score.shape == (2, 3, 2)


def test_anchor_and_target_share_the_code_path() -> None:
    torch.manual_seed(0)
    model = build_model(tiny_config().model, random_init=True).eval()
    state = model.state_dict()
    for key in list(state):
        if key.startswith(("t_", "target_decoder")):
            source = key.replace("target_decoder", "anchor_decoder", 1)
            state[key] = state["a_" + key[2:] if key.startswith("t_") else source]
    model.load_state_dict(state)
    a, t, ma, mt = inputs(1, 2)
    forward, swapped = model(a, t, ma, mt), model(t, a, mt, ma)
    torch.testing.assert_close(forward.distortion[:, :, 0], swapped.distortion[:, :, 1])
    torch.testing.assert_close(forward.score[..., 1], swapped.score[..., 0])


def test_eval_is_deterministic_and_training_samples_slots() -> None:
    model = build_model(tiny_config().model, random_init=True).eval()
    x = inputs(1, 3)
    torch.testing.assert_close(model(*x).score, model(*x).score)
    assert model._slots(1, 3, torch.device("cpu")).tolist() == [[0, 1, 2]]


def test_real_vit_small_dinov2_forward() -> None:
    cfg = ModelConfig()
    model = build_model(cfg, random_init=True).eval()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert 28.0e6 < trainable < 28.3e6  # published: about 28.1 M
    assert not any(p.requires_grad for p in model.backbone.parameters())
    with torch.no_grad():
        out = model(*inputs(1, 2, size=224))
    assert out.distortion.shape == (1, 2, 2, 15)


def test_missing_weights_error_names_both_ways(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # read at import
    with pytest.raises(WeightsError, match="--backbone-weights") as err:
        build_backbone(None, pretrained=True, timm_kwargs=TINY_VIT, image_size=SIZE)
    assert "download" in str(err.value)
    with pytest.raises(WeightsError, match="not found") as err:
        build_backbone(tmp_path / "nope.pth", pretrained=True)
    assert "download" in str(err.value) and "--backbone-weights" in str(err.value)


def test_local_weights_in_timm_and_hub_key_names(tmp_path: Path) -> None:
    vit = timm.create_model("vit_small_patch14_dinov2", img_size=70, num_classes=0, **TINY_VIT)
    state = vit.state_dict()
    torch.save(state, tmp_path / "timm.pth")
    torch.save({**state, "mask_token": torch.zeros(1, 32)}, tmp_path / "hub.pth")  # torch.hub
    for name in ("timm.pth", "hub.pth"):
        backbone = build_backbone(tmp_path / name, image_size=SIZE, timm_kwargs=TINY_VIT)
        torch.testing.assert_close(
            backbone.vit.blocks[0].attn.qkv.weight, vit.blocks[0].attn.qkv.weight
        )
        assert backbone.vit.pos_embed.shape[1] == 1 + (SIZE // 14) ** 2


def test_config_yaml_roundtrip(tmp_path: Path) -> None:
    cfg = tiny_config()
    (tmp_path / "panda.yaml").write_text(cfg.to_yaml())
    assert PandaConfig.from_yaml(tmp_path / "panda.yaml") == cfg
    (tmp_path / "bad.yaml").write_text("train: {lr: 1, nope: 2}\n")
    with pytest.raises(ValueError, match="nope"):
        PandaConfig.from_yaml(tmp_path / "bad.yaml")
