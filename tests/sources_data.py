"""Tiny generated inputs for the source reader tests: segments, images, masks, expectations."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from pandaset_build.errors import BadInput
from pandaset_build.store.records import SourceRecord

LOAD_CORRUPTIONS = ("truncated", "corrupt", "mask_size", "missing_segment", "extra_id")


@dataclass
class Segment:
    seg_id: int
    mask: np.ndarray
    bbox: list[float]


def make_segments(rng: np.random.Generator, height: int, width: int, count: int) -> list[Segment]:
    """Disjoint irregular segments in vertical strips; each box is known by construction."""
    cuts = np.sort(rng.choice(np.arange(2, width - 1), count - 1, replace=False)).tolist()
    edges = [0, *cuts, width]
    ids = rng.choice(np.arange(1, 256**3), count, replace=False)
    segments = []
    for k in range(count):
        x0, x1 = edges[k], edges[k + 1]
        y0, y1 = int(rng.integers(0, height // 2)), int(rng.integers(height // 2 + 1, height + 1))
        mask = np.zeros((height, width), dtype=bool)
        mask[y0:y1, x0:x1] = rng.random((y1 - y0, x1 - x0)) < 0.7
        mask[y0, x0] = mask[y1 - 1, x1 - 1] = True
        box = [float(x0), float(y0), float(x1 - x0), float(y1 - y0)]
        segments.append(Segment(int(ids[k]), mask, box))
    return segments


def id_map(segments: list[Segment]) -> np.ndarray:
    """HxW uint32 map holding each segment's id on its pixels."""
    ids = np.zeros(segments[0].mask.shape, dtype=np.uint32)
    for s in segments:
        ids[s.mask] = s.seg_id
    return ids


def write_panoptic(path: Path, ids: np.ndarray) -> None:
    """Save ids as an RGB panoptic PNG (id = R + 256 G + 65536 B)."""
    rgb = np.stack([(ids >> shift) & 255 for shift in (0, 8, 16)], axis=-1).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path)


def write_image(path: Path, rng: np.random.Generator, height: int, width: int) -> None:
    """Save random RGB pixels; the format follows the suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(path)


def spoil_image(path: Path, corruption: str | None) -> None:
    """Cut an image file in half ("truncated") or replace it by junk bytes ("corrupt")."""
    if corruption == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif corruption == "corrupt":
        path.write_bytes(b"this is not an image" * 20)


@dataclass
class Sample:
    image: str
    mask: str
    segments: list[Segment]
    listed: list[int]

    def culprit(self, corruption: str) -> str:
        """The file a load failure for `corruption` must name."""
        return self.image if corruption in ("truncated", "corrupt") else self.mask


def panoptic_sample(
    rng: np.random.Generator, image: Path, mask: Path, corruption: str | None = None
) -> Sample:
    """Write an image and its panoptic PNG; returns them with the segment ids to list.

    Corruptions: "truncated"/"corrupt" image, "mask_size" (one column too many),
    "missing_segment" (a listed id absent from the PNG), "extra_id" (a PNG id not listed).
    """
    height, width = int(rng.integers(20, 31)), int(rng.integers(24, 40))
    segments = make_segments(rng, height, width, int(rng.integers(3, 6)))
    write_image(image, rng, height, width)
    ids = id_map(segments)
    if corruption == "mask_size":
        ids = np.pad(ids, ((0, 0), (0, 1)))
    write_panoptic(mask, ids)
    spoil_image(image, corruption)
    listed = [s.seg_id for s in segments]
    if corruption == "missing_segment":
        listed.append(max(listed) + 1)
    if corruption == "extra_id":
        listed.pop()
    return Sample(str(image.resolve()), str(mask.resolve()), segments, listed)


def decode_rle(rle: dict[str, Any]) -> np.ndarray:
    """Boolean mask of a compressed RLE, decoded with pycocotools directly."""
    return mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode()}).astype(bool)


def check_regions(record: SourceRecord, segments: list[Segment], expect: list[dict]) -> None:
    """Regions match the generated segments (order, masks, boxes, areas) and expected labels."""
    assert len(record.regions) == len(segments) == len(expect)
    height, width = segments[0].mask.shape
    assert (record.width, record.height) == (width, height)
    for index, (region, seg, labels) in enumerate(
        zip(record.regions, segments, expect, strict=True)
    ):
        assert region.region_id == index
        assert region.bbox == seg.bbox
        assert region.area == int(seg.mask.sum())
        assert np.array_equal(decode_rle(region.mask), seg.mask)
        for key, value in labels.items():
            assert getattr(region, key) == value, (key, index)


def expect_bad(load: Any, item: Any, path: Path | str) -> BadInput:
    """Loading `item` raises BadInput whose message names `path`."""
    with pytest.raises(BadInput) as info:
        load(item)
    assert str(path) in str(info.value)
    return info.value
