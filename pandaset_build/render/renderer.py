"""Region-wise rendering of one version: the fast box path and the full-frame reference path."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pandaset_build import distortions
from pandaset_build.render.frame import Frame
from pandaset_build.store.records import RegionPlan


def _call(frame: Frame, plan: RegionPlan, window: tuple[slice, slice]) -> np.ndarray:
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
    )


def region_window(frame: Frame, plan: RegionPlan) -> tuple[slice, slice]:
    """The region's box widened by the sub-type's margin, origin aligned to its grid."""
    spec = distortions.get(plan.key)
    height, width = frame.shape
    if spec.full_frame or (spec.statistic and frame.stat_domain == "frame"):
        return slice(0, height), slice(0, width)
    x, y, w, h = (int(v) for v in frame.boxes[plan.region_id])
    margin = spec.margin(plan.parameters, frame.shape)
    grid = spec.grid(plan.parameters, frame.shape) if callable(spec.grid) else spec.grid
    top = max(0, y - margin) // grid * grid
    left = max(0, x - margin) // grid * grid
    return slice(top, min(height, y + h + margin)), slice(left, min(width, x + w + margin))


def render_fast(frame: Frame, plans: Sequence[RegionPlan]) -> np.ndarray:
    """Render each degraded region on its window and paste it through the mask."""
    out = frame.image.copy()
    for plan in plans:
        mask = frame.masks[plan.region_id]
        if plan.isp:
            out[mask] = frame.isp[mask]
            continue
        if not plan.key:
            continue
        spec = distortions.get(plan.key)
        window = region_window(frame, plan)
        if spec.full_frame and not spec.random:
            cache_key = (plan.key, plan.params)
            if cache_key not in frame.shared:
                frame.shared[cache_key] = _call(frame, plan, window)
            rendered = frame.shared[cache_key]
        else:
            rendered = _call(frame, plan, window)
        region = mask[window]
        out[window][region] = rendered[region]
    return out


def render_reference(frame: Frame, plans: Sequence[RegionPlan]) -> np.ndarray:
    """Reference semantics: each region's sub-type on the full frame, kept inside its mask."""
    out = frame.image.copy()
    everything = (slice(0, frame.shape[0]), slice(0, frame.shape[1]))
    for plan in plans:
        mask = frame.masks[plan.region_id]
        if plan.isp:
            out[mask] = frame.isp[mask]
        elif plan.key:
            out[mask] = _call(frame, plan, everything)[mask]
    return out
