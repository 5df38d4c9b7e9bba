"""The bundled demo photos with their panoptic regions, rendered region by region as a build does.

Every region of one (image, version) gets a fresh Generator from the same scene seed, so all of
them draw the same atmosphere; each is rendered on its box widened by the sub-type's margin,
with its mask as the statistic mask, and pasted through the mask.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from pandaset_build.config.recipe import default_recipe
from pandaset_build.distortions import get, haze_distance
from pandaset_build.sources import demo
from pandaset_build.store.images import read_rgb
from pandaset_build.store.masks import decode_mask
from pandaset_build.store.records import Region

WEATHER = ("rain/rain", "snow/snow", "haze/haze")


@dataclass(frozen=True)
class Scene:
    name: str
    image: np.ndarray
    regions: tuple[Region, ...]
    masks: tuple[np.ndarray, ...]

    @property
    def boxes(self) -> list[tuple[int, int, int, int]]:
        """(x, y, w, h) of each region, as integer pixels."""
        return [tuple(int(v) for v in region.bbox) for region in self.regions]

    def layout_depth(self) -> np.ndarray:
        """The layout prior's full-frame distance map of this scene."""
        knobs = default_recipe().distortion_params("haze/haze", 1)
        rows = [region.__dict__ for region in self.regions]
        return haze_distance(self.image, {**knobs, "depth_source": "layout"}, None, regions=rows)


@cache
def scenes() -> tuple[Scene, ...]:
    """astronaut, chelsea, coffee, rocket with their demo regions."""
    items, _ = demo.list_items()
    found = []
    for item in items:
        record = demo.load_item(item)
        masks = tuple(decode_mask(region.mask) for region in record.regions)
        name = record.tag.split(".")[0]
        found.append(Scene(name, read_rgb(record.image_path), tuple(record.regions), masks))
    return tuple(sorted(found, key=lambda scene: scene.name))


def scene(name: str) -> Scene:
    return next(s for s in scenes() if s.name == name)


def params(key: str, severity: int, **overrides: object) -> dict:
    return {**default_recipe().distortion_params(key, severity), **overrides}


def render_region(
    image: np.ndarray,
    mask: np.ndarray,
    box: tuple[int, int, int, int],
    key: str,
    knobs: dict,
    seed: int,
    depth: np.ndarray | None = None,
) -> tuple[tuple[slice, slice], np.ndarray]:
    """One region on its window (box + margin): the window and the rendered window."""
    spec = get(key)
    height, width = image.shape[:2]
    x, y, w, h = box
    margin = spec.margin(knobs, (height, width))
    rows = slice(max(0, y - margin), min(height, y + h + margin))
    cols = slice(max(0, x - margin), min(width, x + w + margin))
    rendered = spec.fn(
        image[rows, cols],
        knobs,
        np.random.default_rng(seed),
        stat_mask=mask[rows, cols],
        depth=None if depth is None else depth[rows, cols],
        frame_shape=(height, width),
        offset=(rows.start, cols.start),
    )
    return (rows, cols), rendered


def render_regions(
    image: np.ndarray,
    masks: Sequence[np.ndarray],
    boxes: Sequence[tuple[int, int, int, int]],
    key: str,
    severities: Sequence[int],
    seed: int,
    depth: np.ndarray | None = None,
    **overrides: object,
) -> np.ndarray:
    """Every region at its severity (0: clean), all from the scene seed, pasted by mask."""
    out = image.copy()
    for mask, box, severity in zip(masks, boxes, severities, strict=True):
        if severity == 0:
            continue
        window, rendered = render_region(
            image, mask, box, key, params(key, severity, **overrides), seed, depth
        )
        out[window][mask[window]] = rendered[mask[window]]
    return out


def render_full_frame(
    image: np.ndarray,
    masks: Sequence[np.ndarray],
    key: str,
    severities: Sequence[int],
    seed: int,
    depth: np.ndarray | None = None,
) -> np.ndarray:
    """The reference path: each region's sub-type on the whole frame, kept inside its mask."""
    out = image.copy()
    for mask, severity in zip(masks, severities, strict=True):
        if severity:
            full = get(key).fn(
                image,
                params(key, severity),
                np.random.default_rng(seed),
                stat_mask=mask,
                depth=depth,
            )
            out[mask] = full[mask]
    return out


def box_of(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(x, y, w, h) of a mask's bounding box."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)
