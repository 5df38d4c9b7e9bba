"""The pair record every PANDA data source yields, and the `PairSource` protocol.

A source is any random-access sequence of `PairRecord`s: the published PandaBench folders
(`pandabench.PandaBenchSource`), a list built from a Hugging Face export, or a plain Python list.
Regions are matched by index: `anchor_regions[i]` and `target_regions[i]` are the same region
in the two versions of one scene.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from pandaset_build.config.vocab import MIXED_VERSIONS

ImageLike = str | Path | np.ndarray  # file path, or an H x W x 3 uint8 RGB array
MaskLike = np.ndarray | dict[str, Any] | None  # H x W array, COCO RLE {size, counts}, or missing


@dataclass
class RegionLabels:
    """One region as seen in one version: mask, box and labels (ids as in `vocab`)."""

    mask: MaskLike
    bbox: Sequence[float] | None  # COCO xywh in pixels, or missing
    distortion: int
    severity: int
    score: float


@dataclass
class PairRecord:
    """An ordered (anchor, target) pair of versions of one scene with index-matched regions."""

    tag: str
    anchor_version: str
    target_version: str
    anchor_image: ImageLike
    target_image: ImageLike
    anchor_score: float
    target_score: float
    anchor_regions: list[RegionLabels]
    target_regions: list[RegionLabels]
    names: list[str] = field(default_factory=list)
    descriptions: list[str] = field(default_factory=list)  # per region, "" where none
    relations: list[list[int]] = field(default_factory=list)  # [subject, object, predicate_id]

    @property
    def data_category(self) -> str:
        """`dist2dist`, `dist2mixed` or `mixed2mixed`, as the published loader names them."""
        mixed = sum(v in MIXED_VERSIONS for v in (self.anchor_version, self.target_version))
        return ("dist2dist", "dist2mixed", "mixed2mixed")[mixed]


class PairSource(Protocol):
    """Random-access pairs: `len(source)` and `source[i] -> PairRecord`."""

    def __len__(self) -> int:
        """Number of pairs."""
        ...

    def __getitem__(self, index: int) -> PairRecord:
        """The pair at `index`."""
        ...
