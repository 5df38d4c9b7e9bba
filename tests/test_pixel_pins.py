"""Pixel hashes of the sub-types whose bytes must not move: on their own and through the stage path.

The pins in `pixel_pins.json` were computed from the renderer before the windowed random fields,
the shared whole-frame work and the fast PNG encoder: a refactor or another encoder that changes
one pixel of these sub-types fails here. They hash decoded pixels, never file bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from distortion_photos import params
from skimage import data
from skimage.segmentation import slic

from pandaset_build.config import vocab
from pandaset_build.distortions import get, names
from pandaset_build.render.frame import Frame
from pandaset_build.render.renderer import render_fast
from pandaset_build.store.images import decode_png, encode_png
from pandaset_build.store.records import RegionPlan

PINS = Path(__file__).with_name("pixel_pins.json")
# Everything but the sub-types whose random fields changed with the windowed draws (noise/*, glass,
# jitter) and the weather families, re-made with one atmosphere per version and calibrated
# severities; motion only draws a scalar from the Generator, so its pixels stay.
CHANGED_ON_PURPOSE = ("noise/", "blur/glass", "blur/jitter", "rain/", "snow/", "haze/")
PINNED = [k for k in names() if not k.startswith(CHANGED_ON_PURPOSE)]
SEED = 7


def digest(image: np.ndarray) -> str:
    """First 16 hex digits of the SHA-256 of shape and pixels."""
    header = json.dumps([list(image.shape), str(image.dtype)]).encode()
    return hashlib.sha256(header + np.ascontiguousarray(image).tobytes()).hexdigest()[:16]


def levels(key: str) -> range:
    top = len(vocab.SEVERITIES) - 1 if key.split("/")[0] in vocab.WEATHER_FAMILIES else 5
    return range(1, top + 1)


@cache
def photo() -> np.ndarray:
    """scikit-image's `chelsea` at half resolution, 150 x 226."""
    return np.ascontiguousarray(data.chelsea()[::2, ::2])


def subtype_outputs(key: str) -> Iterator[tuple[str, np.ndarray]]:
    """The sub-type at each level on the whole photo, seed 7."""
    for level in levels(key):
        out = get(key).fn(photo(), params(key, level), np.random.default_rng(SEED))
        yield f"{key}@{level}", out


@cache
def stage_frame() -> tuple[np.ndarray, np.ndarray]:
    """scikit-image's `coffee` (400 x 600) and about 20 SLIC regions."""
    image = data.coffee()
    labels = slic(image, n_segments=20, compactness=10, start_label=0)
    return image, labels


def region_plans(key: str, count: int) -> list[RegionPlan]:
    """Three regions in four degraded by `key`, levels cycling over minor/moderate/severe."""
    family, subtype = key.split("/")
    weather = family in vocab.WEATHER_FAMILIES
    plans = []
    for i in range(count):
        if i % 4 == 3:
            continue
        level = (1, 2, 3)[i % 3] if weather else (1, 3, 5)[i % 3]
        encoded = json.dumps(params(key, level), sort_keys=True)
        seed = 1000 + i
        plans.append(
            RegionPlan("pins", "mixed", i, family, subtype, "minor", level, encoded, seed, False)
        )
    return plans


def stage_outputs() -> Iterator[tuple[str, np.ndarray]]:
    """render_fast of every pinned sub-type on one frame (its caches shared, as in the stage),
    then a version mixing all of them, each through the PNG encoder and decoder."""
    image, labels = stage_frame()
    count = int(labels.max()) + 1
    masks = [labels == i for i in range(count)]
    boxes = []
    for mask in masks:
        ys, xs = np.nonzero(mask)
        boxes.append([xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1])
    frame = Frame(image=image, masks=masks, boxes=boxes)
    for key in PINNED:
        yield key, decode_png(encode_png(render_fast(frame, region_plans(key, count))))
    mixed = [
        plan
        for i, key in enumerate(PINNED)
        for plan in region_plans(key, count)
        if plan.region_id % len(PINNED) == i % count
    ]
    yield "mixed", decode_png(encode_png(render_fast(frame, mixed)))


@cache
def pins() -> dict[str, dict[str, str]]:
    return json.loads(PINS.read_text())


def test_pins_cover_every_pinned_sub_type():
    assert sorted(pins()["subtype"]) == sorted(
        f"{k}@{level}" for k in PINNED for level in levels(k)
    )
    assert sorted(pins()["stage"]) == sorted([*PINNED, "mixed"])


@pytest.mark.parametrize("key", PINNED)
def test_sub_type_pixels_are_pinned(key):
    for name, out in subtype_outputs(key):
        assert digest(out) == pins()["subtype"][name], name


@pytest.mark.slow
def test_stage_pixels_are_pinned():
    moved = [name for name, out in stage_outputs() if digest(out) != pins()["stage"][name]]
    assert not moved, f"pixels changed: {moved}"
