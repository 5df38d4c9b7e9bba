"""What rain and snow share: the scene pool's domain and the per-region visibility top-up.

The scene generator (one per image and version) draws a pool of candidates over a domain that
extends past every frame edge by as far as a candidate can reach into the frame, so coverage
is uniform up to the edges. A candidate is in the scene at a severity when its priority is below
density / density_max. A region whose share of the scene changes it by less than the recipe's
`min_change` also shows the next candidates that touch it, in priority order, until it does:
the visible set is a priority prefix, so severities stay nested.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .window import Window, unit


@dataclass(frozen=True)
class Domain:
    """Where candidates of a scene pool start, in frame pixels: rows [top, bottom), cols."""

    top: float
    bottom: float
    left: float
    right: float

    def size(self, density: float, side: int) -> int:
        """Candidates at `density` per S^2 over the domain's area."""
        return round(density * (self.bottom - self.top) * (self.right - self.left) / side**2)

    def place(self, fy: np.ndarray, fx: np.ndarray) -> np.ndarray:
        """Rows 2 x N of start points for uniforms fy, fx in [0, 1)."""
        return np.stack(
            [self.top + fy * (self.bottom - self.top), self.left + fx * (self.right - self.left)]
        )


def colour_weight(image: np.ndarray, colour: tuple[float, float, float]) -> np.ndarray:
    """255 mean_c |C_c - J_c|: the mean absolute change a full-opacity element makes per pixel
    (blending toward C by w changes every channel by w (C_c - J_c))."""
    gap = np.asarray(colour, dtype=np.float64) - unit(image)
    return 255.0 * np.abs(gap).mean(axis=-1)


def top_up(
    order: np.ndarray,
    scene_count: int,
    coverage: Callable[[np.ndarray], np.ndarray],
    weight: np.ndarray,
    mask: np.ndarray | None,
    target: float,
) -> np.ndarray:
    """The shortest prefix of `order` whose coverage x weight averages `target` over the mask.

    `order`: the candidates touching the region, by priority; its first `scene_count` are in
    the scene already. Returns those prefix indices (all of `order` if even that falls short),
    or an empty array when the scene alone reaches the target.
    """

    def value(count: int) -> float:
        if count == 0:
            return 0.0
        change = coverage(order[:count]) * weight
        return float(change.mean() if mask is None else change[mask].mean())

    if value(scene_count) >= target:
        return order[:0]
    low, high = scene_count, len(order)
    if value(high) < target:
        return order
    while high - low > 1:
        middle = (low + high) // 2
        if value(middle) >= target:
            high = middle
        else:
            low = middle
    return order[:high]


def region_plane(window: Window, mask: np.ndarray | None) -> np.ndarray:
    """The statistic domain on the window: the mask, or every pixel of the window."""
    return np.ones(window.shape, dtype=bool) if mask is None else mask
