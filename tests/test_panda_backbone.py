"""The backbone's position embedding equals torch-hub DINOv2's run-time interpolation."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import timm
import torch
from timm.models.vision_transformer import checkpoint_filter_fn
from torch import nn
from torch.nn import functional as F

from pandaset_build.panda.backbone import build_backbone, hub_resample_pos_embed

NAME = "vit_small_patch14_dinov2"
SMALL = {"depth": 2}  # two blocks keep the test fast; the embedding path is the full model's


def hub_interpolate_pos_encoding(pos_embed: torch.Tensor, w: int, h: int) -> torch.Tensor:
    """torch hub DINOv2's `interpolate_pos_encoding` (patch 14, offset 0.1, no antialias), as
    documented: bicubic resize of the M x M patch grid with scale factor (w0 + 0.1) / M."""
    n, dim = pos_embed.shape[1] - 1, pos_embed.shape[-1]
    w0, h0 = w // 14, h // 14
    if w0 * h0 == n and w == h:
        return pos_embed
    m = int(math.sqrt(n))
    grid = pos_embed[:, 1:].float().reshape(1, m, m, dim).permute(0, 3, 1, 2)
    grid = F.interpolate(
        grid, scale_factor=((w0 + 0.1) / m, (h0 + 0.1) / m), mode="bicubic", antialias=False
    )
    assert (w0, h0) == grid.shape[-2:]
    return torch.cat((pos_embed[:, :1], grid.permute(0, 2, 3, 1).reshape(1, -1, dim)), dim=1)


def cubic_resize(grid: np.ndarray, size: int, scale: float) -> np.ndarray:
    """(C, M, M) -> (C, size, size) by cubic convolution (a = -0.75), source position
    (i + 0.5) / scale - 0.5, edge indices clamped: PyTorch's bicubic with a given scale factor."""

    def weights(t: float) -> list[float]:
        a = -0.75

        def near(x: float) -> float:
            return ((a + 2) * x - (a + 3)) * x * x + 1

        def far(x: float) -> float:
            return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

        return [far(t + 1), near(t), near(1 - t), far(2 - t)]

    m = grid.shape[-1]
    taps = []
    for i in range(size):
        real = (i + 0.5) / scale - 0.5
        base = math.floor(real)
        idx = [min(max(base - 1 + k, 0), m - 1) for k in range(4)]
        taps.append((idx, weights(real - base)))
    rows = np.stack([sum(w * grid[:, j, :] for j, w in zip(*tap, strict=True)) for tap in taps], 1)
    return np.stack([sum(w * rows[:, :, j] for j, w in zip(*tap, strict=True)) for tap in taps], 2)


def hub_tokens(vit: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """`forward_features(images)["x_norm_patchtokens"]` of the hub model, written out: patch
    embedding, class token, run-time position embedding, blocks, final norm."""
    b, _, w, h = images.shape
    x = vit.patch_embed.proj(images).flatten(2).transpose(1, 2)
    x = torch.cat((vit.cls_token.expand(b, -1, -1), x), dim=1)
    x = x + hub_interpolate_pos_encoding(vit.pos_embed, w, h)
    for block in vit.blocks:
        x = block(x)
    return vit.norm(x)[:, 1:]


def smooth_images(seed: int) -> torch.Tensor:
    """Two smooth 224 px images, ImageNet-normalised."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(2, 3, 7, 7, generator=g)
    images = F.interpolate(low, size=(224, 224), mode="bicubic", align_corners=False)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    return (images.clamp(0, 1) - mean) / std


@pytest.fixture(scope="module")
def hub_weights(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, nn.Module]:
    """Random weights in the hub layout (518 px, 37 x 37 grid, a `mask_token`) and that model."""
    torch.manual_seed(0)
    vit = timm.create_model(NAME, pretrained=False, num_classes=0, **SMALL).eval()
    with torch.no_grad():  # a position embedding with structure at every scale
        vit.pos_embed.normal_(0, 0.5)
    state = {**vit.state_dict(), "mask_token": torch.zeros(1, vit.embed_dim)}
    path = tmp_path_factory.mktemp("hub") / "dinov2_vits14_random.pth"
    torch.save(state, path)
    return path, vit


def test_resample_is_the_hub_formula() -> None:
    pos = torch.randn(1, 1 + 37 * 37, 8, generator=torch.Generator().manual_seed(1))
    ours = hub_resample_pos_embed(pos, (16, 16))
    assert torch.allclose(ours, hub_interpolate_pos_encoding(pos, 224, 224), atol=1e-6)
    grid = pos[0, 1:].reshape(37, 37, 8).permute(2, 0, 1).double().numpy()
    expected = cubic_resize(grid, 16, 16.1 / 37)  # the 0.1 offset moves every sample
    got = ours[0, 1:].reshape(16, 16, 8).permute(2, 0, 1).double().numpy()
    assert np.abs(got - expected).max() < 1e-5
    plain = cubic_resize(grid, 16, 16 / 37)
    assert np.abs(got - plain).max() > 1e-2  # without the offset the result is not the hub's
    assert torch.equal(hub_resample_pos_embed(pos, (37, 37)), pos)


def test_loaded_features_equal_the_hub_models(hub_weights: tuple[Path, nn.Module]) -> None:
    path, hub = hub_weights
    backbone = build_backbone(path, image_size=224, timm_kwargs=SMALL)
    for seed in (0, 1):
        images = smooth_images(seed)
        with torch.no_grad():
            ours = backbone(images).flatten(2).transpose(1, 2)
            expected = hub_tokens(hub, images)
        assert ours.shape == expected.shape == (2, 256, 384)
        assert (ours - expected).abs().max() < 1e-5

    # timm's own load (antialiased resize at load) is not the hub model
    timm_vit = timm.create_model(NAME, img_size=224, num_classes=0, **SMALL).eval()
    timm_vit.load_state_dict(checkpoint_filter_fn(torch.load(path), timm_vit))
    with torch.no_grad():
        images = smooth_images(0)
        timm_tokens = timm_vit.forward_features(images)[:, 1:]
        assert (timm_tokens - hub_tokens(hub, images)).abs().max() > 1e-3
