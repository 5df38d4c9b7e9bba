"""blur/*: gaussian, motion, glass, lens, zoom, jitter (docs/distortions.md, blur)."""

from __future__ import annotations

import math

import cv2
import numpy as np
from scipy import ndimage
from skimage.filters import gaussian as sk_gaussian

from .fields import field_key
from .params import COUNT_RISING, POSITIVE_RISING, Factors
from .registry import Params, Shape, register
from .shuffle import chain_ends, shuffle
from .window import Context, to_u8, unit

LENS_GRID_HALF = 8  # DepictQA's gen_disk: a fixed 17x17 grid up to radius 8


def _gaussian(x: np.ndarray, sigma: float) -> np.ndarray:
    return sk_gaussian(
        x, sigma=sigma, mode="nearest", truncate=4.0, channel_axis=-1, preserve_range=False
    )


def _gaussian_margin(params: Params, frame_shape: Shape) -> int:
    return int(4.0 * params["sigma"] + 0.5)


@register("blur/gaussian", margin=_gaussian_margin, params={"sigma": POSITIVE_RISING})
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


@register(
    "blur/motion",
    margin=lambda params, frame_shape: 2 * int(params["radius"]),
    random=True,
    params={"radius": COUNT_RISING, "sigma": POSITIVE_RISING},
)
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


def _glass_margin(params: Params, frame_shape: Shape) -> int:
    """The second Gaussian's radius: the shuffle itself is exact on any window."""
    return _gaussian_margin(params, frame_shape)


def _first_gaussian(ctx: Context, sigma: float, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """G1(frame) at the chain ends: the image's whole-frame G1 when shared, else G1 of the ends'
    box widened by the radius (scikit-image's Gaussian is the same at every position)."""
    frame = ctx.frame
    height, width = ctx.window.frame_shape
    radius = int(4.0 * sigma + 0.5)
    top, left = max(0, int(rows.min()) - radius), max(0, int(cols.min()) - radius)
    bottom = min(height, int(rows.max()) + radius + 1)
    right = min(width, int(cols.max()) + radius + 1)
    whole = None
    if ctx.shared is not None:
        whole = ctx.shared.frame_or_window(
            ("blur/glass", "gaussian", sigma),
            (bottom - top) * (right - left),
            height * width,
            lambda: _gaussian(unit(frame), sigma),
        )
    if whole is not None:
        return whole[rows, cols]
    part = _gaussian(unit(frame[top:bottom, left:right]), sigma)
    return part[rows - top, cols - left]


@register(
    "blur/glass",
    margin=_glass_margin,
    random=True,
    reads_frame=True,
    params={"sigma": POSITIVE_RISING, "shift": COUNT_RISING, "passes": COUNT_RISING},
)
def blur_glass(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """Gaussian, copy-not-swap shuffle of the float image, Gaussian again."""
    shift, passes, sigma = int(params["shift"]), int(params["passes"]), params["sigma"]
    key = field_key(rng)
    if ctx.window.is_full:
        shuffled = shuffle(_gaussian(unit(image), sigma), key, shift, passes)
    else:
        rows, cols = chain_ends(key, ctx.window, shift, passes)
        shuffled = _first_gaussian(ctx, sigma, rows, cols)
    return to_u8(_gaussian(shuffled, sigma))


def lens_disk(radius: int) -> np.ndarray:
    """Normalised binary disk X^2 + Y^2 <= r^2 on a (2 max(8, r) + 1)^2 grid, float32."""
    half = max(LENS_GRID_HALF, radius)
    grid = np.arange(-half, half + 1)
    xx, yy = np.meshgrid(grid, grid)
    disk = (xx**2 + yy**2 <= radius**2).astype(np.float32)
    return disk / np.sum(disk)


@register(
    "blur/lens",
    params={"radius": COUNT_RISING},
    margin=lambda params, frame_shape: max(LENS_GRID_HALF, int(params["radius"])),
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


def _add_layers(x: np.ndarray, total: np.ndarray, factors: tuple[float, ...]) -> np.ndarray:
    for factor in factors:
        total = total + _zoom_layer(x, factor)
    return total


def _layer_sum(x: np.ndarray, factors: tuple[float, ...], ctx: Context) -> np.ndarray:
    """Sum of the layers in list order, float32. The image's memo keeps each sum it computed,
    and a longer list starts from the longest kept prefix: the levels of one image share their
    common layers (the same float32 additions in the same order, so the same bytes)."""
    if ctx.shared is None:
        return _add_layers(x, np.zeros_like(x), factors)
    shared = ctx.shared

    def make() -> np.ndarray:
        for start in range(len(factors) - 1, 0, -1):
            prefix = shared.peek(("blur/zoom", "layers", factors[:start]))
            if prefix is not None:
                return _add_layers(x, prefix, factors[start:])
        return _add_layers(x, np.zeros_like(x), factors)

    return shared.get(("blur/zoom", "layers", factors), make)


@register("blur/zoom", full_frame=True, params={"factors": Factors()})
def blur_zoom(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """Mean of the image and its centre zoom layers, float32."""
    x = unit(image).astype(np.float32)
    factors = tuple(float(f) for f in params["factors"])
    return to_u8((x + _layer_sum(x, factors, ctx)) / (len(factors) + 1))


@register("blur/jitter", random=True, reads_frame=True, params={"shift": COUNT_RISING})
def blur_jitter(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """One copy-not-swap shuffle pass on the uint8 image."""
    shift, key = int(params["shift"]), field_key(rng)
    if ctx.window.is_full:
        return shuffle(image, key, shift, 1)
    rows, cols = chain_ends(key, ctx.window, shift, 1)
    return ctx.frame[rows, cols]
