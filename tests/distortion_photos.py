"""Small crops of scikit-image's bundled photos for the distortion tests."""

from __future__ import annotations

from functools import cache

import numpy as np
from skimage import data

from pandaset_build.config.recipe import default_recipe

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")


@cache
def photo(name: str, height: int = 80, width: int = 96) -> np.ndarray:
    """A height x width crop from the centre of the photo at half resolution (read-only)."""
    full = getattr(data, name)()[::2, ::2]
    top, left = (full.shape[0] - height) // 2, (full.shape[1] - width) // 2
    crop = np.ascontiguousarray(full[top : top + height, left : left + width])
    crop.setflags(write=False)
    return crop


def params(key: str, level: int) -> dict:
    """The default recipe's parameters of a sub-type at a level (weather: severity)."""
    return default_recipe().distortion_params(key, level)


def psnr(reference: np.ndarray, test: np.ndarray) -> float:
    mse = np.mean((reference.astype(np.float64) - test.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-12)))


def assert_close(got: np.ndarray, want: np.ndarray, tol: int = 1, exact: float = 0.99) -> None:
    """Equal within `tol` grey levels everywhere and exactly equal on `exact` of the values."""
    assert got.shape == want.shape and got.dtype == np.uint8
    diff = np.abs(got.astype(np.int64) - np.asarray(want, dtype=np.int64))
    assert diff.max() <= tol, f"max difference {diff.max()}"
    assert np.mean(diff == 0) >= exact, f"only {np.mean(diff == 0):.4f} exactly equal"


def field_key(seed: int) -> np.ndarray:
    """The key a random field takes: the first draw of default_rng(seed), two uint64 words."""
    return np.random.default_rng(seed).integers(0, 2**64, size=2, dtype=np.uint64)


def philox_words(key: np.ndarray, row: int, col: int, stream: int) -> np.ndarray:
    """The four 64-bit words of numpy's Philox4x64 at the counter (col, row, stream, 0).

    numpy increments its counter before each block, so it is started one below."""
    counter = (col + (row << 64) + (stream << 128) - 1) % (1 << 256)
    words = [(counter >> (64 * i)) & (2**64 - 1) for i in range(4)]
    return np.random.Philox(key=key, counter=np.array(words, dtype=np.uint64)).random_raw(4)


def philox_uniforms(key: np.ndarray, shape: tuple[int, int], stream: int = 0) -> np.ndarray:
    """(h, w, 4) uniforms in [0, 1) of a frame from (0, 0): numpy's 53-bit conversion."""
    words = np.array(
        [[philox_words(key, r, c, stream) for c in range(shape[1])] for r in range(shape[0])]
    )
    return (words >> np.uint64(11)) * 2.0**-53


def box_muller(u: np.ndarray) -> np.ndarray:
    """(h, w, 4) uniforms -> (h, w, 3) normals: pairs (u0, u1) and (u2, u3), cos then sin."""
    r1, r2 = np.sqrt(-2 * np.log(1 - u[..., 0])), np.sqrt(-2 * np.log(1 - u[..., 2]))
    return np.stack(
        [r1 * np.cos(2 * np.pi * u[..., 1]), r1 * np.sin(2 * np.pi * u[..., 1]),
         r2 * np.cos(2 * np.pi * u[..., 3])], axis=-1,
    )  # fmt: skip
