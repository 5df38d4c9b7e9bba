"""PNG encoders and decoders: standard files every decoder reads, same bytes every run."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from pandaset_build.config.recipe import default_recipe
from pandaset_build.errors import BadInput
from pandaset_build.store.images import decode_png, encode_png, read_rgb, write_png

PHOTO = data.astronaut()[::2, ::3]  # 256 x 171: odd width, a strided (non-contiguous) view


def decoders(png: bytes) -> dict[str, np.ndarray]:
    """The same bytes through Pillow, OpenCV and the project's reader."""
    return {
        "pillow": np.asarray(Image.open(io.BytesIO(png)).convert("RGB")),
        "opencv": cv2.cvtColor(
            cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB
        ),
        "project": decode_png(png),
    }


@pytest.mark.parametrize(("encoder", "level"), [("fpng", 1), ("opencv", 1), ("opencv", 6)])
def test_every_decoder_reads_the_exact_pixels(encoder, level):
    png = encode_png(PHOTO, encoder, level)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    for name, pixels in decoders(png).items():
        np.testing.assert_array_equal(pixels, PHOTO, name)
    assert encode_png(PHOTO.copy(), encoder, level) == png  # deterministic


def test_the_default_recipe_writes_fpng(tmp_path: Path):
    recipe = default_recipe()
    assert (recipe.png_encoder, recipe.png_level) == ("fpng", 1)
    write_png(tmp_path / "a.png", PHOTO, recipe.png_encoder, recipe.png_level)
    assert (tmp_path / "a.png").read_bytes() == encode_png(PHOTO)
    np.testing.assert_array_equal(read_rgb(tmp_path / "a.png"), PHOTO)


def test_encoder_checks_its_input_and_name():
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        encode_png(PHOTO[..., 0])
    with pytest.raises(ValueError, match="png_encoder 'zlib'"):
        encode_png(PHOTO, "zlib")  # type: ignore[arg-type]


@pytest.mark.parametrize(("mode", "suffix"), [("L", ".png"), ("RGBA", ".png"), ("RGB", ".jpg")])
def test_other_files_decode_as_pillow_does(tmp_path: Path, mode, suffix):
    image = Image.fromarray(PHOTO).convert(mode)
    path = tmp_path / f"x{suffix}"
    image.save(path)
    with Image.open(path) as want:
        np.testing.assert_array_equal(read_rgb(path), np.asarray(want.convert("RGB")))


def test_undecodable_files_name_the_file(tmp_path: Path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(encode_png(PHOTO)[:200])
    for path in (broken, tmp_path / "missing.png"):
        with pytest.raises(BadInput, match=path.name):
            read_rgb(path)
