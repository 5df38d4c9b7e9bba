"""Positional random fields and shuffle chains: numpy's Philox, exact distributions, windows."""

from __future__ import annotations

import numpy as np
import pytest
from distortion_photos import params, philox_words
from scipy import stats

from pandaset_build.distortions import get
from pandaset_build.distortions.fields import (
    normals,
    philox_block,
    poisson_cdf,
    poisson_counts,
    uniforms,
)
from pandaset_build.distortions.shared import Shared
from pandaset_build.distortions.shuffle import chain_ends, offsets, shuffle
from pandaset_build.distortions.window import Window

KEY = np.array([0x0123456789ABCDEF, 2**64 - 3], dtype=np.uint64)
FRAME = (240, 320)


def whole(shape: tuple[int, int] = FRAME) -> Window:
    return Window(shape, (0, 0), shape)


@pytest.mark.parametrize(("row", "col", "stream"), [(0, 1, 0), (7, 5, 0), (3, 0, 2), (0, 0, 1)])
def test_block_is_numpys_philox_at_the_pixel_counter(row, col, stream):
    block = np.empty(4, dtype=np.uint64)
    args = (np.uint64(col), np.uint64(row), np.uint64(stream), np.uint64(0))
    philox_block(*args, KEY[0], KEY[1], block)
    np.testing.assert_array_equal(block, philox_words(KEY, row, col, stream))


def test_a_window_draws_what_the_frame_draws_there():
    window = Window(FRAME, (37, 101), (50, 77))
    for field in (uniforms, normals):
        frame_field = field(KEY, whole(), 1, 3)
        np.testing.assert_array_equal(field(KEY, window, 1, 3), frame_field[37:87, 101:178])
    assert not np.array_equal(normals(KEY, whole(), 0, 3), normals(KEY, whole(), 1, 3))


def test_uniforms_are_uniform_and_independent():
    u = uniforms(KEY, whole(), 0, 4).reshape(-1, 4)
    for k in range(4):
        assert stats.kstest(u[:, k], "uniform").pvalue > 1e-3
    assert np.abs(np.corrcoef(u.T) - np.eye(4)).max() < 0.01


def test_normals_mean_variance_and_independence():
    z = normals(KEY, whole(), 0, 4)
    flat = z.reshape(-1, 4)
    n = flat.shape[0]
    assert np.abs(flat.mean(axis=0)).max() < 5 / np.sqrt(n)
    assert np.abs(flat.var(axis=0) - 1).max() < 5 * np.sqrt(2 / n)
    assert np.abs(np.corrcoef(flat.T) - np.eye(4)).max() < 0.01  # channels (Box-Muller pairs too)
    for k in range(4):
        assert stats.kstest(flat[:, k], "norm").pvalue > 1e-3
    horizontal = np.corrcoef(z[:, :-1, 0].ravel(), z[:, 1:, 0].ravel())[0, 1]
    vertical = np.corrcoef(z[:-1, :, 0].ravel(), z[1:, :, 0].ravel())[0, 1]
    assert abs(horizontal) < 0.01 and abs(vertical) < 0.01


@pytest.mark.parametrize("factor", [15.0, 80.0])
def test_poisson_mean_equals_variance_at_every_intensity(factor):
    levels = np.arange(256, dtype=np.uint8)
    image = np.broadcast_to(levels[None, :, None], (600, 256, 3)).copy()  # column = level
    counts = poisson_counts(KEY, Window((600, 256), (0, 0), (600, 256)), 0, image, factor)
    samples = counts.transpose(1, 0, 2).reshape(256, -1)  # per level, 1800 values
    rate = levels / 255.0 * factor
    n = samples.shape[1]
    assert (samples[0] == 0).all()
    mean, var = samples[1:].mean(axis=1), samples[1:].var(axis=1, ddof=1)
    assert (np.abs(mean - rate[1:]) < 5 * np.sqrt(rate[1:] / n)).all()
    var_error = 6 * rate[1:] * np.sqrt(2 / n) + 5 * np.sqrt(rate[1:] / n)  # se of var, small rates
    assert (np.abs(var - rate[1:]) < var_error).all()
    for level in (3, 128, 255):  # the whole law, not only two moments
        values, observed = np.unique(samples[level], return_counts=True)
        expected = stats.poisson.pmf(values, rate[level]) * n
        keep = expected > 5
        chi2 = ((observed[keep] - expected[keep]) ** 2 / expected[keep]).sum()
        assert stats.chi2.sf(chi2, keep.sum() - 1) > 1e-4


def test_poisson_table_is_a_cdf():
    cdf = poisson_cdf(80.0)
    assert (np.diff(cdf, axis=1) >= 0).all() and (cdf[:, -1] == 1).all()
    np.testing.assert_allclose(cdf[255, :200], stats.poisson.cdf(np.arange(200), 80.0), atol=1e-12)


