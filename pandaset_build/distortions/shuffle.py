"""DepictQA's local pixel shuffle (glass and jitter blur): copy-not-swap, sequential, positional.

Pass p visits rows H-s down to s+1 and, in each, columns W-s down to s+1 (0-based), setting
pixel(h, w) := the current pixel(h + dy, w + dx), with (dx, dy) in [-s, s-1]^2 drawn from the
positional Philox stream p at (h, w). A source visited earlier in the pass (below, or right of it
in the same row) already holds its own source's value, so after the pass pixel q holds the pass
input at `end(q)`, found by following the offsets until a source not yet rewritten: the chain
depends on the offsets only, never on the pixels. `shuffle` runs the sequential loop on a whole
frame; `chain_ends` gives, for any window, the frame pixel each of its pixels ends up holding,
so a window renders exactly what the frame's loop gives there.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .fields import philox_block
from .window import Window

S32 = np.uint64(32)


@njit(cache=True, inline="always")
def _offset(key, p, h, w, span, shift, block):
    """(dx, dy) in [-s, s-1] of pixel (h, w) in pass p: top 32 bits of two words, times 2s."""
    philox_block(np.uint64(w), np.uint64(h), np.uint64(p), np.uint64(0), key[0], key[1], block)
    dx = np.int64(((block[0] >> S32) * span) >> S32) - shift
    dy = np.int64(((block[1] >> S32) * span) >> S32) - shift
    return dx, dy


@njit(cache=True)
def _offsets(key, height, width, shift, passes):
    rows, cols = max(0, height - 2 * shift), max(0, width - 2 * shift)
    out = np.empty((passes, rows, cols, 2), dtype=np.int16)
    block = np.empty(4, dtype=np.uint64)
    span = np.uint64(2 * shift)
    for p in range(passes):
        for i in range(rows):
            for j in range(cols):
                dx, dy = _offset(key, p, height - shift - i, width - shift - j, span, shift, block)
                out[p, i, j, 0] = dx
                out[p, i, j, 1] = dy
    return out


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


@njit(cache=True)
def _chain_ends(key, height, width, shift, passes, top, left, rows, cols):
    """Per window pixel, the frame pixel whose pre-shuffle value it holds after all passes."""
    out = np.empty((2, rows, cols), dtype=np.int64)
    block = np.empty(4, dtype=np.uint64)
    span = np.uint64(2 * shift)
    lo, bottom, right = shift + 1, height - shift, width - shift  # the visited rectangle
    for i in range(rows):
        for j in range(cols):
            h, w = top + i, left + j
            for p in range(passes - 1, -1, -1):  # the last pass first: ends of ends
                while lo <= h <= bottom and lo <= w <= right:
                    dx, dy = _offset(key, p, h, w, span, shift, block)
                    src_h, src_w = h + dy, w + dx
                    visited = lo <= src_h <= bottom and lo <= src_w <= right
                    h, w = src_h, src_w
                    if not (visited and (dy > 0 or (dy == 0 and dx > 0))):
                        break  # the source still holds its value from before this pass
            out[0, i, j] = h
            out[1, i, j] = w
    return out


def offsets(key: np.ndarray, frame_shape: tuple[int, int], shift: int, passes: int) -> np.ndarray:
    """(dx, dy) per visited pixel in visiting order: (passes, rows, cols, 2) int16."""
    return _offsets(key, frame_shape[0], frame_shape[1], shift, passes)


def shuffle(img: np.ndarray, key: np.ndarray, shift: int, passes: int) -> np.ndarray:
    """A copy of the whole frame `img` after the passes: the sequential copy-not-swap loop."""
    out = np.ascontiguousarray(img).copy()
    _shuffle(out, offsets(key, img.shape[:2], shift, passes), shift)
    return out


def chain_ends(
    key: np.ndarray, window: Window, shift: int, passes: int
) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of the frame pixel each window pixel holds after the passes, window-shaped."""
    (height, width), (top, left), (rows, cols) = window.frame_shape, window.offset, window.shape
    ends = _chain_ends(key, height, width, shift, passes, top, left, rows, cols)
    return ends[0], ends[1]
