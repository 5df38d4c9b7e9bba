"""Decoding and lossless encoding of images, with errors that name the file."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from pandaset_build.errors import BadInput
from pandaset_build.store.atomic import write_bytes_atomic

PNG_COMPRESSION = 3


def read_rgb(path: str | Path) -> np.ndarray:
    """HxWx3 uint8 RGB pixels of an image file (grey is stacked to three channels)."""
    try:
        with Image.open(path) as img:
            img.load()
            return np.asarray(img.convert("RGB"))
    except (OSError, ValueError, SyntaxError) as err:
        raise BadInput(path, f"cannot decode image: {err}") from None


def encode_png(image: np.ndarray) -> bytes:
    """Lossless, deterministic PNG bytes of an RGB uint8 image."""
    ok, data = cv2.imencode(
        ".png",
        cv2.cvtColor(image, cv2.COLOR_RGB2BGR),
        [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION],
    )
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return data.tobytes()


def write_png(path: Path, image: np.ndarray) -> None:
    write_bytes_atomic(path, encode_png(image))
