"""Positional random fields: the draws of a frame pixel are a pure function of (key, row, column).

A random sub-type draws one 128-bit key from its Generator (`field_key`); every value of its
fields then comes from numpy's counter-based Philox4x64-10 evaluated at the counter
(column, row, stream, 0), so any window's draws are computed without drawing the rest of the frame
and the box fast path gives the bytes of the full-frame path. Each counter gives four uniforms;
normal values come from Box-Muller (two uniforms each pair), Poisson values from the inverse CDF
(one uniform each), so the distributions stay exact.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numba import njit
from scipy.special import gammaln

from .window import Window

M0 = np.uint64(0xD2E7470EE14C6C93)  # Philox4x64 multipliers and Weyl key increments (Random123)
M1 = np.uint64(0xCA5A826395121157)
W0 = np.uint64(0x9E3779B97F4A7C15)
W1 = np.uint64(0xBB67AE8584CAA73B)
LOW32 = np.uint64(0xFFFFFFFF)
S32 = np.uint64(32)
S11 = np.uint64(11)
TO_UNIT = 1.0 / 9007199254740992.0  # 2^-53: numpy's uint64 -> double in [0, 1)
ROUNDS = 10
PER_COUNTER = 4  # uniforms per (row, column, stream)
POISSON_TAIL_SIGMAS = 14.0  # the table stops where the tail is far below the 2^-53 uniform step


@njit(cache=True, inline="always")
def _mulhi(a, b):
    """High 64 bits of the 128-bit product a * b."""
    a0, a1, b0, b1 = a & LOW32, a >> S32, b & LOW32, b >> S32
    p00, p01, p10, p11 = a0 * b0, a0 * b1, a1 * b0, a1 * b1
    mid = (p00 >> S32) + (p01 & LOW32) + (p10 & LOW32)
    return p11 + (p01 >> S32) + (p10 >> S32) + (mid >> S32)


@njit(cache=True)
def philox_block(c0, c1, c2, c3, k0, k1, out):
    """Philox4x64-10 of the counter (c0, c1, c2, c3) under the key (k0, k1), into out[0:4]."""
    for _ in range(ROUNDS):
        hi0, lo0 = _mulhi(M0, c0), M0 * c0
        hi1, lo1 = _mulhi(M1, c2), M1 * c2
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
        k0, k1 = k0 + W0, k1 + W1
    out[0], out[1], out[2], out[3] = c0, c1, c2, c3


@njit(cache=True)
def _uniforms(key, top, left, height, width, stream, count):
    """(height, width, count) uniforms in [0, 1) of the frame pixels from (top, left)."""
    out = np.empty((height, width, count))
    block = np.empty(4, dtype=np.uint64)
    s = np.uint64(stream)
    for i in range(height):
        row = np.uint64(top + i)
        for j in range(width):
            philox_block(np.uint64(left + j), row, s, np.uint64(0), key[0], key[1], block)
            for k in range(count):
                out[i, j, k] = (block[k] >> S11) * TO_UNIT
    return out


@njit(cache=True)
def _normals(key, top, left, height, width, stream, count):
    """(height, width, count <= 4) standard normals: Box-Muller on the counter's two pairs."""
    out = np.empty((height, width, count))
    block = np.empty(4, dtype=np.uint64)
    s = np.uint64(stream)
    for i in range(height):
        row = np.uint64(top + i)
        for j in range(width):
            philox_block(np.uint64(left + j), row, s, np.uint64(0), key[0], key[1], block)
            for pair in range((count + 1) // 2):
                u1 = 1.0 - (block[2 * pair] >> S11) * TO_UNIT  # (0, 1]: log is finite
                u2 = (block[2 * pair + 1] >> S11) * TO_UNIT
                radius = math.sqrt(-2.0 * math.log(u1))
                out[i, j, 2 * pair] = radius * math.cos(2.0 * math.pi * u2)
                if 2 * pair + 1 < count:
                    out[i, j, 2 * pair + 1] = radius * math.sin(2.0 * math.pi * u2)
    return out


@njit(cache=True)
def _poisson(key, top, left, image, stream, cdf):
    """Poisson counts of the uint8 image's rates: per value, the inverse CDF of its intensity."""
    height, width, channels = image.shape
    out = np.empty((height, width, channels), dtype=np.int64)
    block = np.empty(4, dtype=np.uint64)
    s = np.uint64(stream)
    last = cdf.shape[1] - 1
    for i in range(height):
        row = np.uint64(top + i)
        for j in range(width):
            philox_block(np.uint64(left + j), row, s, np.uint64(0), key[0], key[1], block)
            for c in range(channels):
                u = (block[c] >> S11) * TO_UNIT
                table = cdf[image[i, j, c]]
                lo, hi = 0, last  # the first k with cdf[k] > u (table[last] is 1)
                while lo < hi:
                    mid = (lo + hi) // 2
                    if table[mid] > u:
                        hi = mid
                    else:
                        lo = mid + 1
                out[i, j, c] = lo
    return out


def field_key(rng: np.random.Generator) -> np.ndarray:
    """The 128-bit Philox key of a region's fields: the one draw they take from its Generator."""
    return rng.integers(0, 2**64, size=2, dtype=np.uint64)


def uniforms(key: np.ndarray, window: Window, stream: int, count: int) -> np.ndarray:
    """(h, w, count) uniforms in [0, 1) for the window's frame pixels, count <= 4."""
    _check(count)
    (top, left), (height, width) = window.offset, window.shape
    return _uniforms(key, top, left, height, width, stream, count)


def normals(key: np.ndarray, window: Window, stream: int, count: int) -> np.ndarray:
    """(h, w, count) independent N(0, 1) values for the window's frame pixels, count <= 4."""
    _check(count)
    (top, left), (height, width) = window.offset, window.shape
    return _normals(key, top, left, height, width, stream, count)


def poisson_counts(
    key: np.ndarray, window: Window, stream: int, image: np.ndarray, factor: float
) -> np.ndarray:
    """Poisson(img / 255 * factor) per value of the uint8 window, by inverse CDF (one uniform)."""
    if image.shape[2] > PER_COUNTER:
        raise ValueError(f"at most {PER_COUNTER} channels, got {image.shape[2]}")
    top, left = window.offset
    return _poisson(key, top, left, np.ascontiguousarray(image), stream, poisson_cdf(factor))


@lru_cache(maxsize=16)
def poisson_cdf(factor: float) -> np.ndarray:
    """(256, K) CDF of Poisson(v / 255 * factor) for each uint8 v, last column exactly 1."""
    rates = np.arange(256) / 255.0 * factor
    size = int(factor + POISSON_TAIL_SIGMAS * math.sqrt(factor) + 40)
    k = np.arange(size)
    with np.errstate(divide="ignore", invalid="ignore"):  # rate 0: 0 * log 0, set below
        log_pmf = k * np.log(rates[:, None]) - rates[:, None] - gammaln(k + 1)
    log_pmf[0] = np.where(k == 0, 0.0, -np.inf)  # rate 0: always 0
    cdf = np.cumsum(np.exp(log_pmf), axis=1)
    cdf[:, -1] = 1.0
    cdf = np.minimum(cdf, 1.0)
    cdf.setflags(write=False)
    return cdf


def _check(count: int) -> None:
    if not 1 <= count <= PER_COUNTER:
        raise ValueError(f"1..{PER_COUNTER} values per pixel and stream, got {count}")
