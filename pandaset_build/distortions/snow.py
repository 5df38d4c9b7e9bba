"""snow/snow: scene-wide Gaussian-soft flakes in frame coordinates, blended toward the snow colour.

I = J (1 - Z) + C Z. The flake pool comes from the scene generator, so every region of a version
shows the same flakes; see `weather.py` for the pool domain and the per-region `min_change`
top-up.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .registry import Params, register
from .weather import Domain, colour_weight, region_plane, top_up
from .window import Context, Window, to_u8, unit

FLAKE_SUPPORT = 4.0  # a flake is evaluated out to 4 radii (its profile is below 4e-4 there)


@njit(cache=True)
def _stamp(field, ys, xs, radii, opacity, top, left, support):
    """field = max(field, o exp(-d^2 / 2 r^2)) over each flake's support, pixel centres at +0.5."""
    height, width = field.shape
    for k in range(ys.shape[0]):
        reach = support * radii[k]
        r0 = max(0, math.floor(ys[k] - reach - 0.5) - top)
        r1 = min(height, math.ceil(ys[k] + reach - 0.5) - top + 1)
        c0 = max(0, math.floor(xs[k] - reach - 0.5) - left)
        c1 = min(width, math.ceil(xs[k] + reach - 0.5) - left + 1)
        inv = 1.0 / (2.0 * radii[k] * radii[k])
        for r in range(r0, r1):
            dy = r + top + 0.5 - ys[k]
            for c in range(c0, c1):
                dx = c + left + 0.5 - xs[k]
                d2 = dy * dy + dx * dx
                if d2 <= reach * reach:
                    value = opacity[k] * math.exp(-d2 * inv)
                    if value > field[r, c]:
                        field[r, c] = value


def flake_field(window: Window, flakes: np.ndarray) -> np.ndarray:
    """Z_flakes on the window: max over flakes (rows y, x, radius px, opacity) of soft discs."""
    field = np.zeros(window.shape)
    (top, left), (height, width) = window.offset, window.shape
    reach = FLAKE_SUPPORT * flakes[2] + 1
    close = (
        (flakes[0] + reach >= top)
        & (flakes[0] - reach < top + height)
        & (flakes[1] + reach >= left)
        & (flakes[1] - reach < left + width)
    )
    ys, xs, radii, opacity = (np.ascontiguousarray(row) for row in flakes[:, close])
    _stamp(field, ys, xs, radii, opacity, window.offset[0], window.offset[1], FLAKE_SUPPORT)
    return field


def draw_flakes(
    params: Params, rng: np.random.Generator, frame_shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Draws random((5, N)) = priority, y, x, radius, opacity; returns priority, flakes 4 x N.

    Centres cover the frame and a border as wide as the largest flake's support.
    """
    side = min(frame_shape)
    (r_lo, r_hi), (o_lo, o_hi) = params["radius_range"], params["flake_opacity_range"]
    reach = FLAKE_SUPPORT * r_hi * side
    domain = Domain(-reach, frame_shape[0] + reach, -reach, frame_shape[1] + reach)
    priority, fy, fx, fr, fo = rng.random((5, domain.size(params["density_max"], side)))
    centres = domain.place(fy, fx)
    radii = (r_lo + fr * (r_hi - r_lo)) * side
    return priority, np.stack([centres[0], centres[1], radii, o_lo + fo * (o_hi - o_lo)])


def touching(
    priority: np.ndarray, flakes: np.ndarray, window: Window, region: np.ndarray
) -> np.ndarray:
    """Indices of the flakes whose centre pixel lies on the region, by priority."""
    rows = np.floor(flakes[0]).astype(np.int64) - window.offset[0]
    cols = np.floor(flakes[1]).astype(np.int64) - window.offset[1]
    inside = (rows >= 0) & (rows < window.shape[0]) & (cols >= 0) & (cols < window.shape[1])
    hit = np.zeros(rows.shape, dtype=bool)
    hit[inside] = region[rows[inside], cols[inside]]
    found = np.flatnonzero(hit)
    return found[np.argsort(priority[found], kind="stable")]


@register("snow/snow", random=True, statistic=True)
def snow(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """Scene flakes below density / density_max, topped up to min_change on the region."""
    window = ctx.window
    priority, flakes = draw_flakes(params, rng, window.frame_shape)
    present = priority < params["density"] / params["density_max"]
    order = touching(priority, flakes, window, region_plane(window, ctx.stat_mask))
    extra = top_up(
        order,
        int(np.count_nonzero(present[order])),
        lambda chosen: flake_field(window, flakes[:, chosen]),
        colour_weight(image, params["colour"]),
        ctx.stat_mask,
        params["min_change"] / params["opacity"],
    )
    present[extra] = True
    flakes_z = params["opacity"] * flake_field(window, flakes[:, present])
    z = (1 - (1 - params["veil"]) * (1 - flakes_z))[:, :, None]
    x = unit(image)
    return to_u8(x + z * (np.asarray(params["colour"], dtype=np.float64) - x))
