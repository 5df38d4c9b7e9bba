"""Seeded per-region assignment of family, sub-type, severity, level, parameters and draw seed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence

import numpy as np

from pandaset_build.config import vocab
from pandaset_build.config.recipe import SEVERITY_NAMES, Recipe
from pandaset_build.distortions import depth_tier, scale_params
from pandaset_build.store.records import RegionPlan, SourceRecord


def _tag_key(tag: str) -> int:
    return int.from_bytes(hashlib.sha256(tag.encode()).digest()[:8], "big")


def region_rng(seed: int, tag: str, version: str, region_id: int) -> np.random.Generator:
    """The Generator of one (image, version, region), independent of shards, workers and order."""
    return np.random.default_rng([seed, _tag_key(tag), vocab.VERSIONS.index(version), region_id])


def scene_seed(seed: int, tag: str, version: str) -> int:
    """The render seed every weather region of one (image, version) shares: one atmosphere
    (airlight, rain angle, streak and flake pools) per version, from a generator of its own."""
    rng = np.random.default_rng([seed, _tag_key(tag), vocab.VERSIONS.index(version), 2**32])
    return int(rng.integers(2**63))


def plan_region(
    recipe: Recipe,
    tag: str,
    version: str,
    region_id: int,
    frame_short_side: int,
    isp_folders: Mapping[str, Sequence[str]] | None = None,
    *,
    attempt: int = 0,
    haze_tier: str = "",
) -> RegionPlan:
    """Draw, in a fixed order: clean?, family (mixed only), sub-type, severity, render seed.

    `isp_folders` maps a family to the source's ISP images for this region, ordered by their
    measured change (least first): a region of that family keeps one of their pixels instead.
    `attempt` k > 0 is the visibility audit's k-th redraw: the same generator goes on to draw
    the sub-type and the render seed again k times (clean?, family and severity stay). Weather
    regions take the version's scene seed (`scene_seed`) instead of their own; haze regions
    record `haze_tier`, the record's depth tier.
    """
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
    for _ in range(attempt):
        subtype = subtypes[int(rng.integers(len(subtypes)))]
        seed = int(rng.integers(2**63))
    if family in vocab.WEATHER_FAMILIES:
        seed = scene_seed(recipe.seed, tag, version)
    tier = haze_tier if family == "haze" else ""
    level = recipe.assignment.level(family, severity)
    key = f"{family}/{subtype}"
    if isp_folders and isp_folders.get(family):
        folder = isp_folder(isp_folders[family], severity, seed)
        return RegionPlan(
            tag, version, region_id, family, "isp", severity, level, "{}", seed, True, folder
        )
    params = recipe.distortion_params(key, level)
    if recipe.pixel_scale == "short_side_224":
        params = scale_params(key, params, frame_short_side)
    encoded = json.dumps(params, sort_keys=True)
    return RegionPlan(
        tag,
        version,
        region_id,
        family,
        subtype,
        severity,
        level,
        encoded,
        seed,
        False,
        depth_tier=tier,
    )


def isp_folder(ordered: Sequence[str], severity: str, seed: int) -> str:
    """The ISP folder of a severity: one of the matching third of the folders ordered by
    measured change (minor: the least changed third), chosen by the region's render seed."""
    n, third = len(ordered), SEVERITY_NAMES.index(severity)
    low = third * n // len(SEVERITY_NAMES)
    high = max((third + 1) * n // len(SEVERITY_NAMES), low + 1)
    group = ordered[low:high]
    return group[seed % len(group)]


def region_isp_folders(source: SourceRecord, index: int) -> dict[str, list[str]]:
    """Family -> the source's ISP folders for region `index`, least measured change first
    (ties by folder name); only families the region's ISP flags allow."""
    flags = source.isp_flags[index] if index < len(source.isp_flags) else {}
    out: dict[str, list[tuple[float, str]]] = {}
    for image in source.isp_images:
        if flags.get(image["family"], True):
            out.setdefault(image["family"], []).append((image["change"][index], image["folder"]))
    return {family: [folder for _, folder in sorted(pairs)] for family, pairs in out.items()}


def plan_image(recipe: Recipe, source: SourceRecord) -> list[RegionPlan]:
    """Plans of every version and region of one source record, in version then region order."""
    short_side = min(source.width, source.height)
    isp = [region_isp_folders(source, index) for index in range(len(source.regions))]
    tier = record_depth_tier(recipe, source)
    plans = []
    for version in recipe.versions:
        for index, region in enumerate(source.regions):
            plans.append(
                plan_region(
                    recipe,
                    source.tag,
                    version,
                    region.region_id,
                    short_side,
                    isp[index],
                    haze_tier=tier,
                )
            )
    return plans


def record_depth_tier(recipe: Recipe, source: SourceRecord) -> str:
    """The haze depth tier a source record's haze regions use (`depth_tier`)."""
    return depth_tier(recipe.distortion_params("haze/haze", 1), source.depth_path)


def replan(recipe: Recipe, source: SourceRecord, plan: RegionPlan, attempt: int) -> RegionPlan:
    """The audit's `attempt`-th redraw of a region's plan (see `plan_region`)."""
    return plan_region(
        recipe,
        plan.tag,
        plan.version,
        plan.region_id,
        min(source.width, source.height),
        region_isp_folders(source, plan.region_id),
        attempt=attempt,
        haze_tier=plan.depth_tier,
    )
