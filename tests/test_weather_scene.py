"""One atmosphere per version: shared angle and airlight, uniform and continuous streaks,
translucent rain on white, nested severities and a visible change in every demo region."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import ndimage
from weather_scenes import (
    WEATHER,
    box_of,
    params,
    render_full_frame,
    render_regions,
    scene,
    scenes,
)

from pandaset_build.distortions import get, mean_abs_change
from pandaset_build.distortions.visibility import grey

MIXED = [1, 2, 3]


def mixed(count: int) -> list[int]:
    """Severities minor, moderate, severe, minor, ... over a scene's regions."""
    return [MIXED[i % 3] for i in range(count)]


def depth_for(key: str, name: str) -> np.ndarray | None:
    return scene(name).layout_depth() if key == "haze/haze" else None


@pytest.mark.slow
@pytest.mark.parametrize("key", WEATHER)
@pytest.mark.parametrize("name", ["astronaut", "chelsea", "coffee", "rocket"])
def test_window_path_equals_the_full_frame_reference(key, name):
    s = scene(name)
    depth = depth_for(key, name)
    severities = mixed(len(s.masks))
    fast = render_regions(s.image, s.masks, s.boxes, key, severities, 4, depth)
    np.testing.assert_array_equal(
        fast, render_full_frame(s.image, s.masks, key, severities, 4, depth)
    )


# ------------------------------------------------------------------------- rain geometry


def streak_angle(clean: np.ndarray, rendered: np.ndarray, mask: np.ndarray) -> tuple[float, int]:
    """Streak direction (degrees from vertical, + toward the right) measured from the pixels.

    The change divided by the colour gap (C - J) recovers alpha R where the gap is large; the
    structure tensor of that field gives the dominant gradient direction, normal to the streaks.
    Returns the angle and the number of pixels it was measured on.
    """
    colour = np.asarray(params("rain/rain", 1)["colour"]) * 255
    gap = grey(colour) - grey(clean)
    usable = np.abs(gap) > 25
    field = np.where(usable, (grey(rendered) - grey(clean)) / np.where(usable, gap, 1), 0.0)
    field = ndimage.gaussian_filter(field, 1.0)
    gy, gx = ndimage.sobel(field, axis=0), ndimage.sobel(field, axis=1)
    inner = ndimage.binary_erosion(mask & usable, iterations=3)
    jxx, jyy, jxy = (gx * gx)[inner].sum(), (gy * gy)[inner].sum(), (gx * gy)[inner].sum()
    normal = 0.5 * math.atan2(2 * jxy, jxx - jyy)
    return (math.degrees(-normal) + 90) % 180 - 90, int(inner.sum())


def region_angles(name: str, seeds_of_regions: list[int]) -> list[float]:
    s = scene(name)
    severities = mixed(len(s.masks))
    out = s.image.copy()
    for mask, box, severity, seed in zip(
        s.masks, s.boxes, severities, seeds_of_regions, strict=True
    ):
        one = render_regions(s.image, [mask], [box], "rain/rain", [severity], seed)
        out[mask] = one[mask]
    measured = [streak_angle(s.image, out, mask) for mask in s.masks]
    return [angle for angle, pixels in measured if pixels >= 2000]


@pytest.mark.parametrize("name", ["astronaut", "chelsea", "coffee", "rocket"])
@pytest.mark.parametrize("seed", [0, 2, 3])
def test_every_region_of_a_version_shows_one_rain_angle(name, seed):
    angles = region_angles(name, [seed] * len(scene(name).masks))
    assert len(angles) >= 4
    assert max(angles) - min(angles) <= 5.0, np.round(angles, 1)
    # the measurement sees the angle: versions differ by more than regions of one version
    drawn = np.random.default_rng(seed).uniform(-20, 20)  # the first scene draw
    assert abs(float(np.median(angles)) - drawn) <= 2.5


def test_the_angle_measurement_tells_per_region_draws_apart():
    """Control: with one generator per region (the old behaviour) the angles spread widely."""
    count = len(scene("coffee").masks)
    angles = region_angles("coffee", list(range(100, 100 + count)))
    assert max(angles) - min(angles) > 10.0


def flat(height: int = 480, width: int = 640, level: int = 90) -> np.ndarray:
    return np.full((height, width, 3), level, np.uint8)


def edge_coverage(key: str, severity: int, seeds: range) -> tuple[float, float, float]:
    """Mean over scenes of the changed share in the top, left and right tenths of a flat frame,
    each over the share in the rest (one scene holds a few hundred elements, so average)."""
    image = flat()
    tenth_rows, tenth_cols = image.shape[0] // 10, image.shape[1] // 10
    ratios = []
    for seed in seeds:
        out = get(key).fn(image, params(key, severity), np.random.default_rng(seed))
        changed = (out != image).any(axis=2)
        middle = changed[:, tenth_cols:-tenth_cols].mean()
        ratios.append(
            (
                changed[:tenth_rows].mean() / changed[tenth_rows:].mean(),
                changed[:, :tenth_cols].mean() / middle,
                changed[:, -tenth_cols:].mean() / middle,
            )
        )
    return tuple(np.mean(ratios, axis=0))


