"""Contact sheets for people to look at: tiles with captions, region outlines, grids."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from PIL import Image, ImageDraw

Colour = tuple[int, int, int]
YELLOW: Colour = (255, 255, 0)


def outline(mask: np.ndarray) -> np.ndarray:
    """The one-pixel border of a mask (morphological gradient, 3x3)."""
    return cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3))) > 0


def outlined(
    image: np.ndarray, masks: Sequence[np.ndarray], colours: Sequence[Colour]
) -> np.ndarray:
    """A copy of the image with each mask's outline drawn in its colour."""
    out = image.copy()
    for mask, colour in zip(masks, colours, strict=True):
        out[outline(mask)] = colour
    return out


def tile(
    image: np.ndarray,
    caption: str,
    *,
    size: int,
    caption_height: int,
    interpolation: int = cv2.INTER_NEAREST,
) -> Image.Image:
    """The image scaled to fit a `size`-wide square under a caption strip."""
    scale = size / max(image.shape[:2])
    shape = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    small = cv2.resize(image, shape, interpolation=interpolation)
    out = Image.new("RGB", (size, size + caption_height), "white")
    out.paste(Image.fromarray(small), (0, caption_height))
    ImageDraw.Draw(out).multiline_text((2, 1), caption, fill="black")
    return out


SWATCH = 12
LINE = 16


def legend_tile(
    title: str, entries: Sequence[tuple[str, Colour]], width: int, height: int
) -> Image.Image:
    """A white tile with a title and one coloured swatch and its label per entry."""
    out = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(out)
    draw.text((2, 2), title, fill="black")
    for i, (label, colour) in enumerate(entries):
        top = 2 + LINE * (i + 1)
        draw.rectangle((2, top, 2 + SWATCH, top + SWATCH), fill=colour, outline="black")
        draw.text((2 + SWATCH + 6, top), label, fill="black")
    return out


def contact_sheet(tiles: Sequence[Image.Image], columns: int) -> np.ndarray:
    """Tiles of one size in rows of `columns`, as an RGB array."""
    rows = -(-len(tiles) // columns)
    width, height = tiles[0].size
    out = Image.new("RGB", (columns * width, rows * height), "white")
    for i, t in enumerate(tiles):
        out.paste(t, ((i % columns) * width, (i // columns) * height))
    return np.asarray(out)
