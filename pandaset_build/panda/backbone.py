"""Frozen DINOv2 ViT-S/14 backbone (timm) returning a grid of patch tokens.

Weights are loaded with the position embedding the published code's torch-hub DINOv2 uses at
224 px: resampled once, at load time, with the hub's own run-time formula (bicubic, no
antialiasing, the 0.1 offset), not with timm's antialiased resize.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

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


HUB_INTERPOLATE_OFFSET = 0.1  # torch hub DINOv2's `interpolate_offset` (default of its models)


def hub_resample_pos_embed(pos_embed: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """The position embedding torch-hub DINOv2 adds for a `grid` of patches.

    `DinoVisionTransformer.interpolate_pos_encoding` (facebookresearch/dinov2): the class
    token's entry is kept; the M x M patch entries are resized by `F.interpolate(mode="bicubic",
    antialias=False, scale_factor=((gh + 0.1) / M, (gw + 0.1) / M))` in float32, so the
    sampling positions follow the offset scale, not gh / M; the same M x M grid is returned
    unchanged for a square input of M x M patches."""
    dim = pos_embed.shape[-1]
    m = math.isqrt(pos_embed.shape[1] - 1)
    if m * m != pos_embed.shape[1] - 1:
        raise ValueError(f"position embedding of {pos_embed.shape[1]} tokens is not 1 + M x M")
    if tuple(grid) == (m, m):
        return pos_embed
    patches = pos_embed[:, 1:].float().reshape(1, m, m, dim).permute(0, 3, 1, 2)
    scale = (
        float(grid[0] + HUB_INTERPOLATE_OFFSET) / m,
        float(grid[1] + HUB_INTERPOLATE_OFFSET) / m,
    )
    resized = F.interpolate(patches, scale_factor=scale, mode="bicubic", antialias=False)
    if tuple(resized.shape[-2:]) != tuple(grid):
        raise ValueError(f"hub resize of a {m} x {m} grid gave {tuple(resized.shape[-2:])}")
    flat = resized.permute(0, 2, 3, 1).reshape(1, -1, dim)
    return torch.cat((pos_embed[:, :1].float(), flat), dim=1).to(pos_embed.dtype)


def with_hub_pos_embed(state: dict[str, torch.Tensor], vit: nn.Module) -> dict[str, torch.Tensor]:
    """A state dict whose `pos_embed` is resampled to `vit`'s patch grid as torch hub does."""
    if "pos_embed" not in state:
        return state
    grid = tuple(vit.patch_embed.grid_size)
    return {**state, "pos_embed": hub_resample_pos_embed(state["pos_embed"], grid)}


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Read a state dict from .safetensors or a torch pickle."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises pickle, zip and value errors alike for a bad file
        raise WeightsError(
            f"--backbone-weights {path}: not a PyTorch or safetensors checkpoint "
            f"({type(err).__name__}); "
            f"expected DINOv2 ViT-S/14 weights. {WEIGHTS_HELP}"
        ) from None
    if not isinstance(state, dict):
        raise WeightsError(
            f"--backbone-weights {path}: holds a {type(state).__name__}, not a state dict; "
            f"expected DINOv2 ViT-S/14 weights. {WEIGHTS_HELP}"
        )
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
    """Frozen ViT from a local file, a timm download, or (only if asked) random weights; loaded
    weights get the torch-hub position embedding for `image_size` (`hub_resample_pos_embed`)."""
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
        state = _read_state_dict(path)
        try:
            vit.load_state_dict(
                checkpoint_filter_fn(with_hub_pos_embed(state, vit), vit), strict=True
            )
        except (RuntimeError, KeyError, ValueError) as err:
            own = set(vit.state_dict())
            raise WeightsError(
                f"--backbone-weights {path}: the checkpoint of another model, not of {name} "
                f"({len(own - set(state))} of its parameters missing, "
                f"{len(set(state) - own)} unexpected). {WEIGHTS_HELP}"
            ) from err
        return PatchBackbone(vit)
    if not pretrained:
        raise WeightsError(f"No backbone weights requested for {name}. {WEIGHTS_HELP}")
    try:  # at the weights' own size (518 px), so that timm does not resample them
        native = timm.create_model(name, pretrained=True, num_classes=0, **(timm_kwargs or {}))
    except Exception as exc:
        offline = " (HF_HUB_OFFLINE is set)" if os.environ.get("HF_HUB_OFFLINE") else ""
        raise WeightsError(
            f"Could not download {name} weights{offline}: {exc}. {WEIGHTS_HELP}"
        ) from exc
    vit = timm.create_model(name, pretrained=False, **kwargs)
    vit.load_state_dict(with_hub_pos_embed(native.state_dict(), vit), strict=True)
    return PatchBackbone(vit)


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
