"""Build the configured model (PANDA or a baseline) and run it on a collated batch."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from pandaset_build.config.panda import ModelConfig
from pandaset_build.panda.backbone import build_backbone
from pandaset_build.panda.baselines import AttentiveProbe, LinearProbe, RandomBaseline
from pandaset_build.panda.data import Batch
from pandaset_build.panda.heads import PandaOutput
from pandaset_build.panda.model import PandaDG

MODELS = {"panda": PandaDG, "linear_probe": LinearProbe, "attentive_probe": AttentiveProbe}


def build_model(
    cfg: ModelConfig,
    *,
    backbone_weights: str | Path | None = None,
    pretrained: bool = True,
    random_init: bool = False,
    seed: int = 42,
) -> nn.Module:
    """The model named by `cfg.kind`, with its frozen backbone loaded as asked."""
    if cfg.kind == "random":
        return RandomBaseline(seed)
    backbone = build_backbone(
        backbone_weights,
        pretrained,
        random_init,
        name=cfg.backbone,
        image_size=cfg.image_size,
        timm_kwargs=cfg.backbone_kwargs,
    )
    return MODELS[cfg.kind](cfg, backbone)


def forward_batch(model: nn.Module, batch: Batch) -> PandaOutput:
    """Run a model on a collated batch."""
    return model(
        batch["anchor"], batch["target"], batch["anchor_seg_masks"], batch["target_seg_masks"]
    )
