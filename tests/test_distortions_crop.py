"""Crop rendering (frame_shape, offset, margin, grid) equals the same crop of a full render."""

from __future__ import annotations

import numpy as np
import pytest
from distortion_photos import params, photo

from pandaset_build.config.vocab import WEATHER_FAMILIES as WEATHER
from pandaset_build.distortions import get, names
from pandaset_build.distortions.shared import Shared

FRAME = photo("rocket", 120, 160)
BOX = (37, 45, 30, 40)  # y, x, h, w of the kept area
SEED = 5
CROPPABLE = [k for k in names() if not get(k).full_frame]
WHOLE_FRAME = {"blur/zoom", "compression/jpeg2000", "pixelate/pixelate"}
READS_FRAME = {"blur/glass", "blur/jitter"}


def window(key: str, p: dict) -> tuple[slice, slice]:
    """The box widened by the margin, origin floored to the grid (what a renderer does)."""
    spec = get(key)
    y, x, h, w = BOX
    margin = spec.margin(p, FRAME.shape[:2])
    grid = spec.grid(p, FRAME.shape[:2]) if callable(spec.grid) else spec.grid
    top, left = max(0, y - margin) // grid * grid, max(0, x - margin) // grid * grid
    bottom, right = min(FRAME.shape[0], y + h + margin), min(FRAME.shape[1], x + w + margin)
    return slice(top, bottom), slice(left, right)


def test_full_frame_sub_types_are_the_documented_ones():
    assert {k for k in names() if get(k).full_frame} == WHOLE_FRAME


@pytest.mark.parametrize("key", CROPPABLE)
@pytest.mark.parametrize("level", [1, 3])
def test_crop_equals_the_crop_of_the_full_render(key, level):
    p = params(key, level)
    distance = (
        np.linspace(0, 1, FRAME.shape[1])[None, :] * np.linspace(1, 0.3, FRAME.shape[0])[:, None]
    )
    mask = np.zeros(FRAME.shape[:2], bool)
    mask[BOX[0] : BOX[0] + BOX[2], BOX[1] : BOX[1] + BOX[3]] = True
    fn = get(key).fn
    full = fn(FRAME, p, np.random.default_rng(SEED), stat_mask=mask, depth=distance)
    rows, cols = window(key, p)
    part = fn(
        FRAME[rows, cols],
        p,
        np.random.default_rng(SEED),
        stat_mask=mask[rows, cols],
        depth=distance[rows, cols],
        frame_shape=FRAME.shape[:2],
        offset=(rows.start, cols.start),
        frame=FRAME,
    )
    y, x, h, w = BOX
    inner = part[y - rows.start : y - rows.start + h, x - cols.start : x - cols.start + w]
    np.testing.assert_array_equal(inner, full[y : y + h, x : x + w])


RANDOM_WINDOWED = [k for k in CROPPABLE if get(k).random and k.split("/")[0] not in WEATHER]


@pytest.mark.parametrize("key", RANDOM_WINDOWED)
def test_random_fields_are_the_same_in_every_window(key):
    """Windows at the frame's edges, corners and odd places, every level: the same bytes."""
    height, width = FRAME.shape[:2]
    rng = np.random.default_rng(0)
    boxes = [(0, 0, 9, 13), (height - 7, width - 5, 7, 5), (0, width - 31, 50, 31)]
    boxes += [(int(rng.integers(0, height - 20)), int(rng.integers(0, width - 20)), 20, 20)] * 3
    for level in range(1, 6):
        p = params(key, level)
        full = get(key).fn(FRAME, p, np.random.default_rng(SEED))
        margin = get(key).margin(p, FRAME.shape[:2])
        for y, x, h, w in boxes:
            top, left = max(0, y - margin), max(0, x - margin)
            bottom, right = min(height, y + h + margin), min(width, x + w + margin)
            part = get(key).fn(
                FRAME[top:bottom, left:right],
                p,
                np.random.default_rng(SEED),
                frame_shape=FRAME.shape[:2],
                offset=(top, left),
                frame=FRAME,
            )
            inner = part[y - top : y - top + h, x - left : x - left + w]
            np.testing.assert_array_equal(inner, full[y : y + h, x : x + w], f"{level} {y, x}")


@pytest.mark.parametrize("key", sorted(READS_FRAME))
def test_shuffle_crops_need_the_frame(key):
    assert {k for k in names() if get(k).reads_frame} == READS_FRAME
    with pytest.raises(ValueError, match="frame="):
        get(key).fn(
            FRAME[:64, :64], params(key, 1), np.random.default_rng(0), frame_shape=FRAME.shape[:2]
        )


