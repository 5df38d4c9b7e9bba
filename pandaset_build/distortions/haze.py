"""haze/haze: I = J t + A (1 - t), t = exp(-beta d'), beta calibrated to the region's target.

d' = depth_floor + (1 - depth_floor) min(box(D), d_max) / d_max is the shape of the optical
depth (D = distance, 1 far); on a region, box(D) averages the region's own pixels only, so a far
neighbour does not leave a halo inside a near region. beta is solved so that the mean of t over
the region (the statistic mask) is the severity's `transmission`: the depth only shapes the haze
inside the region, its amount is the label's. The airlight A is the scene generator's first
draws, so every region of a version shares it.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .depth import window_distance
from .registry import Params, Shape, register
from .window import Context, to_u8, unit

NEWTON_STEPS = 60  # Newton from below converges monotonically, quadratically near the root
TOLERANCE = 1e-12  # stop once the mean transmission is this close to its target


def box_blur(plane: np.ndarray, size: int) -> np.ndarray:
    """Normalised size x size box (even sizes centred like OpenCV's anchor), reflect-101."""
    weights = np.full(size, 1.0 / size)
    rows = ndimage.correlate1d(plane, weights, axis=0, mode="mirror")
    return ndimage.correlate1d(rows, weights, axis=1, mode="mirror")


def draw_airlight(params: Params, rng: np.random.Generator) -> np.ndarray:
    """Draws uniform(*airlight_range), then uniform(-tint, tint, 3): A near grey, RGB in [0, 1]."""
    level = rng.uniform(*params["airlight_range"])
    tint = rng.uniform(-params["airlight_tint"], params["airlight_tint"], 3)
    return np.clip(level + tint, 0.0, 1.0)


def region_blur(plane: np.ndarray, size: int, mask: np.ndarray | None) -> np.ndarray:
    """box(plane) over the mask's pixels only: box(plane m) / box(m) on the mask (0 elsewhere)."""
    if mask is None:
        return box_blur(plane, size)
    weight = box_blur(mask.astype(np.float64), size)
    total = box_blur(np.where(mask, plane, 0.0), size)
    return np.divide(total, weight, out=np.zeros_like(total), where=mask)


def optical_shape(distance: np.ndarray, params: Params, mask: np.ndarray | None) -> np.ndarray:
    """d' in [depth_floor, 1]: the region-blurred distance, capped at d_max, lifted off zero."""
    plane = np.asarray(distance, dtype=np.float64)
    blurred = region_blur(plane, int(params["box_px"]), mask)
    floor = params["depth_floor"]
    return floor + (1.0 - floor) * np.minimum(blurred, params["d_max"]) / params["d_max"]


def calibrate_beta(shape: np.ndarray, target: float) -> float:
    """beta >= 0 with mean(exp(-beta shape)) = target, for shape > 0 and 0 < target < 1.

    The mean is convex and decreasing in beta, and it is at least exp(-beta mean(shape)), so
    Newton's method started at -ln(target) / mean(shape) climbs to the root without overshoot.
    """
    values = np.asarray(shape, dtype=np.float64).ravel()
    beta = -np.log(target) / values.mean()
    for _ in range(NEWTON_STEPS):
        decay = np.exp(-beta * values)
        excess = decay.mean() - target
        if excess <= TOLERANCE:
            break
        beta += excess / (values * decay).mean()
    return float(beta)


def transmission(distance: np.ndarray, params: Params, mask: np.ndarray | None) -> np.ndarray:
    """t on the window, with beta calibrated over the mask (None: the whole window)."""
    shape = optical_shape(distance, params, mask)
    beta = calibrate_beta(shape if mask is None else shape[mask], params["transmission"])
    return np.exp(-beta * shape)


def _haze_margin(params: Params, frame_shape: Shape) -> int:
    cap = params["depth_source"] == "cap"
    return int(params["box_px"]) // 2 + (int(params["cap_min_filter"]) // 2 if cap else 0)


@register("haze/haze", margin=_haze_margin, random=True, statistic=True)
def haze(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """Draws the airlight; D from `depth` (the full-frame map, cropped) or from the window."""
    airlight = draw_airlight(params, rng)
    distance = ctx.depth if ctx.depth is not None else window_distance(image, params, ctx.window)
    t = transmission(distance, params, ctx.stat_mask)[:, :, None]
    return to_u8(unit(image) * t + airlight * (1 - t))
