"""The visibility audit of one version: every degraded region's change, measured on the
rendering against the clean image, and the recipe's policy for a region under the minimum.

Regions are disjoint (ingest's contract), so a region's pixels in the version are its own
rendering and a region can be drawn again in place without touching its neighbours.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from pandaset_build import distortions
from pandaset_build.config.recipe import Visibility
from pandaset_build.distortions.visibility import difference, mean_of, share_of
from pandaset_build.render.frame import Frame
from pandaset_build.render.renderer import render_fast, render_region
from pandaset_build.store.records import RegionPlan

Replan = Callable[[RegionPlan, int], RegionPlan]  # (first plan, attempt k >= 1) -> k-th redraw


@dataclass(frozen=True)
class Change:
    """How much a region's pixels changed: mean absolute change (grey levels), changed share."""

    mean: float
    share: float


def measure(frame: Frame, rendered: np.ndarray, region_id: int) -> Change:
    """The region's change in `rendered` against the clean image, over its box only."""
    x, y, w, h = frame.boxes[region_id]
    box = slice(math.floor(y), math.ceil(y + h)), slice(math.floor(x), math.ceil(x + w))
    mask = frame.masks[region_id][box]
    if not mask.any():
        return Change(0.0, 0.0)
    change = difference(frame.image[box], rendered[box])
    return Change(mean_of(change, mask, frame.image.shape[-1]), share_of(change, mask))


def _draw(plan: RegionPlan) -> tuple[str, str, int, str]:
    """What decides a region's pixels: the ISP folder, or the sub-type, its parameters and
    (for a random sub-type only) the render seed."""
    if plan.isp:
        return plan.subtype, "", 0, plan.isp_folder
    seed = plan.seed if distortions.get(plan.key).random else 0
    return plan.subtype, plan.params, seed, ""


def _clean(plan: RegionPlan) -> RegionPlan:
    return replace(
        plan,
        relabelled_from=f"{plan.key}/{plan.severity}",
        distortion="clean",
        subtype="",
        severity="clean",
        level=0,
        params="{}",
        isp=False,
        isp_folder="",
        depth_tier="",
    )


def audit_version(
    frame: Frame, plans: Sequence[RegionPlan], settings: Visibility, replan: Replan
) -> tuple[np.ndarray, list[RegionPlan]]:
    """Render one version, measure every region and apply the policy to a degraded region
    whose mean change is under `settings.min_mean_change`:

    - `redraw`: the region's own generator draws its sub-type and seed again (`replan`), up to
      `max_attempts` draws in all (a draw that gives the pixels of one already tried, same
      sub-type and parameters and, for a random sub-type, seed, is not rendered again); still
      under the minimum, `exhausted` decides;
    - `relabel`: the region's pixels go back to clean and its labels say clean;
    - `keep`: the rendering and labels stay, the row says `kept`.

    Returns the version's pixels and the plans with their measures, attempts and outcome.
    """
    out = render_fast(frame, plans)
    audited = []
    for first in plans:
        change = measure(frame, out, first.region_id)
        if not first.degraded:
            audited.append(replace(first, mean_change=change.mean, changed_share=change.share))
            continue
        plan, attempts, tried = first, 1, {_draw(first)}
        redraw = settings.policy == "redraw"
        minimum, most = settings.min_mean_change, settings.max_attempts
        while redraw and change.mean < minimum and attempts < most:
            candidate = replan(first, attempts)
            attempts += 1
            if _draw(candidate) in tried:
                continue
            tried.add(_draw(candidate))
            plan = candidate
            render_region(frame, plan, out)
            change = measure(frame, out, plan.region_id)
        if change.mean >= minimum:
            outcome = "visible" if plan is first else "redrawn"
        else:
            policy = settings.exhausted if redraw else settings.policy
            outcome = "kept" if policy == "keep" else "relabelled"
        if outcome == "relabelled":
            plan = _clean(plan)
            render_region(frame, plan, out)
            change = measure(frame, out, plan.region_id)
        audited.append(
            replace(
                plan,
                mean_change=change.mean,
                changed_share=change.share,
                attempts=attempts,
                audit=outcome,
            )
        )
    return out, audited
