"""The panoptic-layout depth prior: distance from region masks and category names, not colour.

Three rules, in order: a vertical ramp underneath (far at the top, near at the bottom); far stuff
(sky, mountain, building, wall, ...) at the recipe's distance for its category; each object at
the ramp's distance of its lowest pixel row, the point where it stands on the ground plane, so
objects lower in the frame are nearer. An object is a thing region together with the touching
regions of the same category (the parts of one object, or a crowd, stand together). Other
stuff (floor, road, table, grass, ...) keeps the ramp. Without regions the prior is the ramp.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from ..store.masks import decode_mask


@dataclass(frozen=True)
class LayoutRegion:
    """One panoptic region as the prior sees it: its mask, category name and thing flag."""

    mask: np.ndarray
    name: str
    isthing: bool


def base_name(name: str) -> str:
    """The category's first word: `sky-other-merged` -> `sky`, `wall-brick` -> `wall`."""
    return name.strip().lower().split("-")[0].split(" ")[0]


def layout_regions(regions: Sequence[Any]) -> list[LayoutRegion]:
    """LayoutRegions from source-record regions (dicts or `Region`s with an RLE `mask`)."""
    found = []
    for region in regions:
        get = region.get if isinstance(region, Mapping) else lambda key, r=region: getattr(r, key)
        found.append(LayoutRegion(decode_mask(get("mask")), str(get("name")), bool(get("isthing"))))
    return found


def ramp_rows(height: int, top: float, bottom: float) -> np.ndarray:
    """D of each frame row: top + (bottom - top) y / (H - 1)."""
    return top + (bottom - top) * np.arange(height) / max(1, height - 1)


def layout_distance(
    shape: tuple[int, int],
    regions: Sequence[LayoutRegion],
    far: Mapping[str, float],
    top: float = 1.0,
    bottom: float = 0.0,
) -> np.ndarray:
    """Full-frame D in [0, 1] (1 = far) from the layout: ramp, far stuff, grounded things."""
    height, width = shape
    rows = ramp_rows(height, top, bottom)
    distance = np.repeat(rows[:, None], width, axis=1)
    for region in regions:
        if region.mask.shape != (height, width):
            raise ValueError(f"layout: a {region.mask.shape} mask in a {shape} frame")
        if region.isthing or not region.mask.any():
            continue
        name = base_name(region.name)
        if name in far:
            distance[region.mask] = far[name]
    for group in objects([region for region in regions if region.isthing]):
        lowest = int(np.flatnonzero(group.any(axis=1))[-1])
        distance[group] = rows[lowest]
    return distance


def objects(things: Sequence[LayoutRegion]) -> list[np.ndarray]:
    """Masks of the objects: thing regions joined when they share a category and touch."""
    parent = list(range(len(things)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    names = [base_name(thing.name) for thing in things]
    for name in dict.fromkeys(names):
        members = [i for i, other in enumerate(names) if other == name]
        union = np.zeros(things[members[0]].mask.shape, dtype=bool)
        for i in members:
            union |= things[i].mask
        pieces, _ = ndimage.label(union, structure=np.ones((3, 3), dtype=bool))
        first_member: dict[int, int] = {}
        for i in members:
            for piece in np.unique(pieces[things[i].mask]):
                if piece in first_member:
                    parent[root(i)] = root(first_member[piece])
                else:
                    first_member[piece] = i
    groups: dict[int, np.ndarray] = {}
    for i, thing in enumerate(things):
        if thing.mask.any():
            key = root(i)
            groups[key] = groups[key] | thing.mask if key in groups else thing.mask.copy()
    return list(groups.values())
