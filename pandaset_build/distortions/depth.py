"""Haze distance D in [0, 1] (1 = far): CAP prior, vertical ramp, constant, or a user depth file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
from scipy import ndimage

from pandaset_build.errors import BadInput

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


def window_distance(image: np.ndarray, knobs: dict[str, Any], window: Window) -> np.ndarray:
    """D for the window when no map was passed: CAP (auto, cap), ramp, or the named constant."""
    source = knobs["depth_source"]
    if source in ("auto", "cap"):
        return cap_distance(image, int(knobs["cap_min_filter"]))
    if source == "ramp":
        return ramp_distance(window, knobs["ramp_top"], knobs["ramp_bottom"])
    if source == "constant":
        return np.full(window.shape, float(knobs["depth_constant"]))
    raise ValueError("haze: depth_source 'file' needs the map passed as depth= (haze_distance)")


def haze_distance(
    image: np.ndarray, knobs: dict[str, Any], depth_path: str | Path | None
) -> np.ndarray:
    """Full-frame D for a source record: `file` (or `auto` with a map) reads it, else as above."""
    source = knobs["depth_source"]
    frame = (image.shape[0], image.shape[1])
    if source == "file" or (source == "auto" and depth_path is not None):
        if depth_path is None:
            raise ValueError("haze: depth_source 'file' but the source record has no depth map")
        return read_depth(depth_path, frame, bool(knobs["depth_near_is_bright"]))
    return window_distance(image, knobs, Window(frame, (0, 0), frame))
