"""compression/*: Pillow JPEG and JPEG 2000 round trips."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import numpy as np
from PIL import Image

from .params import Number
from .registry import Params, register
from .window import Context

JPEG_MCU = 16  # 4:2:0 chroma subsampling (Pillow's default): 16x16 pixel blocks


def _round_trip(image: np.ndarray, fmt: str, **options: Any) -> np.ndarray:
    buffer = BytesIO()
    Image.fromarray(image).convert("RGB").save(buffer, fmt, **options)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.array(decoded.convert("RGB"))


@register(
    "compression/jpeg",
    margin=lambda params, frame_shape: JPEG_MCU,
    grid=JPEG_MCU,
    params={"quality": Number(integer=True, at_least=1, at_most=100, order="falling")},
)
def compression_jpeg(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """Pillow JPEG at `quality`, other options at Pillow's defaults."""
    return _round_trip(image, "JPEG", quality=int(params["quality"]))


@register(
    "compression/jpeg2000", full_frame=True, params={"psnr_db": Number(above=0, order="falling")}
)
def compression_jpeg2000(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """Pillow/OpenJPEG, one layer targeting `psnr_db` (rate control over the whole frame)."""
    return _round_trip(
        image, "JPEG2000", quality_mode="dB", quality_layers=[float(params["psnr_db"])]
    )
