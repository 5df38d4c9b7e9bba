"""Overlapping masks (SAM, SEEM, Seagull ROIs) made disjoint: the smaller mask is on top.

Each pixel covered by several masks goes to the smallest of them (by its own pixel count; a
tie goes to the mask listed first). A mask keeps its pixels that no smaller mask covers; one
left with no pixel is dropped. The share of pixels given away is recorded with the record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Disjoint:
    """The masks after the overlap rule, in the input order, and what the rule changed."""

    masks: list[np.ndarray]  # one per input mask, possibly empty
    reassigned: int  # pixels of masks that went to a smaller mask
    total: int  # pixels of all masks as given (a pixel counts once per mask)

    @property
    def share(self) -> float:
        """Reassigned pixels over all given mask pixels (0 when nothing overlaps)."""
        return self.reassigned / self.total if self.total else 0.0

    @property
    def kept(self) -> list[int]:
        """Indices of the masks left with at least one pixel."""
        return [i for i, mask in enumerate(self.masks) if mask.any()]


def make_disjoint(masks: Sequence[np.ndarray]) -> Disjoint:
    """Give every pixel to the smallest mask covering it (ties: the first listed)."""
    if not masks:
        return Disjoint([], 0, 0)
    areas = [int(np.count_nonzero(m)) for m in masks]
    owner = np.full(masks[0].shape, -1, dtype=np.int32)
    for index in sorted(range(len(masks)), key=lambda i: (areas[i], i)):
        owner[(owner < 0) & masks[index]] = index
    out = [owner == index for index in range(len(masks))]
    kept = sum(int(np.count_nonzero(m)) for m in out)
    return Disjoint(out, sum(areas) - kept, sum(areas))
