"""rain/rain: nested procedural streaks, additive (I = J + alpha R), drawn in frame coordinates."""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from .registry import Params, register
from .window import Context, Window, to_u8, unit


def pool_size(density_max: float, window: Window) -> int:
    """Candidates per region: density_max per S^2 over the frame area."""
    height, width = window.frame_shape
    return round(density_max * height * width / window.short_side**2)


def streak_field(
    params: Params, window: Window, angle: float, starts: np.ndarray, present: np.ndarray
) -> np.ndarray:
    """R in [0, 1] on the window: 1-px streaks, max-composited, blurred, peak-normalised."""
    side = window.short_side
    sigma = max(params["blur_sigma_min_px"], params["blur_sigma_per_side"] * side)
    reach = int(4.0 * sigma + 0.5)
    steps = np.arange(max(1, int(params["length"] * side)))
    top, left = window.offset[0] - reach, window.offset[1] - reach
    rows = np.floor(starts[0, present, None] + steps * math.cos(angle)).astype(np.int64) - top
    cols = np.floor(starts[1, present, None] + steps * math.sin(angle)).astype(np.int64) - left
    canvas = np.zeros((window.shape[0] + 2 * reach, window.shape[1] + 2 * reach))
    inside = (rows >= 0) & (rows < canvas.shape[0]) & (cols >= 0) & (cols < canvas.shape[1])
    canvas[rows[inside], cols[inside]] = 1.0
    blurred = ndimage.gaussian_filter(canvas, sigma, mode="constant", truncate=4.0)
    gain = np.exp(-(np.arange(-reach, reach + 1) ** 2) / (2 * sigma**2)).sum()
    return np.minimum(1.0, gain * blurred[reach : -reach or None, reach : -reach or None])


@register("rain/rain", random=True)
def rain(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """Draws: angle, then (priority, y, x) per candidate; severity sets density, length, alpha."""
    window = ctx.window
    angle = math.radians(rng.uniform(-params["angle_max_deg"], params["angle_max_deg"]))
    priority, fy, fx = rng.random((3, pool_size(params["density_max"], window)))
    starts = np.stack([fy * window.frame_shape[0], fx * window.frame_shape[1]])
    present = priority < params["density"] / params["density_max"]
    field = streak_field(params, window, angle, starts, present)
    return to_u8(unit(image) + params["alpha"] * field[:, :, None])