def test_impulse_rates_and_per_channel_independence():
    image = np.full((400, 400, 3), 128, dtype=np.uint8)
    d = params("noise/impulse", 5)["amount"]
    out = get("noise/impulse").fn(image, {"amount": d}, np.random.default_rng(0))
    salt, pepper = (out == 255), (out == 0)
    n = salt[..., 0].size
    for c in range(3):
        assert abs(salt[..., c].mean() - d / 2) < 5 * np.sqrt(d / 2 / n)
        assert abs(pepper[..., c].mean() - d / 2) < 5 * np.sqrt(d / 2 / n)
    hit = salt | pepper
    both = (hit[..., 0] & hit[..., 1]).mean()
    assert abs(both - d * d) < 5 * np.sqrt(d * d / n)


@pytest.mark.parametrize("key", ["noise/gaussian_rgb", "noise/speckle"])
def test_gaussian_sub_types_match_the_reference_formula_in_law(key):
    """On a flat grey frame, the output's law equals that of the formula with numpy's normal."""
    image = np.full((300, 300, 3), 100, dtype=np.uint8)
    sigma = params(key, 3)["sigma"]
    got = get(key).fn(image, {"sigma": sigma}, np.random.default_rng(1)).astype(float)
    x = image / 255.0
    noise = np.random.default_rng(2).normal(0, sigma, image.shape)
    noisy = x + noise if key.endswith("rgb") else x + x * noise
    want = (np.clip(noisy, 0, 1) * 255).astype(np.uint8).astype(float)
    for c in range(3):
        assert stats.ks_2samp(got[..., c].ravel(), want[..., c].ravel()).pvalue > 1e-4
    assert abs(got.mean() - want.mean()) < 0.1 and abs(got.std() / want.std() - 1) < 0.01
    assert np.abs(np.corrcoef(got.reshape(-1, 3).T) - np.eye(3)).max() < 0.015


@pytest.mark.parametrize("shift", [1, 2, 3, 5])
def test_shuffle_offsets_are_uniform_on_minus_s_to_s_minus_1(shift):
    drawn = offsets(KEY, (120, 160), shift, 2)
    assert drawn.shape == (2, 120 - 2 * shift, 160 - 2 * shift, 2)
    values, counts = np.unique(drawn, return_counts=True)
    assert values.tolist() == list(range(-shift, shift))
    assert stats.chisquare(counts).pvalue > 1e-4
    variance = ((2 * shift) ** 2 - 1) / 12  # discrete uniform on 2s values
    assert abs(drawn.mean() + 0.5) < 5 * np.sqrt(variance / drawn.size)


@pytest.mark.parametrize("shift", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("passes", [1, 2])
def test_chain_ends_reproduce_the_sequential_loop_in_any_window(shift, passes):
    height, width = 90, 110
    coords = np.stack(np.mgrid[0:height, 0:width], axis=-1).astype(np.int32)
    image = np.concatenate([coords, np.zeros((height, width, 1), np.int32)], axis=-1)
    frame = shuffle(image, KEY, shift, passes)  # each pixel holds the coordinates it came from
    assert (frame[..., :2] != coords).any()
    rng = np.random.default_rng(shift * 10 + passes)
    windows = [((0, 0), (height, width)), ((0, 0), (7, 9)), ((height - 8, width - 6), (8, 6))]
    windows += [((int(rng.integers(0, 70)), int(rng.integers(0, 90))), (20, 20)) for _ in range(4)]
    for offset, shape in windows:
        rows, cols = chain_ends(KEY, Window((height, width), offset, shape), shift, passes)
        (top, left), (h, w) = offset, shape
        np.testing.assert_array_equal(rows, frame[top : top + h, left : left + w, 0])
        np.testing.assert_array_equal(cols, frame[top : top + h, left : left + w, 1])


def test_shared_rents_windows_until_they_add_up_to_a_frame():
    shared, made = Shared(), []

    def make() -> np.ndarray:
        made.append(1)
        return np.zeros(10)

    assert shared.frame_or_window("g", 40, 100, make) is None
    assert shared.frame_or_window("g", 50, 100, make) is None
    whole = shared.frame_or_window("g", 10, 100, make)
    assert whole is not None and shared.frame_or_window("g", 1, 100, make) is whole
    assert shared.get("g", make) is whole and shared.peek("g") is whole and len(made) == 1
    assert shared.frame_or_window("other", 100, 100, make) is not None and len(made) == 2


def test_shared_keeps_values_within_its_budget():
    shared = Shared(budget_bytes=100)
    big = shared.get("big", lambda: np.zeros(20))  # 160 bytes: computed, not kept
    assert big.shape == (20,) and shared.peek("big") is None
    assert shared.get("small", lambda: np.zeros(10)) is shared.peek("small")
    # a value bought by windows but not kept sends later windows back to rent
    assert shared.frame_or_window("w", 100, 100, lambda: np.zeros(20)) is not None
    assert shared.frame_or_window("w", 10, 100, lambda: np.zeros(20)) is None
