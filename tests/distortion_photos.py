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
