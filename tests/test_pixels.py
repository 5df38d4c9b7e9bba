"""Pixels as they are meant: 16-bit, palette, alpha and EXIF-oriented inputs, checked against an
independent read, through ingest, distort, score and every export with aligned masks."""

from __future__ import annotations

import io
import json
from pathlib import Path

import cv2
import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import run_cli, write_recipe
from PIL import Image, ImageOps
from pycocotools import mask as mask_utils
from skimage import data

from pandaset_build.errors import BadInput
from pandaset_build.store.images import image_format, orient, read_rgb
from pandaset_build.store.masks import decode_mask

PHOTO = np.ascontiguousarray(data.astronaut()[::4, ::3][:96, :64])  # 96 x 64: not square
EXIF_ORIENTATION = 0x0112


def exif_jpeg(path: Path, pixels: np.ndarray, orientation: int) -> Path:
    """A JPEG of `pixels` whose EXIF asks viewers to show it under `orientation`."""
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = orientation
    Image.fromarray(pixels).save(path, quality=95, exif=exif.tobytes())
    return path


def stacked(grey: np.ndarray) -> np.ndarray:
    return np.repeat(grey[..., None], 3, axis=2)


def test_sixteen_bit_grey_and_rgb_are_scaled_not_clipped(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    grey = rng.integers(0, 65536, (40, 56), dtype=np.uint16)
    rgb = rng.integers(0, 65536, (40, 56, 3), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "grey.png"), grey)
    cv2.imwrite(str(tmp_path / "rgb.png"), rgb[..., ::-1])  # OpenCV writes BGR
    np.testing.assert_array_equal(
        read_rgb(tmp_path / "grey.png"), stacked(np.rint(grey / 257.0).astype(np.uint8))
    )
    np.testing.assert_array_equal(read_rgb(tmp_path / "rgb.png"), np.rint(rgb / 257.0))
    assert image_format(tmp_path / "grey.png").bit_depth == 16
    assert not image_format(tmp_path / "grey.png").plain


def test_palette_and_palette_transparency_follow_the_palette(tmp_path: Path) -> None:
    palette_image = Image.fromarray(PHOTO).quantize(colors=32)
    palette = np.array(palette_image.getpalette()[: 32 * 3], dtype=np.uint8).reshape(-1, 3)
    indices = np.asarray(palette_image)
    palette_image.save(tmp_path / "p.png")
    np.testing.assert_array_equal(read_rgb(tmp_path / "p.png"), palette[indices])
    clear = int(indices[0, 0])
    palette_image.save(tmp_path / "pt.png", transparency=clear)
    want = palette[indices].copy()
    want[indices == clear] = 255  # a transparent pixel shows the white it lies on
    np.testing.assert_array_equal(read_rgb(tmp_path / "pt.png"), want)


def test_alpha_is_composited_over_white(tmp_path: Path) -> None:
    alpha = np.linspace(0, 255, PHOTO.shape[1]).astype(np.uint8)[None, :].repeat(96, 0)
    Image.fromarray(np.dstack([PHOTO, alpha])).save(tmp_path / "rgba.png")
    a = alpha[..., None] / 255.0
    want = np.rint(PHOTO * a + 255 * (1 - a)).astype(np.uint8)
    np.testing.assert_array_equal(read_rgb(tmp_path / "rgba.png"), want)
    grey = PHOTO[..., 1]
    Image.fromarray(np.dstack([grey, alpha]), "LA").save(tmp_path / "la.png")
    want_grey = np.rint(grey * a[..., 0] + 255 * (1 - a[..., 0])).astype(np.uint8)
    np.testing.assert_array_equal(read_rgb(tmp_path / "la.png"), stacked(want_grey))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_as_pillow_transposes(tmp_path: Path, orientation: int) -> None:
    path = exif_jpeg(tmp_path / "x.jpg", PHOTO, orientation)
    with Image.open(path) as img:
        want = np.asarray(ImageOps.exif_transpose(img).convert("RGB"))
    got = read_rgb(path)
    np.testing.assert_array_equal(got, want)
    assert image_format(path).orientation == orientation
    swapped = orientation in (5, 6, 7, 8)
    assert got.shape[:2] == ((64, 96) if swapped else (96, 64))


