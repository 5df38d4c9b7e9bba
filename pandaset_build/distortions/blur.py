"""blur/*: gaussian, motion, glass, lens, zoom, jitter (reference/distortions.md §6 blur)."""

from __future__ import annotations

import math

import cv2
import numpy as np
from scipy import ndimage
from skimage.filters import gaussian as sk_gaussian

from .registry import Params, Shape, register
from .shuffle import draw_offsets, shuffle
from .window import Context, to_u8, unit

LENS_GRID_HALF = 8  # DepictQA's gen_disk: a fixed 17x17 grid up to radius 8


def _gaussian(x: np.ndarray, sigma: float) -> np.ndarray:
    return sk_gaussian(
        x, sigma=sigma, mode="nearest", truncate=4.0, channel_axis=-1, preserve_range=False
    )


def _gaussian_margin(params: Params, frame_shape: Shape) -> int:
    return int(4.0 * params["sigma"] + 0.5)


@register("blur/gaussian", margin=_gaussian_margin)
def blur_gaussian(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """skimage Gaussian over the spatial axes, border nearest, truncate 4."""
    return to_u8(_gaussian(unit(image), params["sigma"]))


def _motion_offsets(radius: int, angle: float) -> list[tuple[int, int]]:
    """(row, column) source offset of each trail tap, DepictQA's arithmetic."""
    width = 2 * radius + 1
    point = (width * np.sin(np.deg2rad(angle)), width * np.cos(np.deg2rad(angle)))
    hypot = math.hypot(point[0], point[1])
    return [
        (math.ceil(i * point[0] / hypot - 0.5), math.ceil(i * point[1] / hypot - 0.5))
        for i in range(width)
    ]


def _shifted(img: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """img(clampY(y + dy), clampX(x + dx)), edge replication."""
    rows = np.clip(np.arange(img.shape[0]) + dy, 0, img.shape[0] - 1)
    cols = np.clip(np.arange(img.shape[1]) + dx, 0, img.shape[1] - 1)
    return img[rows][:, cols]


@register("blur/motion", margin=lambda params, frame_shape: 2 * int(params["radius"]), random=True)
def blur_motion(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """One-sided half-Gaussian trail at angle uniform(-90, 90), edge replication, truncation."""
    angle = rng.uniform(-90, 90)
    radius, sigma = int(params["radius"]), params["sigma"]
    taps = np.exp(-(np.arange(2 * radius + 1) ** 2) / (2 * sigma**2)) / (np.sqrt(2 * np.pi) * sigma)
    taps = taps / taps.sum()
    frame_h, frame_w = ctx.window.frame_shape
    out = np.zeros(image.shape, dtype=np.float64)
    for weight, (dy, dx) in zip(taps, _motion_offsets(radius, angle), strict=True):
        if abs(dy) >= frame_h or abs(dx) >= frame_w:
            break
        out = out + weight * _shifted(image, dy, dx)
    return np.uint8(np.clip(out, 0, 255))


@register("blur/glass", full_frame=True, random=True)
def blur_glass(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """Gaussian, copy-not-swap shuffle of the float image, Gaussian again."""
    shift, passes = int(params["shift"]), int(params["passes"])
    offsets = draw_offsets(rng, ctx.window.frame_shape, shift, passes)
    blurred = _gaussian(unit(image), params["sigma"])
    return to_u8(_gaussian(shuffle(blurred, offsets, shift), params["sigma"]))


def lens_disk(radius: int) -> np.ndarray:
    """Normalised binary disk X^2 + Y^2 <= r^2 on a (2 max(8, r) + 1)^2 grid, float32."""
    half = max(LENS_GRID_HALF, radius)
    grid = np.arange(-half, half + 1)
    xx, yy = np.meshgrid(grid, grid)
    disk = (xx**2 + yy**2 <= radius**2).astype(np.float32)
    return disk / np.sum(disk)


@register(
    "blur/lens", margin=lambda params, frame_shape: max(LENS_GRID_HALF, int(params["radius"]))
)
def blur_lens(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """Disk kernel, OpenCV filter2D per channel, border reflect-101."""
    x, kernel = unit(image), lens_disk(int(params["radius"]))
    planes = [cv2.filter2D(x[:, :, c], -1, kernel) for c in range(x.shape[2])]
    return to_u8(np.stack(planes, axis=-1))


def _zoom_layer(x: np.ndarray, factor: float) -> np.ndarray:
    """Centre crop of ceil(side / z), bilinear corner-aligned zoom by z, top-left HxW kept.

    Zooming each channel in 2-D gives the bytes of `zoom(crop, (z, z, 1))` (its channel weights
    are exactly 1 and 0) in half the time; z = 1 is the identity, so that layer is `x` itself.
    """
    if factor == 1.0:
        return x
    height, width = x.shape[:2]
    crop_h, crop_w = math.ceil(height / factor), math.ceil(width / factor)
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    crop = x[top : top + crop_h, left : left + crop_w]
    channels = [
        ndimage.zoom(np.ascontiguousarray(crop[..., c]), (factor, factor), order=1)
        for c in range(crop.shape[2])
    ]
    return np.stack(channels, axis=-1)[:height, :width]


@register("blur/zoom", full_frame=True)
def blur_zoom(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """Mean of the image and its centre zoom layers, float32."""
    x = unit(image).astype(np.float32)
    layers = np.zeros_like(x)
    for factor in params["factors"]:
        layers += _zoom_layer(x, float(factor))
    return to_u8((x + layers) / (len(params["factors"]) + 1))


@register("blur/jitter", full_frame=True, random=True)
def blur_jitter(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """One copy-not-swap shuffle pass on the uint8 image."""
    shift = int(params["shift"])
    return shuffle(image, draw_offsets(rng, ctx.window.frame_shape, shift, 1), shift)
