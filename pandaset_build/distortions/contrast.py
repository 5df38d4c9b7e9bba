"""contrast_inc/* and contrast_dec/*: Pillow contrast about one integer grey; stretch."""

from __future__ import annotations

import numpy as np
from PIL import Image

from .params import POSITIVE_RISING, Number
from .registry import Params, register
from .window import Context, to_u8, unit


def luma_mean(image: np.ndarray, stat_mask: np.ndarray | None) -> int:
    """m = int(mean(L) + 0.5) over the mask, L = Pillow's rounded ITU-R 601 luma."""
    luma = np.asarray(Image.fromarray(image).convert("L"))
    values = luma if stat_mask is None else luma[stat_mask]
    return int(np.mean(values, dtype=np.float64) + 0.5)


def _scale(image: np.ndarray, alpha: float, ctx: Context) -> np.ndarray:
    """Pillow `Image.blend(grey m, img, a)`: ImageEnhance.Contrast with the mask's grey."""
    grey = luma_mean(image, ctx.stat_mask)
    degenerate = Image.new("RGB", (image.shape[1], image.shape[0]), (grey, grey, grey))
    return np.array(Image.blend(degenerate, Image.fromarray(image), alpha))


def _stretch(image: np.ndarray, alpha: float, ctx: Context) -> np.ndarray:
    """1 / (1 + (m_c / (x + 1e-12))^a) with per-channel means m_c over the mask."""
    x = unit(image)
    if ctx.stat_mask is None:
        mean = np.mean(x, axis=(0, 1), keepdims=True)
    else:
        mean = np.mean(x[ctx.stat_mask], axis=0)
    return to_u8(1.0 / (1 + (mean / (x + 1e-12)) ** alpha))


@register("contrast_inc/scale", statistic=True, params={"alpha": Number(above=1, order="rising")})
def contrast_inc_scale(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """Contrast about the integer luma mean, a > 1."""
    return _scale(image, params["alpha"], ctx)


@register("contrast_inc/stretch", statistic=True, params={"alpha": POSITIVE_RISING})
def contrast_inc_stretch(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """Sigmoid stretch about the per-channel means, a > 1."""
    return _stretch(image, params["alpha"], ctx)


@register(
    "contrast_dec/scale",
    statistic=True,
    params={"alpha": Number(at_least=0, below=1, order="falling")},
)
def contrast_dec_scale(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """Contrast about the integer luma mean, a < 1."""
    return _scale(image, params["alpha"], ctx)


@register(
    "contrast_dec/stretch", statistic=True, params={"alpha": Number(above=0, order="falling")}
)
def contrast_dec_stretch(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """Sigmoid stretch about the per-channel means, a <= 1."""
    return _stretch(image, params["alpha"], ctx)