def test_haze_cap_prior_crop_with_margin():
    p = {**params("haze/haze", 2), "depth_source": "cap"}
    mask = np.zeros(FRAME.shape[:2], bool)
    mask[BOX[0] : BOX[0] + BOX[2], BOX[1] : BOX[1] + BOX[3]] = True
    full = get("haze/haze").fn(FRAME, p, np.random.default_rng(SEED), stat_mask=mask)
    rows, cols = window("haze/haze", p)
    part = get("haze/haze").fn(
        FRAME[rows, cols],
        p,
        np.random.default_rng(SEED),
        stat_mask=mask[rows, cols],
        frame_shape=FRAME.shape[:2],
        offset=(rows.start, cols.start),
    )
    y, x, h, w = BOX
    inner = part[y - rows.start : y - rows.start + h, x - cols.start : x - cols.start + w]
    np.testing.assert_array_equal(inner, full[y : y + h, x : x + w])


def test_jpeg_aligns_to_its_blocks():
    assert get("compression/jpeg").grid == 16
    assert get("compression/jpeg").margin(params("compression/jpeg", 1), FRAME.shape[:2]) == 16


@pytest.mark.parametrize("key", sorted(WHOLE_FRAME))
def test_whole_frame_sub_types_refuse_crops(key):
    with pytest.raises(ValueError, match="whole frames"):
        get(key).fn(
            FRAME[:64, :64], params(key, 1), np.random.default_rng(0), frame_shape=FRAME.shape[:2]
        )


@pytest.mark.parametrize("key", ["contrast_inc/scale", "contrast_dec/stretch"])
def test_statistics_on_a_crop_need_a_mask(key):
    spec = get(key)
    assert spec.statistic
    with pytest.raises(ValueError, match="stat_mask"):
        spec.fn(
            FRAME[:64, :64], params(key, 1), np.random.default_rng(0), frame_shape=FRAME.shape[:2]
        )
    with pytest.raises(ValueError, match="stat_mask"):
        spec.fn(
            FRAME,
            params(key, 1),
            np.random.default_rng(0),
            stat_mask=np.zeros(FRAME.shape[:2], bool),
        )


def test_statistic_flag_marks_the_contrast_and_weather_sub_types():
    """Contrast takes the region's mean; weather calibrates its amount on the region."""
    assert {k for k in names() if get(k).statistic} == {
        "contrast_inc/scale",
        "contrast_inc/stretch",
        "contrast_dec/scale",
        "contrast_dec/stretch",
        "rain/rain",
        "snow/snow",
        "haze/haze",
    }


def test_margins():
    shape = FRAME.shape[:2]
    assert get("blur/gaussian").margin(params("blur/gaussian", 5), shape) == 20
    assert get("blur/motion").margin(params("blur/motion", 5), shape) == 40  # taps i = 0..2r
    assert get("blur/glass").margin(params("blur/glass", 5), shape) == 6  # int(4 x 1.6 + 0.5)
    assert get("blur/jitter").margin(params("blur/jitter", 5), shape) == 0  # a gather
    assert get("blur/lens").margin(params("blur/lens", 1), shape) == 8
    assert get("blur/lens").margin({"radius": 12}, shape) == 12
    assert get("oversharpen/oversharpen").margin(params("oversharpen/oversharpen", 1), shape) == 2
    assert (
        get("noise/spatially_correlated").margin(params("noise/spatially_correlated", 1), shape)
        == 1
    )
    haze = params("haze/haze", 1)
    assert get("haze/haze").margin(haze, shape) == 11
    assert get("haze/haze").margin({**haze, "depth_source": "cap"}, shape) == 11 + 7
    assert get("rain/rain").margin(params("rain/rain", 3), shape) == 0


def test_crop_must_fit_the_frame():
    with pytest.raises(ValueError, match="does not fit"):
        get("blur/gaussian").fn(
            FRAME[:64, :64],
            {"sigma": 1},
            np.random.default_rng(0),
            frame_shape=(100, 100),
            offset=(40, 0),
        )


def test_zoom_levels_share_their_layers_with_the_same_bytes():
    zoom = get("blur/zoom").fn
    rng = np.random.default_rng
    alone = {lv: zoom(FRAME, params("blur/zoom", lv), rng(0)) for lv in range(1, 6)}
    for order in ([5, 3, 1, 4, 2], [1, 2, 3, 4, 5]):
        shared = Shared()
        for level in order:
            got = zoom(FRAME, params("blur/zoom", level), np.random.default_rng(0), shared=shared)
            np.testing.assert_array_equal(got, alone[level])


def test_glass_with_the_shared_first_gaussian_gives_the_same_bytes():
    p = params("blur/glass", 5)
    rows, cols = window("blur/glass", p)
    shared = Shared()
    outputs = []
    for _ in range(6):  # the windows add up to a frame: later calls use the whole-frame Gaussian
        outputs.append(
            get("blur/glass").fn(
                FRAME[rows, cols],
                p,
                np.random.default_rng(SEED),
                frame_shape=FRAME.shape[:2],
                offset=(rows.start, cols.start),
                frame=FRAME,
                shared=shared,
            )
        )
    assert shared.peek(("blur/glass", "gaussian", p["sigma"])) is not None
    for out in outputs[1:]:
        np.testing.assert_array_equal(out, outputs[0])
