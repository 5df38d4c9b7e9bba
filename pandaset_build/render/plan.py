"""Seeded per-region assignment of family, sub-type, severity, level, parameters and draw seed."""

from __future__ import annotations

import hashlib
import json

import numpy as np

from pandaset_build.config import vocab
from pandaset_build.config.recipe import SEVERITY_NAMES, Recipe
from pandaset_build.distortions import scale_params
from pandaset_build.store.records import RegionPlan, SourceRecord

ISP_FAMILIES = ("noise", "blur")


def region_rng(seed: int, tag: str, version: str, region_id: int) -> np.random.Generator:
    """The Generator of one (image, version, region), independent of shards, workers and order."""
    tag_key = int.from_bytes(hashlib.sha256(tag.encode()).digest()[:8], "big")
    version_key = vocab.VERSIONS.index(version)
    return np.random.default_rng([seed, tag_key, version_key, region_id])


def plan_region(
    recipe: Recipe,
    tag: str,
    version: str,
    region_id: int,
    frame_short_side: int,
    isp_families: frozenset[str] = frozenset(),
) -> RegionPlan:
    """Draw, in a fixed order: clean?, family (mixed only), sub-type, severity, render seed."""
    rng = region_rng(recipe.seed, tag, version, region_id)
    clean = rng.random() < recipe.assignment.clean_probability
    if version in vocab.MIXED_VERSIONS:
        family = vocab.FAMILIES[int(rng.integers(len(vocab.FAMILIES)))]
    else:
        family = version
    subtypes = vocab.SUBTYPES[family]
    subtype = subtypes[int(rng.integers(len(subtypes)))]
    severity = SEVERITY_NAMES[int(rng.integers(len(SEVERITY_NAMES)))]
    seed = int(rng.integers(2**63))
    if clean:
        return RegionPlan(tag, version, region_id, "clean", "", "clean", 0, "{}", seed, False)
    level = recipe.assignment.level(family, severity)
    key = f"{family}/{subtype}"
    if family in isp_families:
        return RegionPlan(tag, version, region_id, family, "isp", severity, level, "{}", seed, True)
    params = recipe.distortion_params(key, level)
    if recipe.pixel_scale == "short_side_224":
        params = scale_params(key, params, frame_short_side)
    encoded = json.dumps(params, sort_keys=True)
    return RegionPlan(
        tag, version, region_id, family, subtype, severity, level, encoded, seed, False
    )


def plan_image(recipe: Recipe, source: SourceRecord) -> list[RegionPlan]:
    """Plans of every version and region of one source record, in version then region order."""
    short_side = min(source.width, source.height)
    isp = set(source.isp_degradations) & set(ISP_FAMILIES)
    flags = source.isp_flags
    plans = []
    for version in recipe.versions:
        for index, region in enumerate(source.regions):
            region_flags = flags[index] if index < len(flags) else {}
            families = frozenset(f for f in isp if region_flags.get(f, True))
            plans.append(
                plan_region(recipe, source.tag, version, region.region_id, short_side, families)
            )
    return plans
