"""haze/haze: atmospheric scattering I = J t + A (1 - t), t = exp(-beta min(box(D), d_max))."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .depth import window_distance
from .registry import Params, Shape, register
from .window import Context, to_u8, unit


def box_blur(plane: np.ndarray, size: int) -> np.ndarray:
    """Normalised size x size box (even sizes centred like OpenCV's anchor), reflect-101."""
    weights = np.full(size, 1.0 / size)
    rows = ndimage.correlate1d(plane, weights, axis=0, mode="mirror")
    return ndimage.correlate1d(rows, weights, axis=1, mode="mirror")


def _haze_margin(params: Params, frame_shape: Shape) -> int:
    cap = params["depth_source"] in ("auto", "cap")
    return int(params["box_px"]) // 2 + (int(params["cap_min_filter"]) // 2 if cap else 0)


@register("haze/haze", margin=_haze_margin, random=True)
def haze(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """Draws the grey airlight A once; D from `depth` (full-frame map, cropped) or the window."""
    airlight = rng.uniform(*params["airlight_range"])
    distance = ctx.depth if ctx.depth is not None else window_distance(image, params, ctx.window)
    blurred = box_blur(np.asarray(distance, dtype=np.float64), int(params["box_px"]))
    far = np.minimum(blurred, params["d_max"])
    transmission = np.exp(-params["beta"] * far)[:, :, None]
    return to_u8(unit(image) * transmission + airlight * (1 - transmission))
