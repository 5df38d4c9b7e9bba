"""Haze distance D in [0, 1] (1 = far), by tier: a user's depth file, a monocular depth model,
the panoptic-layout prior; or, when named, the CAP prior, a vertical ramp or a constant."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from scipy import ndimage

from ..errors import BadInput
from .depth_model import DepthEstimator, estimate_depth, load_depth_model
from .depth_prior import layout_distance, layout_regions
from .window import Window

CAP_THETA = (0.121779, 0.959710, -0.780245)  # Zhu, Mai and Shao 2015: d = t0 + t1 v + t2 s


def cap_distance(image: np.ndarray, min_filter: int) -> np.ndarray:
    """Colour attenuation prior clip(t0 + t1 v + t2 s, 0, 1), then an optional min filter."""
    x = image / 255.0
    value = x.max(axis=2)
    spread = value - x.min(axis=2)
    saturation = np.divide(spread, value, out=np.zeros_like(value), where=value > 0)
    t0, t1, t2 = CAP_THETA
    distance = np.clip(t0 + t1 * value + t2 * saturation, 0, 1)
    if min_filter > 1:
        distance = ndimage.minimum_filter(distance, size=min_filter, mode="nearest")
    return distance


def ramp_distance(window: Window, top: float, bottom: float) -> np.ndarray:
    """D(y) = top + (bottom - top) y / (H - 1) over the frame's rows, on the window."""
    frame_h = window.frame_shape[0]
    rows = window.offset[0] + np.arange(window.shape[0])
    column = top + (bottom - top) * rows / max(1, frame_h - 1)
    return np.repeat(column[:, None], window.shape[1], axis=1)


def read_depth(path: str | Path, frame_shape: tuple[int, int], near_is_bright: bool) -> np.ndarray:
    """A user depth map: uint8 / 255, uint16 / 65535, float min-max; bilinear to the frame."""
    if str(path).endswith(".npy"):
        raw = np.load(path)
    else:
        raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if raw is None:
        raise BadInput(path, "cannot read the depth map")
    if raw.ndim == 3:
        if not (raw == raw[:, :, :1]).all():
            raise BadInput(path, f"depth map has {raw.shape[2]} different channels; expected one")
        raw = raw[:, :, 0]
    if raw.dtype == np.uint8:
        depth = raw / 255.0
    elif raw.dtype == np.uint16:
        depth = raw / 65535.0
    elif np.issubdtype(raw.dtype, np.floating):
        low, high = float(np.nanmin(raw)), float(np.nanmax(raw))
        if not high > low:
            raise BadInput(path, "float depth map is constant or empty; cannot min-max normalise")
        depth = (raw - low) / (high - low)
    else:
        raise BadInput(path, f"depth map dtype {raw.dtype}: expected uint8, uint16 or float")
    height, width = frame_shape
    if depth.shape != (height, width):
        depth = cv2.resize(depth, (width, height), interpolation=cv2.INTER_LINEAR)
    return 1.0 - depth if near_is_bright else depth


def depth_tier(knobs: dict[str, Any], depth_path: str | Path | None) -> str:
    """The tier `depth_source` resolves to for a record: `auto` is `file` if it has a map,
    else `layout`; every other source is itself. Plans record this name."""
    source = knobs["depth_source"]
    if source == "auto":
        return "file" if depth_path is not None else "layout"
    return source


def window_distance(image: np.ndarray, knobs: dict[str, Any], window: Window) -> np.ndarray:
    """D for the window when no map was passed: the layout prior without regions (its ramp),
    CAP, ramp, or the named constant. `file` and `model` need the full-frame map."""
    source = knobs["depth_source"]
    if source in ("auto", "layout", "ramp"):
        return ramp_distance(window, knobs["ramp_top"], knobs["ramp_bottom"])
    if source == "cap":
        return cap_distance(image, int(knobs["cap_min_filter"]))
    if source == "constant":
        return np.full(window.shape, float(knobs["depth_constant"]))
    raise ValueError(
        f"haze: depth_source {source!r} needs the full-frame map passed as depth= (haze_distance)"
    )


def haze_distance(
    image: np.ndarray,
    knobs: dict[str, Any],
    depth_path: str | Path | None,
    *,
    regions: Sequence[Any] | None = None,
    device: str = "cpu",
    estimator: DepthEstimator | None = None,
) -> np.ndarray:
    """Full-frame D for a source record by its tier (`depth_tier`): `file` reads the map,
    `model` runs the depth model (`estimator`, else the recipe's `depth_model` on `device`),
    `layout` uses the record's `regions` (source-record rows with RLE masks)."""
    frame = (image.shape[0], image.shape[1])
    tier = depth_tier(knobs, depth_path)
    if tier == "file":
        if depth_path is None:
            raise ValueError("haze: depth_source 'file' but the source record has no depth map")
        return read_depth(depth_path, frame, bool(knobs["depth_near_is_bright"]))
    if tier == "model":
        chosen = estimator or load_depth_model(str(knobs["depth_model"]), device)
        return estimate_depth(image, chosen)
    if tier == "layout" and regions is not None:
        return layout_distance(
            frame,
            layout_regions(regions),
            knobs["layout"]["far"],
            knobs["ramp_top"],
            knobs["ramp_bottom"],
        )
    return window_distance(image, knobs, Window(frame, (0, 0), frame))
