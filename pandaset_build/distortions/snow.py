"""snow/snow: nested procedural Gaussian-soft flakes toward white, drawn in frame coordinates."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .rain import pool_size
from .registry import Params, register
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
    ys, xs, radii, opacity = (np.ascontiguousarray(row) for row in flakes)
    _stamp(field, ys, xs, radii, opacity, window.offset[0], window.offset[1], FLAKE_SUPPORT)
    return field


@register("snow/snow", random=True)
def snow(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """Draws (priority, y, x, radius, opacity) per candidate; I = J (1 - Z) + Z."""
    window = ctx.window
    priority, fy, fx, fr, fo = rng.random((5, pool_size(params["density_max"], window)))
    (r_lo, r_hi), (o_lo, o_hi) = params["radius_range"], params["flake_opacity_range"]
    flakes = np.stack(
        [
            fy * window.frame_shape[0],
            fx * window.frame_shape[1],
            (r_lo + fr * (r_hi - r_lo)) * window.short_side,
            o_lo + fo * (o_hi - o_lo),
        ]
    )
    present = priority < params["density"] / params["density_max"]
    flakes_z = params["opacity"] * flake_field(window, flakes[:, present])
    z = 1 - (1 - params["veil"]) * (1 - flakes_z)
    return to_u8(unit(image) * (1 - z[:, :, None]) + z[:, :, None])
