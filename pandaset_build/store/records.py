"""The source record (DESIGN.md contract) and the reader interface every input format follows."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils


class BadInput(Exception):
    """One input item cannot be ingested; the message names the file and the problem."""

    def __init__(self, path: str | Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem


@dataclass
class Region:
    region_id: int
    name: str
    category_id: int
    isthing: bool
    bbox: list[float]
    mask: dict[str, Any]
    area: int
    description: str = ""


@dataclass
class Relation:
    subject: int
    object: int
    predicate: str
    predicate_id: int = -1


@dataclass
class SourceRecord:
    tag: str
    source: str
    width: int
    height: int
    image_path: str
    regions: list[Region]
    relations: list[Relation] = field(default_factory=list)
    depth_path: str | None = None
    isp_path: str | None = None
    isp_degradations: list[str] = field(default_factory=list)
    isp_flags: list[dict[str, bool]] = field(default_factory=list)
    split: str = ""

    def to_row(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Item:
    """A picklable description of one image to load, listed cheaply before the work starts."""

    tag: str
    source: str
    payload: dict[str, Any]


def encode_mask(mask: np.ndarray) -> dict[str, Any]:
    """COCO compressed RLE of a boolean HxW mask, with `counts` as an ASCII string."""
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode()}


def decode_mask(rle: dict[str, Any]) -> np.ndarray:
    """Boolean HxW mask from a compressed or uncompressed COCO RLE."""
    size = [int(v) for v in rle["size"]]
    counts = rle["counts"]
    if isinstance(counts, list):
        rle = mask_utils.frPyObjects({"size": size, "counts": counts}, size[0], size[1])
    else:
        rle = {"size": size, "counts": counts.encode() if isinstance(counts, str) else counts}
    return mask_utils.decode(rle).astype(bool)


def region_from_mask(
    region_id: int,
    mask: np.ndarray,
    *,
    name: str,
    category_id: int,
    isthing: bool,
    description: str = "",
) -> Region:
    """A region whose box and area are computed from its mask (pycocotools, on the RLE)."""
    rle = encode_mask(mask)
    coco_rle = {"size": rle["size"], "counts": rle["counts"].encode()}
    bbox = [float(v) for v in mask_utils.toBbox(coco_rle)]
    area = int(mask_utils.area(coco_rle))
    return Region(
        region_id=region_id,
        name=name,
        category_id=int(category_id),
        isthing=bool(isthing),
        bbox=bbox,
        mask=rle,
        area=area,
        description=description,
    )


def panoptic_ids(path: str | Path) -> np.ndarray:
    """HxW uint32 segment ids of a COCO panoptic PNG: R + 256 G + 256^2 B."""
    from PIL import Image

    with Image.open(path) as img:
        return rgb_to_ids(np.asarray(img.convert("RGB")))


def rgb_to_ids(rgb: np.ndarray) -> np.ndarray:
    """HxW uint32 ids of an HxWx3 uint8 RGB array: R + 256 G + 256^2 B."""
    rgb = rgb.astype(np.uint32)
    return rgb[..., 0] | (rgb[..., 1] << 8) | (rgb[..., 2] << 16)
