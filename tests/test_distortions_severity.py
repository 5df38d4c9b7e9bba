"""Severity raises the degradation: PSNR over levels, strict and nested weather."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from distortion_photos import PHOTOS, photo, psnr

from pandaset_build.config import vocab
from pandaset_build.distortions import apply, names

DEPICTQA_KEYS = [k for k in names() if k.split("/")[0] not in vocab.WEATHER_FAMILIES]
WEATHER_KEYS = [k for k in names() if k.split("/")[0] in vocab.WEATHER_FAMILIES]
SEVERITIES = range(1, len(vocab.SEVERITIES))


def weather_photo(name: str) -> np.ndarray:
    """Larger crops, so flakes and streaks span several pixels."""
    return photo(name, 120, 160)


@pytest.mark.parametrize("key", DEPICTQA_KEYS)
def test_mean_psnr_falls_with_every_level(key):
    table = np.array(
        [
            [
                psnr(photo(name), apply(photo(name), key, level, np.random.default_rng(3)))
                for name in PHOTOS
            ]
            for level in range(1, vocab.DEPICTQA_LEVELS + 1)
        ]
    )
    means = table.mean(axis=1)
    assert (np.diff(means) < 0).all(), f"{key}: mean PSNR per level {np.round(means, 2)}"


@pytest.mark.parametrize("key", WEATHER_KEYS)
@pytest.mark.parametrize("name", PHOTOS[:3])
def test_weather_is_strictly_worse_each_severity(key, name):
    image = weather_photo(name)
    scores = [psnr(image, apply(image, key, sev, np.random.default_rng(11))) for sev in SEVERITIES]
    assert (np.diff(scores) < -0.1).all(), f"{key} on {name}: {np.round(scores, 2)}"


@pytest.mark.parametrize("key", WEATHER_KEYS)
@pytest.mark.parametrize("seed", [0, 1])
def test_weather_is_nested(key, seed):
    image = weather_photo("coffee").astype(np.int64)
    changes = [
        np.abs(apply(image.astype(np.uint8), key, sev, np.random.default_rng(seed)) - image)
        for sev in SEVERITIES
    ]
    for lower, upper in itertools.pairwise(changes):
        assert (upper >= lower).all()
