"""The one pair record every reader yields: an ordered (anchor, target) pair of versions of one
image, its index-matched regions with both sides' labels, and the comparisons the build wrote."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from pandaset_build.config.vocab import MIXED_VERSIONS, NO_CATEGORY
from pandaset_build.store.masks import Rle

SIDES = ("anchor", "target")
ImageRef = bytes | Path | np.ndarray  # encoded file bytes, a file, or H x W x 3 uint8 RGB pixels
MaskRef = Rle | np.ndarray | None  # COCO RLE (compressed or not), an H x W array, or missing
Box = tuple[float, float, float, float]  # COCO xywh in pixels


@dataclass(frozen=True)
class SideLabels:
    """One side's labels of a region: vocabulary ids and the region score."""

    distortion: int
    severity: int
    score: float


@dataclass(frozen=True)
class PairRegion:
    """A region of a pair, the same region in both versions (matched by index)."""

    index: int
    name: str
    bbox: Box | None
    mask: MaskRef
    anchor: SideLabels
    target: SideLabels
    comparison: int  # anchor relative to target, as the build labelled it
    description: str = ""
    category_id: int = NO_CATEGORY  # -1: the region has no class

    @property
    def label(self) -> str:
        """The name, with the description where there is one (`person (astronaut's face)`)."""
        return f"{self.name} ({self.description})" if self.description else self.name

    def side(self, name: str) -> SideLabels:
        return self.anchor if name == "anchor" else self.target

    def fields(self) -> dict[str, int | float]:
        """Flat `comparison`, `anchor_distortion`, ... labels, as parsed answers are laid out."""
        flat: dict[str, int | float] = {"comparison": self.comparison}
        for side in SIDES:
            labels = self.side(side)
            flat |= {f"{side}_{k}": getattr(labels, k) for k in ("distortion", "severity", "score")}
        return flat


@dataclass(frozen=True)
class PairRecord:
    """An ordered pair of versions of one image with its regions and scene relations."""

    tag: str
    anchor_version: str
    target_version: str
    anchor_image: ImageRef
    target_image: ImageRef
    anchor_score: float  # image scores
    target_score: float
    image_comparison: int
    regions: list[PairRegion]
    relations: list[list[int]] = field(default_factory=list)  # [subject, object, predicate_id]

    @property
    def key(self) -> str:
        """`{tag}_{anchor}_{target}`, the middle of the published graph file names."""
        return f"{self.tag}_{self.anchor_version}_{self.target_version}"

    @property
    def data_category(self) -> str:
        """`dist2dist`, `dist2mixed` or `mixed2mixed`, as the published loader names them."""
        mixed = sum(v in MIXED_VERSIONS for v in (self.anchor_version, self.target_version))
        return ("dist2dist", "dist2mixed", "mixed2mixed")[mixed]

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.regions]

    @property
    def descriptions(self) -> list[str]:
        return [r.description for r in self.regions]

    def image_ref(self, side: str) -> ImageRef:
        return self.anchor_image if side == "anchor" else self.target_image

    def image(self, side: str) -> bytes:
        """The encoded image file of `anchor` or `target`."""
        ref = self.image_ref(side)
        if isinstance(ref, bytes):
            return ref
        if isinstance(ref, Path):
            return ref.read_bytes()
        raise TypeError(f"{self.key}: the {side} image is pixels, not an encoded file")


class PairSource(Protocol):
    """Random-access pairs: `len(source)` and `source[i] -> PairRecord`; `predicate_classes`
    names the relations' predicate ids (None where the folder does not say)."""

    predicate_classes: list[str] | None

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> PairRecord: ...


class SubsetSource:
    """A seeded random subset of another source's pairs, in the source's order."""

    def __init__(self, source: PairSource, size: int, seed: int) -> None:
        picked = np.random.default_rng(seed).permutation(len(source))[:size]
        self.source = source
        self.indices = sorted(int(i) for i in picked)
        self.predicate_classes = source.predicate_classes

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> PairRecord:
        return self.source[self.indices[index]]


def read_predicate_classes(path: Path) -> list[str] | None:
    """The predicate names by id of a `predicate_classes.json`, or None when there is none."""
    if not path.is_file():
        return None
    return [str(name) for name in json.loads(path.read_text(encoding="utf-8"))]


def first(source: PairSource, limit: int | None) -> Sequence[PairRecord]:
    """The first `limit` pairs of a source (all of them when `limit` is None)."""
    count = len(source) if limit is None else min(limit, len(source))
    return [source[i] for i in range(count)]
