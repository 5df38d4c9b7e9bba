"""The mask codec: COCO RLE (compressed, and the published uncompressed form) and panoptic ids.

Region masks are stored as COCO compressed RLE `{size: [H, W], counts: str}`; the published
PandaBench layout needs uncompressed RLE (`counts` = column-major run lengths, zeros first).
"""

from __future__ import annotations

from pathlib import Path
from typing import TypedDict

import numpy as np
from pycocotools import mask as mask_utils


class Rle(TypedDict):
    """COCO RLE: `counts` is a compressed string or an uncompressed list of run lengths."""

    size: list[int]
    counts: str | list[int]


def encode_mask(mask: np.ndarray) -> Rle:
    """COCO compressed RLE of an HxW mask, with `counts` as an ASCII string."""
    rle = mask_utils.encode(np.asfortranarray(np.asarray(mask, dtype=np.uint8)))
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode()}


def decode_mask(rle: Rle) -> np.ndarray:
    """Boolean HxW mask of a compressed or uncompressed COCO RLE."""
    size = [int(v) for v in rle["size"]]
    counts = rle["counts"]
    if isinstance(counts, list):
        coco = mask_utils.frPyObjects({"size": size, "counts": counts}, size[0], size[1])
    else:
        coco = {"size": size, "counts": counts.encode() if isinstance(counts, str) else counts}
    return mask_utils.decode(coco).astype(bool)


def uncompressed_rle(mask: np.ndarray) -> Rle:
    """COCO uncompressed RLE: column-major run lengths starting with a run of zeros."""
    flat = np.asarray(mask, dtype=np.uint8).ravel(order="F")
    starts = np.flatnonzero(np.diff(flat)) + 1
    counts = np.diff(np.concatenate([[0], starts, [flat.size]])).tolist()
    if flat.size and flat[0]:
        counts = [0, *counts]
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": counts}


def box_and_area(rle: Rle) -> tuple[list[float], int]:
    """COCO xywh box and pixel area of a compressed RLE (pycocotools' toBbox and area)."""
    counts = rle["counts"]
    coco = {"size": rle["size"], "counts": counts.encode() if isinstance(counts, str) else counts}
    return [float(v) for v in mask_utils.toBbox(coco)], int(mask_utils.area(coco))


def rgb_to_ids(rgb: np.ndarray) -> np.ndarray:
    """HxW uint32 ids of an HxWx3 uint8 RGB array: R + 256 G + 256^2 B (COCO panoptic)."""
    rgb = rgb.astype(np.uint32)
    return rgb[..., 0] | (rgb[..., 1] << 8) | (rgb[..., 2] << 16)


def panoptic_ids(path: str | Path) -> np.ndarray:
    """HxW uint32 segment ids of a COCO panoptic PNG (read as RGB, palette files included)."""
    from PIL import Image

    with Image.open(path) as img:
        return rgb_to_ids(np.asarray(img.convert("RGB")))
