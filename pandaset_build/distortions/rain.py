"""rain/rain: a scene-wide streak field in frame coordinates, blended toward the streak colour.

I = J + alpha R (C - J): a convex blend, so bright surfaces keep a translucent streak instead
of clipping to white. The pool (angle, start points, priorities, opacities) comes from the scene
generator, so every region of a version shows the same streaks; see `weather.py` for the pool
domain and the per-region `min_change` top-up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .registry import Params, register
from .weather import Domain, colour_weight, region_plane, top_up
from .window import Context, Window, to_u8, unit


@dataclass(frozen=True)
class StreakPool:
    """The scene's candidate streaks: one angle (radians from vertical), starts 2 x N (y, x)."""

    angle: float
    starts: np.ndarray
    priority: np.ndarray
    opacity: np.ndarray


def blur_sigma(params: Params, side: int) -> float:
    return max(params["blur_sigma_min_px"], params["blur_sigma_per_side"] * side)


def blur_reach(sigma: float) -> int:
    """Support radius of the truncated Gaussian (4 sigma)."""
    return int(4.0 * sigma + 0.5)


def steps(length: float, side: int) -> int:
    """Unit steps of a streak of `length` x S (at least one pixel)."""
    return max(1, int(length * side))


def draw_pool(params: Params, rng: np.random.Generator, frame_shape: tuple[int, int]) -> StreakPool:
    """Draws: the angle, then random((4, N)) = priority, y, x, opacity over the start domain.

    The domain reaches above the frame and to the side the streaks come from by the longest
    streak, and past every edge by the blur reach, so every pixel sees the same start density.
    """
    height, width = frame_shape
    side = min(frame_shape)
    angle = math.radians(rng.uniform(-params["angle_max_deg"], params["angle_max_deg"]))
    reach = blur_reach(blur_sigma(params, side))
    run = steps(params["length_max"], side)
    down, across = run * math.cos(angle), run * math.sin(angle)
    domain = Domain(
        top=-(down + reach),
        bottom=height + reach,
        left=-(max(across, 0.0) + reach),
        right=width + max(-across, 0.0) + reach,
    )
    priority, fy, fx, fo = rng.random((4, domain.size(params["density_max"], side)))
    low, high = params["streak_opacity_range"]
    return StreakPool(angle, domain.place(fy, fx), priority, low + fo * (high - low))


def near(pool: StreakPool, indices: np.ndarray, count: int, window: Window, reach: int):
    """The `indices` whose first `count` steps pass within `reach` px of the window (the others
    cannot change it; dropping them first keeps a small window's cost small)."""
    ys, xs = pool.starts[0, indices], pool.starts[1, indices]
    down, across = (count - 1) * math.cos(pool.angle), (count - 1) * math.sin(pool.angle)
    (top, left), (height, width) = window.offset, window.shape
    keep = (
        (ys + down >= top - reach - 1)
        & (ys < top + height + reach + 1)
        & (np.minimum(xs, xs + across) < left + width + reach + 1)
        & (np.maximum(xs, xs + across) >= left - reach - 1)
    )
    return indices[keep]


def line_pixels(
    pool: StreakPool, indices: np.ndarray, count: int, window: Window
) -> tuple[np.ndarray, np.ndarray]:
    """Window (row, col) of each streak's `count` unit steps: 1-px lines, no anti-aliasing."""
    step = np.arange(count)
    rows = np.floor(pool.starts[0, indices, None] + step * math.cos(pool.angle)).astype(np.int64)
    cols = np.floor(pool.starts[1, indices, None] + step * math.sin(pool.angle)).astype(np.int64)
    return rows - window.offset[0], cols - window.offset[1]


def streak_field(
    pool: StreakPool, indices: np.ndarray, count: int, sigma: float, window: Window
) -> np.ndarray:
    """R in [0, 1] on the window: lines at their opacity, max-composited, blurred, peak 1."""
    reach = blur_reach(sigma)
    indices = near(pool, np.asarray(indices), count, window, reach)
    rows, cols = line_pixels(pool, indices, count, window)
    rows, cols = rows + reach, cols + reach
    canvas = np.zeros((window.shape[0] + 2 * reach, window.shape[1] + 2 * reach))
    inside = (rows >= 0) & (rows < canvas.shape[0]) & (cols >= 0) & (cols < canvas.shape[1])
    values = np.broadcast_to(pool.opacity[indices, None], rows.shape)
    np.maximum.at(canvas, (rows[inside], cols[inside]), values[inside])
    blurred = ndimage.gaussian_filter(canvas, sigma, mode="constant", truncate=4.0)
    gain = np.exp(-(np.arange(-reach, reach + 1) ** 2) / (2 * sigma**2)).sum()
    return np.minimum(1.0, gain * blurred[reach : -reach or None, reach : -reach or None])


def touching(pool: StreakPool, count: int, window: Window, region: np.ndarray) -> np.ndarray:
    """Indices of the streaks whose first `count` steps land on the region, by priority."""
    every = near(pool, np.arange(pool.priority.shape[0]), count, window, 0)
    rows, cols = line_pixels(pool, every, count, window)
    inside = (rows >= 0) & (rows < window.shape[0]) & (cols >= 0) & (cols < window.shape[1])
    hit = np.zeros(rows.shape, dtype=bool)
    hit[inside] = region[rows[inside], cols[inside]]
    found = every[hit.any(axis=1)]
    return found[np.argsort(pool.priority[found], kind="stable")]


@register("rain/rain", random=True, statistic=True)
def rain(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """Scene streaks below density / density_max, topped up to min_change on the region."""
    window = ctx.window
    side = window.short_side
    pool = draw_pool(params, rng, window.frame_shape)
    sigma = blur_sigma(params, side)
    present = pool.priority < params["density"] / params["density_max"]
    shortest = steps(params["length_min"], side)
    order = touching(pool, shortest, window, region_plane(window, ctx.stat_mask))
    extra = top_up(
        order,
        int(np.count_nonzero(present[order])),
        lambda chosen: streak_field(pool, chosen, shortest, sigma, window),
        colour_weight(image, params["colour"]),
        ctx.stat_mask,
        params["min_change"] / params["alpha"],
    )
    present[extra] = True
    field = streak_field(
        pool, np.flatnonzero(present), steps(params["length"], side), sigma, window
    )
    weight = params["alpha"] * field[:, :, None]
    x = unit(image)
    return to_u8(x + weight * (np.asarray(params["colour"], dtype=np.float64) - x))
