"""Images sent to a model: encoded files, data URLs and the type (a) region composites."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from pandaset_build.store.masks import Rle

DIM = 0.35  # brightness kept outside the region in the type (a) context image
RED = (255, 0, 0)

MIME = {b"\x89PNG": "image/png", b"\xff\xd8\xff": "image/jpeg", b"RIFF": "image/webp"}


def mime_type(data: bytes) -> str:
    """MIME type of an encoded image from its magic bytes (PNG when unknown)."""
    return next((m for magic, m in MIME.items() if data.startswith(magic)), "image/png")


def data_url(data: bytes) -> str:
    """`data:<mime>;base64,...` of an encoded image."""
    return f"data:{mime_type(data)};base64,{base64.b64encode(data).decode()}"


def decode_data_url(url: str) -> bytes:
    """The bytes inside a base64 data URL."""
    return base64.b64decode(url.split(",", 1)[1])


def png(image: Image.Image) -> bytes:
    """Lossless PNG bytes of a PIL image."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def open_rgb(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def box_pixels(bbox: Sequence[float], width: int, height: int) -> tuple[int, int, int, int]:
    """Integer (left, top, right, bottom) of an xywh box, clipped, at least one pixel."""
    x, y, w, h = bbox
    left = min(max(int(np.floor(x)), 0), width - 1)
    top = min(max(int(np.floor(y)), 0), height - 1)
    right = min(max(int(np.ceil(x + w)), left + 1), width)
    bottom = min(max(int(np.ceil(y + h)), top + 1), height)
    return left, top, right, bottom


def _region_mask(
    mask: Rle | None, box: tuple[int, int, int, int], size: tuple[int, int]
) -> np.ndarray:
    """The region's pixels: its RLE mask when it has one of the image's size, else its box."""
    width, height = size
    if mask is not None and [int(v) for v in mask["size"]] == [height, width]:
        from pandaset_build.store.masks import decode_mask

        return decode_mask(mask)
    inside = np.zeros((height, width), dtype=bool)
    left, top, right, bottom = box
    inside[top:bottom, left:right] = True
    return inside


def region_views(
    image: bytes, bbox: Sequence[float], mask: Rle | None = None
) -> tuple[bytes, bytes]:
    """Type (a) inputs as PNGs: the box crop, and the full image dimmed outside the region with
    the box outlined in red."""
    full = open_rgb(image)
    box = box_pixels(bbox, *full.size)
    crop = full.crop(box)
    pixels = np.asarray(full, dtype=np.float32)
    inside = _region_mask(mask, box, full.size)
    dimmed = np.where(inside[..., None], pixels, pixels * DIM).round().astype(np.uint8)
    context = Image.fromarray(dimmed)
    line = max(2, round(min(full.size) / 150))
    left, top, right, bottom = box
    ImageDraw.Draw(context).rectangle(
        (left - line, top - line, right - 1 + line, bottom - 1 + line), outline=RED, width=line
    )
    return png(crop), png(context)
