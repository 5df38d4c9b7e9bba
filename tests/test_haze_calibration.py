"""Haze severity means what it says: each region's mean transmission is its severity's target,
whatever the depth tier; region scores fall with severity; far layout hazes more."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from depth_models import random_estimator
from PIL import Image
from scipy import optimize
from weather_scenes import WEATHER, params, render_regions, scene, scenes

from pandaset_build.distortions import haze_distance
from pandaset_build.distortions.haze import calibrate_beta
from pandaset_build.distortions.visibility import grey

TIERS = ("file", "model", "layout")
TARGETS = [params("haze/haze", severity)["transmission"] for severity in (1, 2, 3)]


def depth_file(tmp_path: Path, shape: tuple[int, int]) -> Path:
    """A user's 16-bit depth map (bright = near): a tilted plane with a near blob."""
    height, width = shape
    yy, xx = np.mgrid[0:height, 0:width] / max(shape)
    near = 0.55 * yy + 0.15 * xx + 0.3 * np.exp(-((yy - 0.5) ** 2 + (xx - 0.4) ** 2) / 0.02)
    path = tmp_path / "depth.png"
    Image.fromarray(np.round(near / near.max() * 65535).astype(np.uint16)).save(path)
    return path


def tier_depth(tier: str, name: str, tmp_path: Path) -> np.ndarray:
    """The full-frame distance map of a demo photo under a depth tier."""
    s = scene(name)
    knobs = {**params("haze/haze", 1), "depth_source": tier}
    if tier == "file":
        return haze_distance(s.image, knobs, depth_file(tmp_path, s.image.shape[:2]))
    if tier == "model":
        return haze_distance(s.image, knobs, None, estimator=random_estimator())
    return s.layout_depth()


def measured_transmission(
    masks, boxes, severities, depth: np.ndarray, seed: int, shape: tuple[int, int]
) -> np.ndarray:
    """Per-pixel t read off the rendering: a white frame gives t + A (1 - t), a black one
    A (1 - t), with the same scene draws; their difference is t (to 1/255)."""
    white = np.full((*shape, 3), 255, np.uint8)
    black = np.zeros_like(white)
    lit = render_regions(white, masks, boxes, "haze/haze", severities, seed, depth)
    dark = render_regions(black, masks, boxes, "haze/haze", severities, seed, depth)
    return (grey(lit) - grey(dark)) / 255.0


@pytest.mark.slow
@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("name", ["astronaut", "chelsea", "coffee", "rocket"])
def test_every_region_meets_its_mean_transmission_target(tier, name, tmp_path):
    s = scene(name)
    depth = tier_depth(tier, name, tmp_path)
    assert depth.std() > 0.05  # a map with structure, so the calibration has work to do
    for severity, target in zip((1, 2, 3), TARGETS, strict=True):
        for index, (mask, box) in enumerate(zip(s.masks, s.boxes, strict=True)):
            t = measured_transmission([mask], [box], [severity], depth, 8, s.image.shape[:2])
            assert abs(t[mask].mean() - target) <= 0.02, f"region {index}, severity {severity}"


def test_targets_strictly_decrease_from_minor_to_severe():
    assert TARGETS[0] > TARGETS[1] > TARGETS[2]


def region_psnr(clean: np.ndarray, rendered: np.ndarray, mask: np.ndarray) -> float:
    error = ((rendered.astype(float) - clean.astype(float)) ** 2)[mask].mean()
    return float(10 * np.log10(255.0**2 / max(error, 1e-12)))


@pytest.mark.slow
@pytest.mark.parametrize("key", WEATHER)
def test_region_psnr_falls_strictly_with_severity(key):
    for s in scenes():
        depth = s.layout_depth() if key == "haze/haze" else None
        for index, (mask, box) in enumerate(zip(s.masks, s.boxes, strict=True)):
            scores = [
                region_psnr(
                    s.image, render_regions(s.image, [mask], [box], key, [sev], 2, depth), mask
                )
                for sev in (1, 2, 3)
            ]
            assert scores[0] > scores[1] > scores[2], f"{s.name} region {index}: {scores}"


@pytest.mark.slow
@pytest.mark.parametrize("tier", TIERS)
def test_haze_region_psnr_falls_strictly_with_severity_for_every_tier(tier, tmp_path):
    for s in scenes():
        depth = tier_depth(tier, s.name, tmp_path)
        for index, (mask, box) in enumerate(zip(s.masks, s.boxes, strict=True)):
            scores = [
                region_psnr(
                    s.image,
                    render_regions(s.image, [mask], [box], "haze/haze", [sev], 2, depth),
                    mask,
                )
                for sev in (1, 2, 3)
            ]
            assert scores[0] > scores[1] > scores[2], f"{s.name} region {index}: {scores}"


