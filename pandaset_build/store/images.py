"""Decoding and lossless encoding of images, with errors that name the file.

Every image is decoded as it is meant to be seen, as HxWx3 uint8 RGB: the EXIF orientation
applied; 16-bit channels scaled to 8 bits (round(v * 255 / 65535)); grey stacked to three
channels; palettes expanded; alpha (and a tRNS colour key) composited over white; CMYK and
other colour modes converted by Pillow. 32-bit integer and float pixels are refused.

PNG encoders (the recipe's `png_encoder`): `fpng` (fpng through the `fpng` package: standard
PNG, about 20x faster than zlib level 3 for 10-15 % more bytes) or `opencv` (zlib level
`png_level` with the RLE strategy). Both are deterministic: the same pixels give the same bytes.
8-bit RGB PNGs without an orientation or a colour key (what the project writes) decode with
libspng (`pyspng`); 16-bit files with OpenCV; everything else with Pillow.
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import pyspng
from PIL import Image

from pandaset_build.errors import BadInput
from pandaset_build.store.atomic import write_bytes_atomic

PngEncoder = Literal["fpng", "opencv"]
DEFAULT_ENCODER: PngEncoder = "fpng"
DEFAULT_LEVEL = 1
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
IHDR_DEPTH, IHDR_COLOUR = 24, 25  # byte offsets of bit depth and colour type in a PNG file
RGB_COLOUR_TYPE = 2


ORIENTATION_TAG = 0x0112
SWAPS_AXES = (5, 6, 7, 8)  # EXIF orientations that exchange width and height
ORIENTATIONS = {
    2: "mirrored left-right",
    3: "rotated 180 degrees",
    4: "mirrored top-bottom",
    5: "transposed",
    6: "rotated 90 degrees clockwise",
    7: "transversed",
    8: "rotated 90 degrees counter-clockwise",
}
PLAIN_MODES = ("RGB", "L")
WHITE = 255


@dataclass(frozen=True)
class ImageFormat:
    """What decoding a file involves: its mode, bits per channel and EXIF orientation."""

    mode: str
    bit_depth: int
    orientation: int

    @property
    def plain(self) -> bool:
        """Whether any reader gets the meant pixels from the file as it is (8-bit RGB or grey)."""
        return self.mode in PLAIN_MODES and self.bit_depth == 8 and self.orientation == 1


def _orientation(img: Image.Image) -> int:
    value = img.getexif().get(ORIENTATION_TAG, 1)
    return value if value in ORIENTATIONS else 1


def _bit_depth(img: Image.Image, data: bytes) -> int:
    if data[:8] == PNG_SIGNATURE:
        return data[IHDR_DEPTH]
    if img.mode.startswith("I;16"):
        return 16
    if img.format == "TIFF":
        bits = img.tag_v2.get(258, 8)  # BitsPerSample
        return max(bits) if isinstance(bits, tuple) else int(bits)
    return {"1": 1, "I": 32, "F": 32}.get(img.mode, 8)


def _format(img: Image.Image, data: bytes) -> ImageFormat:
    transparent = "transparency" in img.info and img.mode in ("L", "RGB")
    mode = f"{img.mode}+tRNS" if transparent else img.mode
    return ImageFormat(mode, _bit_depth(img, data), _orientation(img))


def _plain_rgb8_png(data: bytes) -> bool:
    """An 8-bit RGB PNG with no orientation (eXIf) or colour key (tRNS) before its pixels."""
    if data[:8] != PNG_SIGNATURE or data[IHDR_DEPTH : IHDR_COLOUR + 1] != bytes((8, 2)):
        return False
    pos = 8
    while pos + 8 <= len(data):
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            return True
        if kind in (b"eXIf", b"tRNS", b"zTXt", b"tEXt", b"iTXt"):
            return False  # text chunks may hold a raw EXIF profile
        pos += 12 + int.from_bytes(data[pos : pos + 4], "big")
    return False


def orient(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Pixels as displayed under an EXIF orientation (what `ImageOps.exif_transpose` does)."""
    swapped = pixels.swapaxes(0, 1) if orientation in SWAPS_AXES else pixels
    flips = {2: (False, True), 3: (True, True), 4: (True, False), 5: (False, False),
             6: (False, True), 7: (True, True), 8: (True, False)}  # fmt: skip
    rows, columns = flips.get(orientation, (False, False))
    out = swapped[::-1] if rows else swapped
    out = out[:, ::-1] if columns else out
    return np.ascontiguousarray(out)


def _composite(channels: np.ndarray) -> np.ndarray:
    """HxWx3 RGB of grey, grey + alpha, RGB or RGBA uint8 channels (alpha over white)."""
    if channels.ndim == 2:
        channels = channels[..., None]
    colour = channels[..., :-1] if channels.shape[2] in (2, 4) else channels
    if colour.shape[2] == 1:
        colour = np.repeat(colour, 3, axis=2)
    if channels.shape[2] not in (2, 4):
        return np.ascontiguousarray(colour)
    alpha = channels[..., -1:].astype(np.uint32)
    mixed = (colour.astype(np.uint32) * alpha + WHITE * (255 - alpha) + 127) // 255
    return mixed.astype(np.uint8)


