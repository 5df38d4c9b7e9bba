"""DepictQA's local pixel shuffle (glass and jitter blur): copy-not-swap, sequential, seeded."""

from __future__ import annotations

import numpy as np
from numba import njit


def draw_offsets(
    rng: np.random.Generator, shape: tuple[int, int], shift: int, passes: int
) -> np.ndarray:
    """(dx, dy) in [-s, s-1] per visited pixel, in visiting order: (passes, rows, cols, 2)."""
    rows = max(0, shape[0] - 2 * shift)
    cols = max(0, shape[1] - 2 * shift)
    return rng.integers(-shift, shift, size=(passes, rows, cols, 2), dtype=np.int16)


@njit(cache=True)
def _shuffle(img: np.ndarray, offsets: np.ndarray, shift: int) -> None:
    height, width = img.shape[:2]
    for p in range(offsets.shape[0]):
        for i in range(offsets.shape[1]):
            h = height - shift - i
            for j in range(offsets.shape[2]):
                w = width - shift - j
                src_h = h + offsets[p, i, j, 1]
                src_w = w + offsets[p, i, j, 0]
                for c in range(img.shape[2]):
                    img[h, w, c] = img[src_h, src_w, c]


def shuffle(img: np.ndarray, offsets: np.ndarray, shift: int) -> np.ndarray:
    """A copy of `img` after the passes: each visited pixel takes its source's current value."""
    out = np.ascontiguousarray(img).copy()
    _shuffle(out, offsets, shift)
    return out
