"""Shared by PSG and COCO panoptic: segments_info checks and regions from a panoptic id PNG.

`iscrowd` segments are kept as ordinary regions: they are still pixels of the image and get
distorted and scored like any other region; the region keeps the flag (`Region.iscrowd`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pandaset_build.errors import BadInput
from pandaset_build.json_types import JsonObject
from pandaset_build.sources.common import Item, check_mask_size, image_size, reading
from pandaset_build.store.masks import panoptic_ids
from pandaset_build.store.records import Region, SourceRecord, region_from_mask

MAX_ID = 256**3 - 1


@dataclass(frozen=True)
class Category:
    name: str
    category_id: int
    isthing: bool


def segment_payloads(
    segments: list[JsonObject], categories: dict[int, Category], image: str, where: str
) -> list[JsonObject]:
    """Plain-data segments with names resolved; BadInput on unknown categories or bad ids."""
    out: list[JsonObject] = []
    seen: set[int] = set()
    for seg in segments:
        seg_id, cat = int(seg["id"]), int(seg["category_id"])
        if not 0 < seg_id <= MAX_ID or seg_id in seen:
            raise BadInput(image, f"segment id {seg_id} is invalid or repeated in {where}")
        if cat not in categories:
            raise BadInput(image, f"segment {seg_id} has unknown category_id {cat} in {where}")
        seen.add(seg_id)
        c = categories[cat]
        out.append(
            {
                "id": seg_id,
                "name": c.name,
                "category_id": c.category_id,
                "isthing": c.isthing,
                "description": str(seg.get("description", "")),
                "iscrowd": bool(seg.get("iscrowd", 0)),
            }
        )
    return out


def read_ids(mask_path: str, image_path: str, width: int, height: int) -> np.ndarray:
    """Segment ids of a panoptic PNG, checked to have the size of the displayed image."""
    with reading(mask_path, "mask"):
        ids = panoptic_ids(mask_path)
    check_mask_size(mask_path, ids.shape, image_path, width, height)
    return ids


def panoptic_regions(mask_path: str, ids: np.ndarray, segments: list[JsonObject]) -> list[Region]:
    """One region per segment, in segments_info order, checked against the ids in the PNG."""
    listed = {s["id"] for s in segments}
    extra = sorted(int(v) for v in np.unique(ids) if v != 0 and int(v) not in listed)
    if extra:
        raise BadInput(mask_path, f"mask ids {extra[:10]} are not in segments_info")
    regions = []
    for index, seg in enumerate(segments):
        mask = ids == seg["id"]
        if not mask.any():
            raise BadInput(mask_path, f"segment id {seg['id']} is not in the mask (empty region)")
        regions.append(
            region_from_mask(
                index,
                mask,
                name=seg["name"],
                category_id=seg["category_id"],
                isthing=seg["isthing"],
                description=seg["description"],
                iscrowd=seg["iscrowd"],
            )
        )
    return regions


def load_panoptic(item: Item) -> SourceRecord:
    """Decode and check an item whose payload has image, mask, segments, split, relations."""
    p = item.payload
    width, height = image_size(p["image"])
    ids = read_ids(p["mask"], p["image"], width, height)
    return SourceRecord(
        tag=item.tag,
        source=item.source,
        width=width,
        height=height,
        image_path=p["image"],
        regions=panoptic_regions(p["mask"], ids, p["segments"]),
        split=p.get("split", ""),
    )
