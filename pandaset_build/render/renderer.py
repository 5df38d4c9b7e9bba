"""Region-wise rendering of one version: the fast box path and the full-frame reference path."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from pandaset_build import distortions
from pandaset_build.distortions.shared import Shared
from pandaset_build.render.frame import Frame, Slices
from pandaset_build.store.records import RegionPlan


def _call(frame: Frame, plan: RegionPlan, window: Slices, shared: Shared | None) -> np.ndarray:
    """Apply a region's sub-type, with its parameters, statistics and draws, to a window."""
    mask = frame.masks[plan.region_id][window]
    return distortions.get(plan.key).fn(
        frame.image[window],
        plan.parameters,
        np.random.default_rng(plan.seed),
        stat_mask=mask if frame.stat_domain == "mask" else None,
        depth=None if frame.distance is None else frame.distance[window],
        frame_shape=frame.shape,
        offset=(window[0].start, window[1].start),
        frame=frame.image,
        shared=shared,
    )


def region_window(frame: Frame, plan: RegionPlan) -> Slices:
    """The region's box widened by the sub-type's margin, origin aligned to its grid."""
    spec = distortions.get(plan.key)
    height, width = frame.shape
    if spec.full_frame or (spec.statistic and frame.stat_domain == "frame"):
        return frame.everything
    x, y, w, h = (int(v) for v in frame.boxes[plan.region_id])
    margin = spec.margin(plan.parameters, frame.shape)
    grid = spec.grid(plan.parameters, frame.shape) if callable(spec.grid) else spec.grid
    top = max(0, y - margin) // grid * grid
    left = max(0, x - margin) // grid * grid
    return slice(top, min(height, y + h + margin)), slice(left, min(width, x + w + margin))


def _area(window: Slices) -> int:
    return (window[0].stop - window[0].start) * (window[1].stop - window[1].start)


def _rendered(frame: Frame, plan: RegionPlan, window: Slices) -> np.ndarray:
    """The window's rendering; a deterministic one comes from the image's whole-frame rendering
    once the windows asking for it add up to a frame (same bytes: crops are exact)."""
    spec = distortions.get(plan.key)
    if spec.random or (spec.statistic and frame.stat_domain == "mask"):
        return _call(frame, plan, window, frame.shared)
    name = ("render", plan.key, plan.params)
    everything = frame.everything
    if window == everything:
        return frame.shared.get(name, lambda: _call(frame, plan, everything, frame.shared))
    whole = frame.shared.frame_or_window(
        name,
        _area(window),
        _area(everything),
        lambda: _call(frame, plan, everything, frame.shared),
    )
    return _call(frame, plan, window, frame.shared) if whole is None else whole[window]


def _paste(out: np.ndarray, pixels: np.ndarray, mask: np.ndarray, window: Slices) -> None:
    """out[window][mask[window]] = pixels[mask[window]], through cv2.copyTo (in place)."""
    cv2.copyTo(pixels, mask[window].view(np.uint8), out[window])


def render_region(frame: Frame, plan: RegionPlan, out: np.ndarray) -> None:
    """Paste one region's rendering (clean pixels for a clean plan) into `out`, in place."""
    mask = frame.masks[plan.region_id]
    if plan.isp:
        _paste(out, frame.isp[plan.isp_folder], mask, frame.everything)
    elif plan.key:
        window = region_window(frame, plan)
        _paste(out, _rendered(frame, plan, window), mask, window)
    else:
        _paste(out, frame.image, mask, frame.everything)


def render_fast(frame: Frame, plans: Sequence[RegionPlan]) -> np.ndarray:
    """Render each degraded region on its window and paste it through the mask."""
    out = frame.image.copy()
    for plan in plans:
        if plan.degraded:
            render_region(frame, plan, out)
    return out


def render_reference(frame: Frame, plans: Sequence[RegionPlan]) -> np.ndarray:
    """Reference semantics: each region's sub-type on the full frame, kept inside its mask;
    nothing is shared between regions."""
    out = frame.image.copy()
    for plan in plans:
        mask = frame.masks[plan.region_id]
        if plan.isp:
            out[mask] = frame.isp[plan.isp_folder][mask]
        elif plan.key:
            out[mask] = _call(frame, plan, frame.everything, None)[mask]
    return out