def _high_depth(data: bytes) -> np.ndarray:
    """Channels of a 16-bit file scaled to 8 bits, in RGB(A) order."""
    raw = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if raw is None or raw.dtype != np.uint16:
        raise ValueError("cannot decode the 16-bit pixels")
    if raw.ndim == 3:
        order = [2, 1, 0, 3][: raw.shape[2]] if raw.shape[2] in (3, 4) else [0, 1]
        raw = raw[..., order]
    return ((raw.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)


def _eight_bit(img: Image.Image) -> np.ndarray:
    """Channels (grey, grey + alpha, RGB or RGBA) of an 8-bit-or-less Pillow image."""
    mode = img.mode
    if mode == "P" or ("transparency" in img.info and mode in ("L", "RGB")):
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif mode in ("PA", "RGBa"):
        img = img.convert("RGBA")
    elif mode in ("1", "La"):
        img = img.convert("LA" if mode == "La" else "L")
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        img = img.convert("RGB")
    return np.asarray(img)


def decode_image(data: bytes) -> tuple[np.ndarray, ImageFormat]:
    """The meant HxWx3 uint8 RGB pixels of encoded bytes and the file's format.

    Raises ValueError or OSError on bytes that do not decode or pixels that are refused."""
    with Image.open(BytesIO(data)) as img:
        found = _format(img, data)
        if found.bit_depth > 16:
            raise ValueError(
                f"{found.bit_depth}-bit {img.mode} pixels are not supported: convert the image "
                "to 8 or 16 bits per channel"
            )
        if found.bit_depth == 16:
            channels = _high_depth(data)
        else:
            img.load()
            channels = _eight_bit(img)
    return orient(_composite(channels), found.orientation), found


def decode_rgb(data: bytes) -> np.ndarray:
    """HxWx3 uint8 RGB pixels of encoded image bytes, as meant to be seen (module docstring).

    Raises ValueError or OSError on bytes that do not decode."""
    if _plain_rgb8_png(data):
        try:
            return pyspng.load(data, format="RGB")
        except RuntimeError as err:
            raise ValueError(str(err)) from None
    return decode_image(data)[0]


def decode_png(data: bytes) -> np.ndarray:
    """The RGB pixels of PNG bytes (the inverse of `encode_png`)."""
    if data[:8] != PNG_SIGNATURE:
        raise ValueError("not PNG bytes")
    return decode_rgb(data)


IMAGE_ERRORS = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)


def read_rgb(path: str | Path) -> np.ndarray:
    """HxWx3 uint8 RGB pixels of an image file, as meant to be seen (module docstring)."""
    try:
        return decode_rgb(Path(path).read_bytes())
    except IMAGE_ERRORS as err:
        raise BadInput(path, f"cannot decode image: {err}") from None


def image_format(path: str | Path) -> ImageFormat:
    """The mode, bit depth and orientation of an image file, from its header."""
    try:
        data = Path(path).read_bytes()
        with Image.open(BytesIO(data)) as img:
            return _format(img, data)
    except IMAGE_ERRORS as err:
        raise BadInput(path, f"cannot decode image: {err}") from None


def encode_png(
    image: np.ndarray, encoder: PngEncoder = DEFAULT_ENCODER, level: int = DEFAULT_LEVEL
) -> bytes:
    """Lossless, deterministic PNG bytes of an HxWx3 uint8 RGB image."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"encode_png expects HxWx3 uint8, got {image.dtype} {image.shape}")
    if encoder == "fpng":
        return _fpng(np.ascontiguousarray(image))
    if encoder == "opencv":
        ok, data = cv2.imencode(
            ".png",
            cv2.cvtColor(image, cv2.COLOR_RGB2BGR),
            [
                cv2.IMWRITE_PNG_COMPRESSION,
                level,
                cv2.IMWRITE_PNG_STRATEGY,
                cv2.IMWRITE_PNG_STRATEGY_RLE,
            ],
        )
        if not ok:
            raise RuntimeError("OpenCV PNG encoding failed")
        return data.tobytes()
    raise ValueError(f"png_encoder {encoder!r}: expected 'fpng' or 'opencv'")


def _fpng(image: np.ndarray) -> bytes:
    try:
        import fpng
    except ImportError:
        raise RuntimeError(
            "png_encoder 'fpng' needs the fpng package: `pip install fpng`, or set "
            "png_encoder: opencv in the recipe"
        ) from None
    return fpng.from_ndarray(image)


def write_png(
    path: Path, image: np.ndarray, encoder: PngEncoder = DEFAULT_ENCODER, level: int = DEFAULT_LEVEL
) -> None:
    write_bytes_atomic(path, encode_png(image, encoder, level))
