"""The distortion library: one pure function per `family/subtype`, registered with its metadata.

Each sub-type is `fn(image, params, rng, *, stat_mask=None, depth=None, frame_shape=None,
offset=(0, 0), frame=None, shared=None) -> image`; see `registry.Distortion` for what a crop of a
frame needs.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..config import vocab
from ..config.recipe import Recipe, default_recipe
from . import (  # noqa: F401  (importing a module registers its sub-types)
    blur,
    brightness,
    compression,
    contrast,
    haze,
    noise,
    oversharpen,
    pixelate,
    rain,
    saturate,
    snow,
)
from .depth import depth_tier, haze_distance
from .depth_model import DepthModelError, estimate_depth, load_depth_model
from .depth_prior import LayoutRegion, layout_distance, layout_regions
from .registry import Distortion, UnknownDistortionError, get, registered
from .scaling import scale_params
from .visibility import changed_share, mean_abs_change

__all__ = [
    "DepthModelError",
    "Distortion",
    "LayoutRegion",
    "UnknownDistortionError",
    "apply",
    "changed_share",
    "depth_tier",
    "estimate_depth",
    "get",
    "haze_distance",
    "layout_distance",
    "layout_regions",
    "load_depth_model",
    "mean_abs_change",
    "names",
    "scale_params",
]

MIN_SIDE = 32  # DepictQA's input rule: H and W >= 32


def names() -> list[str]:
    """The 35 keys in vocabulary order."""
    return [key for key in vocab.subtype_keys() if key in registered()]


@lru_cache(maxsize=1)
def _default() -> Recipe:
    return default_recipe()


def _as_rgb(image: np.ndarray) -> np.ndarray:
    """DepictQA's input rules: uint8, grey (HxW or HxWx1) stacked to 3 channels, sides >= 32."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise ValueError(f"expects a uint8 numpy array, got {getattr(image, 'dtype', type(image))}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        image = np.stack((image,) * 3, axis=-1)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expects HxW, HxWx1 or HxWx3, got shape {image.shape}")
    if min(image.shape[:2]) < MIN_SIDE:
        raise ValueError(f"H and W must be at least {MIN_SIDE} pixels, got {image.shape[:2]}")
    return image


def apply(
    image: np.ndarray,
    key: str,
    level: int,
    rng: np.random.Generator,
    *,
    recipe: Recipe | None = None,
    stat_mask: np.ndarray | None = None,
    depth: np.ndarray | None = None,
) -> np.ndarray:
    """One sub-type on a whole image at DepictQA level 1..5 (weather: severity 1..3)."""
    spec = get(key)
    recipe = recipe or _default()
    family = key.split("/")[0]
    top = len(vocab.SEVERITIES) - 1 if family in vocab.WEATHER_FAMILIES else vocab.DEPICTQA_LEVELS
    if isinstance(level, bool) or not isinstance(level, (int, np.integer)) or not 1 <= level <= top:
        raise ValueError(f"{key}: level must be an integer in 1..{top}, got {level!r}")
    image = _as_rgb(image)
    params = recipe.distortion_params(key, int(level))
    if recipe.pixel_scale == "short_side_224":
        params = scale_params(key, params, min(image.shape[:2]))
    return spec.fn(image, params, rng, stat_mask=stat_mask, depth=depth)
