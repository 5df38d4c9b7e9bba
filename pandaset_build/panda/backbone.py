"""Frozen DINOv2 ViT-S/14 backbone (timm) returning a grid of patch tokens."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from pandaset_build.errors import WeightsError

WEIGHTS_HELP = (
    "Either let timm download them (needs network access to the Hugging Face Hub, "
    "HF_HUB_OFFLINE unset) or pass a local file with --backbone-weights FILE "
    "(a timm or torch.hub dinov2_vits14 state dict, .pth/.pt/.safetensors)."
)


class PatchBackbone(nn.Module):
    """Wraps a timm ViT: image batch -> (B, D, H/p, W/p) normalised patch tokens, no CLS."""

    def __init__(self, vit: nn.Module) -> None:
        super().__init__()
        self.vit = vit
        self.requires_grad_(False)
        self.eval()

    @property
    def dim(self) -> int:
        """Token dimension."""
        return int(self.vit.embed_dim)

    def train(self, mode: bool = True) -> PatchBackbone:
        """Stay in eval mode: the backbone is frozen."""
        return super().train(False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Patch tokens of normalised images as a (B, D, h, w) map."""
        tokens = self.vit.forward_features(images)[:, self.vit.num_prefix_tokens :]
        b, n, d = tokens.shape
        side = round(n**0.5)
        return tokens.transpose(1, 2).reshape(b, d, side, side)


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Read a state dict from .safetensors or a torch pickle."""
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    state = torch.load(path, map_location="cpu", weights_only=True)
    return state.get("model", state.get("state_dict", state))


def build_backbone(
    weights: str | Path | None = None,
    pretrained: bool = True,
    random_init: bool = False,
    *,
    name: str = "vit_small_patch14_dinov2",
    image_size: int = 224,
    timm_kwargs: dict[str, Any] | None = None,
) -> PatchBackbone:
    """Frozen ViT from a local file, a timm download, or (only if asked) random weights."""
    import timm
    from timm.models.vision_transformer import checkpoint_filter_fn

    kwargs = {"img_size": image_size, "num_classes": 0, **(timm_kwargs or {})}
    if random_init:
        return PatchBackbone(timm.create_model(name, pretrained=False, **kwargs))
    if weights is not None:
        path = Path(weights)
        if not path.is_file():
            raise WeightsError(f"Backbone weights file not found: {path}. {WEIGHTS_HELP}")
        vit = timm.create_model(name, pretrained=False, **kwargs)
        vit.load_state_dict(checkpoint_filter_fn(_read_state_dict(path), vit), strict=True)
        return PatchBackbone(vit)
    if not pretrained:
        raise WeightsError(f"No backbone weights requested for {name}. {WEIGHTS_HELP}")
    try:
        return PatchBackbone(timm.create_model(name, pretrained=True, **kwargs))
    except Exception as exc:
        offline = " (HF_HUB_OFFLINE is set)" if os.environ.get("HF_HUB_OFFLINE") else ""
        raise WeightsError(
            f"Could not download {name} weights{offline}: {exc}. {WEIGHTS_HELP}"
        ) from exc


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def normalize(images: torch.Tensor, published_pixel_range: bool = False) -> torch.Tensor:
    """ImageNet-normalise [0, 1] images; with the published quirk, normalise 0..255 values."""
    mean = images.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = images.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
    scale = 255.0 if published_pixel_range else 1.0
    return (images * scale - mean) / std


def pair_features(
    backbone: nn.Module, anchor: torch.Tensor, target: torch.Tensor, published_pixel_range: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Frozen backbone features of both images, in one pass: (anchor, target)."""
    with torch.no_grad():
        images = normalize(torch.cat([anchor, target]), published_pixel_range)
        anchor_features, target_features = backbone(images).chunk(2)
    return anchor_features, target_features