@pytest.mark.parametrize("key", ["rain/rain", "snow/snow"])
@pytest.mark.parametrize("severity", [1, 2, 3])
def test_coverage_is_uniform_up_to_the_frame_edges(key, severity):
    """Starts cover the area above and beside the frame, so the top tenth is as rainy."""
    for ratio in edge_coverage(key, severity, range(8)):
        assert abs(ratio - 1) <= 0.2


@pytest.mark.parametrize("key", ["rain/rain", "snow/snow"])
@pytest.mark.parametrize("severity", [1, 2, 3])
def test_elements_run_on_across_neighbouring_regions_of_one_severity(key, severity):
    """Two halves rendered as two regions equal the frame rendered as one: no seam."""
    image = flat(240, 320)
    left = np.zeros(image.shape[:2], bool)
    left[:, :150] = True
    masks = [left, ~left]
    halves = render_regions(image, masks, [box_of(m) for m in masks], key, [severity] * 2, 9)
    whole = render_regions(image, [np.ones_like(left)], [(0, 0, 320, 240)], key, [severity], 9)
    assert (halves != image).any()
    np.testing.assert_array_equal(halves, whole)


def test_severe_rain_on_white_is_a_translucent_streak():
    p = params("rain/rain", 3)
    colour = np.asarray(p["colour"]) * 255
    white = np.full((240, 320, 3), 255, np.uint8)
    out = get("rain/rain").fn(white, p, np.random.default_rng(5)).astype(float)
    assert mean_abs_change(white, out.astype(np.uint8)) >= p["min_change"] - 1
    # the wall shows through the densest core: never darker than (1 - alpha) J + alpha C
    floor = (1 - p["alpha"]) * 255 + p["alpha"] * colour
    assert (out >= np.floor(floor) - 1).all()
    # near-white texture: no streak clips to 255, and the cores keep the texture
    rng = np.random.default_rng(0)
    wall = (236 + rng.integers(-8, 9, (240, 320, 1))).repeat(3, axis=2).astype(np.uint8)
    got = get("rain/rain").fn(wall, p, np.random.default_rng(5))
    changed = (got != wall).any(axis=2)
    assert changed.mean() > 0.05
    assert not (got[changed] == 255).any()
    change = np.abs(grey(got) - grey(wall))
    cores = change >= np.quantile(change[changed], 0.9)
    assert np.corrcoef(grey(got)[cores], grey(wall)[cores])[0, 1] > 0.5


# --------------------------------------------------------------------- shared atmosphere


def test_every_haze_region_of_a_version_shares_one_airlight():
    """Black and white frames give A = I_black / (1 - t) with t = I_white - I_black per pixel."""
    s = scene("rocket")
    depth = s.layout_depth()
    black = np.zeros_like(s.image)
    white = np.full_like(s.image, 255)
    severities = [3] * len(s.masks)
    dark = render_regions(black, s.masks, s.boxes, "haze/haze", severities, 6, depth) / 255.0
    bright = render_regions(white, s.masks, s.boxes, "haze/haze", severities, 6, depth) / 255.0
    veil = 1 - (bright - dark)
    airlights = []
    for mask in s.masks:
        usable = mask & (veil.min(axis=2) > 0.3)
        if usable.sum() > 500:
            airlights.append(np.median(dark[usable] / veil[usable], axis=0))
    airlights = np.array(airlights)
    assert len(airlights) >= 3
    assert np.ptp(airlights, axis=0).max() <= 0.01
    assert airlights.min() >= params("haze/haze", 1)["airlight_range"][0] - 0.03


# ---------------------------------------------------------------- nesting and visibility


@pytest.mark.slow
@pytest.mark.parametrize("key", WEATHER)
@pytest.mark.parametrize("seed", [0, 1])
def test_severities_are_nested_for_every_demo_region(key, seed):
    for s in scenes():
        depth = s.layout_depth() if key == "haze/haze" else None
        for mask, box in zip(s.masks, s.boxes, strict=True):
            changes = [
                np.abs(
                    render_regions(s.image, [mask], [box], key, [severity], seed, depth).astype(int)
                    - s.image
                )
                for severity in MIXED
            ]
            for lower, upper in itertools.pairwise(changes):
                assert (upper >= lower).all()
                assert (upper.any(axis=2) >= lower.any(axis=2)).all()


@pytest.mark.slow
@pytest.mark.parametrize("key", WEATHER)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_demo_region_changes_visibly_at_minor(key, seed):
    """Mean grey-level change >= 1 in every region at the lowest severity, whatever its content."""
    for s in scenes():
        depth = s.layout_depth() if key == "haze/haze" else None
        out = render_regions(s.image, s.masks, s.boxes, key, [1] * len(s.masks), seed, depth)
        for index, mask in enumerate(s.masks):
            change = mean_abs_change(s.image, out, mask)
            assert change >= 1.0, f"{s.name} region {index}: {change:.2f}"
