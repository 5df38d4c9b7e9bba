"""The visibility audit of a build, per family and severity, and the severity order of the
region scores per family, accumulated image by image."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from pandaset_build.config import vocab
from pandaset_build.config.recipe import SEVERITY_NAMES
from pandaset_build.json_types import JsonObject
from pandaset_build.store.records import AUDIT_OUTCOMES, RegionPlan
from pandaset_build.store.scored import ScoredImage


def drawn_as(plan: RegionPlan) -> tuple[str, str] | None:
    """(family, severity) the region was drawn as (a relabelled one: its last draw); None for
    a region planned clean."""
    if plan.relabelled_from:
        family, _, severity = plan.relabelled_from.split("/")
        return family, severity
    return (plan.distortion, plan.severity) if plan.audit else None


def _outcomes() -> defaultdict[tuple[str, str], Counter[str]]:
    return defaultdict(Counter)


@dataclass
class VisibilityStats:
    """Per (family, severity): regions by audit outcome; per family and severity: scores of
    the regions that stay degraded."""

    outcomes: defaultdict[tuple[str, str], Counter[str]] = field(default_factory=_outcomes)
    scores: defaultdict[tuple[str, str], list[float]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def add_image(self, image: ScoredImage) -> None:
        for version, plans in image.plans.items():
            for plan, score in zip(plans, image.region_scores[version], strict=True):
                drawn = drawn_as(plan)
                if drawn is None:
                    continue
                self.outcomes[drawn][plan.audit] += 1
                if plan.degraded:
                    self.scores[plan.distortion, plan.severity].append(score)

    def to_json(self) -> JsonObject:
        """`audit`: family -> severity -> regions, outcome counts, the share under the minimum
        at the first draw and in the written labels (`kept`); `severity_order`: family ->
        mean region score per severity and whether minor > moderate > severe."""
        audit: JsonObject = {}
        order: JsonObject = {}
        for family in vocab.FAMILIES:
            rows = {}
            for severity in SEVERITY_NAMES:
                counts = self.outcomes.get((family, severity))
                if not counts:
                    continue
                total = sum(counts.values())
                rows[severity] = {
                    "regions": total,
                    **{outcome: counts[outcome] for outcome in AUDIT_OUTCOMES},
                    "under_minimum_first_draw": (total - counts["visible"]) / total,
                    "under_minimum_written": counts["kept"] / total,
                }
            if rows:
                audit[family] = rows
            means = {
                s: float(np.mean(self.scores[family, s]))
                for s in SEVERITY_NAMES
                if self.scores.get((family, s))
            }
            if means:
                values = list(means.values())
                order[family] = {
                    "mean_score": means,
                    "ordered": len(means) == len(SEVERITY_NAMES)
                    and all(a > b for a, b in itertools.pairwise(values)),
                }
        totals = Counter()
        for counts in self.outcomes.values():
            totals.update(counts)
        regions = sum(totals.values())
        return {
            "regions": regions,
            **{outcome: totals[outcome] for outcome in AUDIT_OUTCOMES},
            "under_minimum_first_draw": (regions - totals["visible"]) / regions if regions else 0.0,
            "under_minimum_written": totals["kept"] / regions if regions else 0.0,
            "families": audit,
            "severity_order": order,
        }
