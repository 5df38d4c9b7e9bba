"""Registry, `apply` input rules, seeding, `scale_params` and `haze_distance`."""

from __future__ import annotations

import numpy as np
import pytest
from distortion_photos import params, photo
from PIL import Image

from pandaset_build.config import vocab
from pandaset_build.config.recipe import default_recipe
from pandaset_build.distortions import (
    UnknownDistortionError,
    apply,
    get,
    haze_distance,
    names,
    scale_params,
)
from pandaset_build.errors import BadInput

IMG = photo("chelsea", 64, 72)
RANDOM = [k for k in names() if get(k).random]


def test_names_are_the_35_vocabulary_keys_in_order():
    assert names() == vocab.subtype_keys()
    assert len(names()) == 35


def test_unknown_key_suggests_the_closest():
    with pytest.raises(UnknownDistortionError, match="blur/gaussian"):
        get("blur/gausian")


def test_random_flag():
    assert set(RANDOM) == {
        "blur/motion",
        "blur/glass",
        "blur/jitter",
        *(f"noise/{s}" for s in vocab.SUBTYPES["noise"]),
        "rain/rain",
        "snow/snow",
        "haze/haze",
    }


@pytest.mark.parametrize(
    ("image", "level", "message"),
    [
        (IMG.astype(np.float32), 1, "uint8"),
        (np.zeros((40, 40, 4), np.uint8), 1, "HxW"),
        (np.zeros((31, 64, 3), np.uint8), 1, "at least 32"),
        (IMG, 0, "1..5"),
        (IMG, 6, "1..5"),
        (IMG, 2.0, "1..5"),
    ],
)
def test_apply_checks_depictqa_input_rules(image, level, message):
    with pytest.raises(ValueError, match=message):
        apply(image, "blur/gaussian", level, np.random.default_rng(0))


def test_weather_levels_are_severities():
    with pytest.raises(ValueError, match=r"1\.\.3"):
        apply(IMG, "rain/rain", 4, np.random.default_rng(0))


def test_grey_images_are_stacked():
    grey = IMG[:, :, 0]
    want = apply(np.stack([grey] * 3, -1), "blur/lens", 2, np.random.default_rng(0))
    np.testing.assert_array_equal(apply(grey, "blur/lens", 2, np.random.default_rng(0)), want)
    np.testing.assert_array_equal(
        apply(grey[:, :, None], "blur/lens", 2, np.random.default_rng(0)), want
    )


def test_apply_uses_the_recipe_and_its_pixel_scale():
    recipe = default_recipe().model_copy(update={"pixel_scale": "short_side_224"})
    scaled = scale_params("blur/motion", params("blur/motion", 4), min(IMG.shape[:2]))
    want = get("blur/motion").fn(IMG, scaled, np.random.default_rng(2))
    np.testing.assert_array_equal(
        apply(IMG, "blur/motion", 4, np.random.default_rng(2), recipe=recipe), want
    )


@pytest.mark.parametrize("key", RANDOM)
def test_all_draws_come_from_the_generator(key):
    level = 2
    np.random.seed(1)
    first = apply(IMG, key, level, np.random.default_rng(42))
    np.random.seed(2)
    again = apply(IMG, key, level, np.random.default_rng(42))
    np.testing.assert_array_equal(first, again)
    other = apply(IMG, key, level, np.random.default_rng(43))
    assert not np.array_equal(first, other)


@pytest.mark.parametrize("key", [k for k in names() if not get(k).random])
def test_deterministic_sub_types_draw_nothing(key):
    rng = np.random.default_rng(0)
    before = rng.bit_generator.state
    apply(IMG, key, 3, rng)
    assert rng.bit_generator.state == before


def test_scale_params_short_side_224():
    k_half = 336  # k = 1.5: halves round away from zero
    assert scale_params("blur/motion", {"radius": 5, "sigma": 3}, k_half) == {
        "radius": 8,
        "sigma": 4.5,
    }
    assert scale_params("blur/lens", {"radius": 3}, k_half) == {"radius": 5}
    assert scale_params("blur/gaussian", {"sigma": 2}, 448) == {"sigma": 4.0}
    glass = {"sigma": 0.7, "shift": 1, "passes": 2}
    assert scale_params("blur/glass", glass, k_half) == {
        "sigma": pytest.approx(1.05),
        "shift": 2,
        "passes": 2,
    }
    assert scale_params("blur/jitter", {"shift": 1}, 64) == {"shift": 1}
    assert scale_params("pixelate/pixelate", {"factor": 0.5}, 448) == {"factor": 0.25}
    for key in ("noise/gaussian_rgb", "blur/zoom", "compression/jpeg", "oversharpen/oversharpen"):
        assert scale_params(key, {"x": 1}, 448) == {"x": 1}
    assert scale_params("blur/lens", {"radius": 8}, 448) == {"radius": 16}


def test_haze_distance_sources(tmp_path):
    knobs = params("haze/haze", 1)
    h, w = IMG.shape[:2]
    no_regions = haze_distance(IMG, knobs, None)
    np.testing.assert_allclose(no_regions[:, 0], np.linspace(1, 0, h))  # the prior's ramp
    cap = haze_distance(IMG, {**knobs, "depth_source": "cap"}, None)
    assert cap.shape == (h, w) and cap.min() >= 0 and cap.max() <= 1 and cap.std() > 0
    depth = np.tile(np.linspace(0, 255, w).astype(np.uint8), (h, 1))
    Image.fromarray(depth).save(tmp_path / "d8.png")
    np.testing.assert_allclose(haze_distance(IMG, knobs, tmp_path / "d8.png"), 1 - depth / 255.0)
    Image.fromarray(depth.astype(np.uint16) * 257).save(tmp_path / "d16.png")
    np.testing.assert_allclose(haze_distance(IMG, knobs, tmp_path / "d16.png"), 1 - depth / 255.0)
    np.save(tmp_path / "df.npy", depth[: h // 2, : w // 2].astype(np.float32) * 3 + 7)
    far_is_bright = {**knobs, "depth_source": "file", "depth_near_is_bright": False}
    resized = haze_distance(IMG, far_is_bright, tmp_path / "df.npy")
    assert resized.shape == (h, w) and resized.min() >= 0 and resized.max() <= 1
    with pytest.raises(ValueError, match="no depth map"):
        haze_distance(IMG, {**knobs, "depth_source": "file"}, None)
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(BadInput, match="cannot read"):
        haze_distance(IMG, knobs, tmp_path / "bad.png")
    ramp = haze_distance(IMG, {**knobs, "depth_source": "ramp"}, tmp_path / "d8.png")
    np.testing.assert_allclose(ramp[:, 0], np.linspace(1, 0, h))
    constant = haze_distance(
        IMG, {**knobs, "depth_source": "constant", "depth_constant": 0.3}, None
    )
    assert (constant == 0.3).all()
