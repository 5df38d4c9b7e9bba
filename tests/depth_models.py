"""Depth Anything models with random weights, built offline from their configuration."""

from __future__ import annotations

from functools import cache

import torch
from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, DPTImageProcessor

from pandaset_build.distortions.depth_model import (
    V2_SMALL_CONFIG,
    V2_SMALL_PROCESSOR,
    DepthEstimator,
)

TINY_SIDE = 98  # 7 patches of 14 px


@cache
def random_estimator(tiny: bool = True, seed: int = 0) -> DepthEstimator:
    """DepthAnythingForDepthEstimation with random weights: V2 Small, or 4 layers at 98 px."""
    config = dict(V2_SMALL_CONFIG)
    processor = dict(V2_SMALL_PROCESSOR)
    if tiny:
        config["backbone_config"] = {
            **config["backbone_config"],
            "num_hidden_layers": 4,
            "out_indices": [1, 2, 3, 4],
            "image_size": TINY_SIDE,
        }
        processor["size"] = {"height": TINY_SIDE, "width": TINY_SIDE}
    torch.manual_seed(seed)
    model = DepthAnythingForDepthEstimation(DepthAnythingConfig(**config))
    return DepthEstimator(model.eval(), DPTImageProcessor(**processor), "cpu")