@pytest.mark.slow
@pytest.mark.parametrize("key", WEATHER)
def test_region_ssim_falls_strictly_with_severity(key):
    """SSIM (pyiqa) of each region's box, degraded inside the mask, clean around it.

    (FSIM is not used here: on a flat dark region, e.g. coffee's wall, it stops falling once
    haze passes t = 0.6, at about 0.89, although SSIM and PSNR keep falling.)
    """
    import pyiqa

    metric = pyiqa.create_metric("ssim", device="cpu")

    def tensor(image: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].float() / 255.0

    for s in scenes():
        depth = s.layout_depth() if key == "haze/haze" else None
        for index, (mask, box) in enumerate(zip(s.masks, s.boxes, strict=True)):
            x, y, w, h = box
            if min(w, h) < 32:
                continue
            crop = (slice(y, y + h), slice(x, x + w))
            scores = []
            for severity in (1, 2, 3):
                out = render_regions(s.image, [mask], [box], key, [severity], 2, depth)
                with torch.no_grad():
                    scores.append(float(metric(tensor(out[crop]), tensor(s.image[crop]))))
            assert scores[0] > scores[1] > scores[2], f"{s.name} region {index}: {scores}"


def test_the_sky_hazes_more_than_the_foreground_under_the_layout_prior():
    """Haze on the whole rocket frame: the sky (far) keeps less light than the launch pad."""
    s = scene("rocket")
    names = [region.name for region in s.regions]
    sky = s.masks[names.index("sky-other-merged")]
    foreground = np.zeros_like(sky)
    for region, mask in zip(s.regions, s.masks, strict=True):
        if region.isthing or region.name in ("platform", "light"):
            foreground |= mask
    whole = np.ones_like(sky)
    for severity, target in zip((1, 2, 3), TARGETS, strict=True):
        t = measured_transmission(
            [whole],
            [(0, 0, sky.shape[1], sky.shape[0])],
            [severity],
            s.layout_depth(),
            3,
            sky.shape,
        )
        assert abs(t.mean() - target) <= 0.02
        assert t[sky].mean() < t[foreground].mean() - 0.1


def test_a_landscape_hazes_from_the_far_mountains_down_to_the_near_grass():
    """Sky, mountain, grass with a person standing on it: t rises toward the viewer."""
    height, width = 240, 320
    rows = np.arange(height)[:, None].repeat(width, axis=1)
    sky, mountain = rows < 80, (rows >= 80) & (rows < 120)
    person = np.zeros((height, width), bool)
    person[130:200, 150:170] = True
    grass = ~(sky | mountain | person)
    regions = [
        {"mask": m, "name": n, "isthing": t}
        for m, n, t in [
            (sky, "sky-other-merged", False),
            (mountain, "mountain-merged", False),
            (grass, "grass-merged", False),
            (person, "person", True),
        ]
    ]
    knobs = {**params("haze/haze", 2), "depth_source": "layout"}
    from pandaset_build.distortions import LayoutRegion, layout_distance

    depth = layout_distance(
        (height, width),
        [LayoutRegion(r["mask"], r["name"], r["isthing"]) for r in regions],
        knobs["layout"]["far"],
    )
    whole = np.ones((height, width), bool)
    t = measured_transmission([whole], [(0, 0, width, height)], [2], depth, 1, (height, width))
    near_grass = grass & (rows >= 200)
    means = [t[m].mean() for m in (sky, mountain, person, near_grass)]
    assert means == sorted(means), means


@pytest.mark.parametrize("seed", range(5))
def test_beta_solves_the_mean_transmission_like_a_bracketing_solver(seed):
    rng = np.random.default_rng(seed)
    shape = rng.uniform(0.2, 1.0, 5000) ** rng.uniform(0.5, 3)
    for target in (0.9, 0.6, 0.3, 0.1):
        beta = calibrate_beta(shape, target)
        reference = optimize.brentq(
            lambda b, t=target: np.exp(-b * shape).mean() - t, 0, 200, xtol=1e-13
        )
        assert beta == pytest.approx(reference, rel=1e-9)


def test_a_far_neighbour_leaves_no_halo_inside_a_near_region():
    """The depth blur stays inside the region: a rocket of one distance hazes evenly, and at
    one severity it matches the sky around it, although the sky is far."""
    s = scene("rocket")
    rocket, sky = s.masks[3], s.masks[0]
    depth = s.layout_depth()
    assert np.ptp(depth[rocket]) == 0 and depth[sky].min() == 1.0
    t = measured_transmission([rocket, sky], [s.boxes[3], s.boxes[0]], [3, 3], depth, 5, sky.shape)
    assert t[rocket].std() < 0.005
    assert abs(t[rocket].mean() - t[sky].mean()) < 0.01