def test_a_png_with_an_orientation_is_not_read_by_the_fast_path(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6
    Image.fromarray(PHOTO).save(tmp_path / "x.png", exif=exif.tobytes())
    np.testing.assert_array_equal(read_rgb(tmp_path / "x.png"), orient(PHOTO, 6))
    np.testing.assert_array_equal(orient(PHOTO, 6), np.rot90(PHOTO, -1))


def test_float_pixels_are_refused_naming_the_file(tmp_path: Path) -> None:
    Image.fromarray(PHOTO[..., 0].astype(np.float32)).save(tmp_path / "f.tif")
    with pytest.raises(BadInput, match=r"f\.tif.*32-bit F pixels are not supported"):
        read_rgb(tmp_path / "f.tif")


# --- through the whole build --------------------------------------------------------------


def block_ids(height: int, width: int) -> np.ndarray:
    """Three regions: top third, a lower-left block, the rest of the bottom (0 elsewhere)."""
    ids = np.zeros((height, width), np.uint8)
    ids[: height // 3, :] = 1
    ids[height // 2 :, : width // 2] = 2
    ids[height // 2 :, width // 2 + 2 :] = 3
    return ids


def tricky_dataset(root: Path) -> dict[str, np.ndarray]:
    """A folder dataset of inputs a plain reader gets wrong, and the pixels each one means."""
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rng = np.random.default_rng(3)
    wide = rng.integers(0, 65536, (48, 80), dtype=np.uint16)
    cv2.imwrite(str(root / "images" / "grey16.png"), wide)
    palette = Image.fromarray(PHOTO[:48, :64]).quantize(colors=16)
    palette.save(root / "images" / "palette.png")
    alpha = np.full(PHOTO[:48, :64].shape[:2], 128, np.uint8)
    Image.fromarray(np.dstack([PHOTO[:48, :64], alpha])).save(root / "images" / "rgba.png")
    exif_jpeg(root / "images" / "rotated.jpg", PHOTO, 6)
    with Image.open(root / "images" / "palette.png") as img:
        palette_rgb = np.asarray(img.convert("RGB"))
    with Image.open(root / "images" / "rotated.jpg") as img:
        rotated = np.asarray(ImageOps.exif_transpose(img).convert("RGB"))
    meant = {
        "grey16.png": stacked(np.rint(wide / 257.0).astype(np.uint8)),
        "palette.png": palette_rgb,
        "rgba.png": np.rint(PHOTO[:48, :64] * (128 / 255) + 255 * (127 / 255)).astype(np.uint8),
        "rotated.jpg": rotated,
    }
    for name, pixels in meant.items():
        Image.fromarray(block_ids(*pixels.shape[:2])).save(
            root / "masks" / f"{Path(name).stem}.png"
        )
    return meant


def image_of(cell: dict) -> np.ndarray:
    with Image.open(io.BytesIO(cell["bytes"])) as img:
        return np.asarray(img.convert("RGB"))


@pytest.mark.slow
def test_tricky_inputs_keep_their_pixels_and_aligned_masks_in_every_export(
    tmp_path: Path,
) -> None:
    meant = tricky_dataset(tmp_path / "data")
    build = tmp_path / "b"
    recipe = write_recipe(
        tmp_path / "r.yaml", shard_size=2, splits={"train": 0.0, "val": 0.0, "test": 1.0},
        bench={"easy": 2, "medium": 2, "hard": 2},
    )  # fmt: skip
    b = ["--build", str(build)]
    run_cli("ingest", "--source", "folder", "--root", str(tmp_path / "data"), *b,
            "--recipe", str(recipe))  # fmt: skip
    sources = {r["tag"]: r for r in pq.read_table(build / "sources").to_pylist()}
    assert sources["grey16.png"]["bit_depth"] == 16
    assert sources["palette.png"]["colour_mode"] == "P"
    assert sources["rgba.png"]["colour_mode"] == "RGBA"
    assert sources["rotated.jpg"]["orientation"] == 6
    for tag, pixels in meant.items():
        record = sources[tag]
        assert record["original_path"] == str(tmp_path / "data" / "images" / tag)
        assert Path(record["image_path"]) == (build / "normalised" / f"{tag}.png").resolve()
        np.testing.assert_array_equal(read_rgb(record["image_path"]), pixels)
        assert (record["height"], record["width"]) == pixels.shape[:2]
    run_cli("distort", *b)
    run_cli("score", "--metric", "ssim", *b)
    for layout in ("hf", "pandabench"):
        run_cli("export", "--layout", layout, *b)
    run_cli("split-bench", *b)

    references = pq.read_table(build / "export" / "hf" / "data" / "references").to_pylist()
    assert sorted(r["tag"] for r in references) == sorted(meant)
    for row in references:
        np.testing.assert_array_equal(image_of(row["image"]), meant[row["tag"]])
        for region in row["regions"]:
            assert decode_mask(region["mask"]).shape == meant[row["tag"]].shape[:2]
    for row in pq.read_table(build / "export" / "hf" / "data" / "versions").to_pylist():
        assert image_of(row["image"]).shape == meant[row["tag"]].shape

    root = build / "export" / "pandabench"
    for tag, pixels in meant.items():
        np.testing.assert_array_equal(read_rgb(root / "gt" / "test" / tag), pixels)
    stats = json.loads((root / "stats" / "test_stats_blur.json").read_text())
    for tag, entry in stats.items():
        for region in entry["regions"]:
            rle = region["segmentation_mask"]
            shape = mask_utils.decode(mask_utils.frPyObjects(rle, *rle["size"])).shape
            assert shape == meant[tag].shape[:2]

    rows = [r for kind in ("easy", "medium", "hard")
            for r in pq.read_table(build / "bench" / kind / "data").to_pylist()]  # fmt: skip
    assert rows
    for row in rows:
        shape = meant[row["tag"]].shape
        assert image_of(row["anchor_image"]).shape == image_of(row["target_image"]).shape == shape
        for region in row["regions"]:
            assert decode_mask(region["mask"]).shape == shape[:2]


@pytest.mark.slow
def test_a_mask_that_fits_the_unrotated_image_is_named_as_such(tmp_path: Path) -> None:
    root = tmp_path / "data"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    exif_jpeg(root / "images" / "turned.jpg", PHOTO, 6)  # displayed 64 x 96 (w x h): turned
    Image.fromarray(block_ids(96, 64)).save(root / "masks" / "turned.png")  # the stored 96 x 64
    result = run_cli("ingest", "--source", "folder", "--root", str(root),
                     "--build", str(tmp_path / "b"), check=False)  # fmt: skip
    assert result.returncode == 1
    assert "turned.png: mask is 64x96 but its image is 96x64 as displayed" in result.stderr
    assert "before its EXIF orientation (6: rotated 90 degrees clockwise)" in result.stderr


@pytest.mark.slow
def test_small_images_and_images_without_regions_are_rejected_at_ingest(tmp_path: Path) -> None:
    root = tmp_path / "data"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    Image.fromarray(PHOTO[:31, :64]).save(root / "images" / "small.png")
    Image.fromarray(block_ids(31, 64)).save(root / "masks" / "small.png")
    Image.fromarray(PHOTO[:48, :64]).save(root / "images" / "empty.png")
    Image.fromarray(np.zeros((48, 64), np.uint8)).save(root / "masks" / "empty.png")
    Image.fromarray(PHOTO[:48, :64]).save(root / "images" / "good.png")
    Image.fromarray(block_ids(48, 64)).save(root / "masks" / "good.png")
    build = tmp_path / "b"
    result = run_cli("ingest", "--source", "folder", "--root", str(root), "--build", str(build),
                     check=False)  # fmt: skip
    assert result.returncode == 1
    assert "small.png: image is 64x31, below the recipe's minimum side of 32 px" in result.stderr
    assert "empty.png: no regions" in result.stderr
    tags = pq.read_table(build / "sources").column("tag").to_pylist()
    assert tags == ["good.png"]
