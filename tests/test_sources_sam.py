"""Folder reader on SAM-shaped masks: per-mask folders, 0/255 masks, ids numbered from 0."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from sources_data import decode_rle, write_image

from pandaset_build.errors import BadInput
from pandaset_build.sources import folder

SAM_HEADER = (
    "id,area,bbox_x0,bbox_y0,bbox_w,bbox_h,point_input_x,point_input_y,predicted_iou,"
    "stability_score,crop_box_x0,crop_box_y0,crop_box_w,crop_box_h"
)
H, W = 24, 32


def sam_masks() -> list[np.ndarray]:
    """Overlapping masks as SAM gives them: a large one, two inside it, one fully covered."""
    masks = [np.zeros((H, W), dtype=bool) for _ in range(5)]
    masks[0][2:22, 2:30] = True  # large: loses what the smaller ones cover
    masks[1][4:12, 4:14] = True  # inside 0
    masks[2][10:20, 10:26] = True  # overlaps 0 and 1
    masks[3][5:7, 5:7] = True  # tiny, inside 1
    masks[4][4:12, 4:14] = True  # the same pixels as 1: the tie goes to 1, 4 is left empty
    masks[4][5:7, 5:7] = True
    return masks


def write_sam_folder(folder_path: Path, masks: list[np.ndarray], metadata: bool = True) -> None:
    """One 0/255 PNG per mask (`<i>.png`, as SAM's amg.py writes with cv2) and metadata.csv."""
    folder_path.mkdir(parents=True)
    rows = [SAM_HEADER]
    for i, mask in enumerate(masks):
        cv2.imwrite(str(folder_path / f"{i}.png"), mask.astype(np.uint8) * 255)
        ys, xs = np.nonzero(mask)
        box = [xs.min(), ys.min(), np.ptp(xs), np.ptp(ys)] if mask.any() else [0, 0, 0, 0]
        rows.append(",".join(map(str, [i, int(mask.sum()), *box, 1, 1, 0.9, 0.95, 0, 0, W, H])))
    if metadata:
        (folder_path / "metadata.csv").write_text("\n".join(rows) + "\n")


def expected_disjoint(masks: list[np.ndarray]) -> list[np.ndarray]:
    """Each mask minus the pixels of every smaller mask (a tie: the one listed first wins)."""
    areas = [int(m.sum()) for m in masks]
    out = []
    for i, mask in enumerate(masks):
        smaller = [m for j, m in enumerate(masks) if (areas[j], j) < (areas[i], i)]
        out.append(mask & ~np.logical_or.reduce(smaller) if smaller else mask.copy())
    return out


def one_image(root: Path, stem: str = "photo") -> Path:
    write_image(root / "images" / f"{stem}.png", np.random.default_rng(1), H, W)
    (root / "masks").mkdir(exist_ok=True)
    return root / "images" / f"{stem}.png"


def load(root: Path, **options: object) -> list:
    items, failures = folder.list_items(root, **options)
    assert not failures, failures
    return [folder.load_item(item) for item in items]


def test_sam_per_mask_folder_is_made_disjoint_smaller_on_top(tmp_path: Path) -> None:
    one_image(tmp_path)
    masks = sam_masks()
    write_sam_folder(tmp_path / "masks" / "photo", masks)
    sidecar = {"segments": [{"id": 0, "name": "wall"}, {"id": 2, "name": "sofa"}]}
    (tmp_path / "masks" / "photo.json").write_text(json.dumps(sidecar))
    (record,) = load(tmp_path)
    expected = expected_disjoint(masks)
    kept = [i for i, m in enumerate(expected) if m.any()]
    assert kept == [0, 1, 2, 3]  # mask 4 lost every pixel to the equally large, earlier mask 1
    assert record.dropped_regions == 1
    assert [r.region_id for r in record.regions] == [0, 1, 2, 3]
    for region, index in zip(record.regions, kept, strict=True):
        assert np.array_equal(decode_rle(region.mask), expected[index])
        assert region.category_id == -1 and region.isthing
    assert [r.name for r in record.regions] == ["wall", "", "sofa", ""]
    given = sum(int(m.sum()) for m in masks)
    kept_pixels = sum(int(m.sum()) for m in expected)
    assert record.overlap_share == pytest.approx((given - kept_pixels) / given)
    union = np.logical_or.reduce(masks)
    assert sum(r.area for r in record.regions) == int(union.sum())


def test_masks_numbered_past_nine_keep_number_order(tmp_path: Path) -> None:
    one_image(tmp_path)
    masks = [np.zeros((H, W), dtype=bool) for _ in range(12)]
    for i, mask in enumerate(masks):
        mask[i * 2, :] = True  # even rows; the sky keeps the odd ones
    write_sam_folder(tmp_path / "masks" / "photo", masks, metadata=False)
    cv2.imwrite(str(tmp_path / "masks" / "photo" / "sky.png"), np.full((H, W), 255, np.uint8))
    (record,) = load(tmp_path)
    names = [r.name for r in record.regions]
    assert names == [""] * 12 + ["sky"]
    for region, mask in zip(record.regions[:12], masks, strict=True):
        assert np.array_equal(decode_rle(region.mask), mask)


def test_sam_metadata_must_list_the_folder(tmp_path: Path) -> None:
    one_image(tmp_path)
    write_sam_folder(tmp_path / "masks" / "photo", sam_masks())
    (tmp_path / "masks" / "photo" / "3.png").unlink()
    items, _ = folder.list_items(tmp_path)
    with pytest.raises(BadInput) as info:
        folder.load_item(items[0])
    message = str(info.value)
    assert str(tmp_path / "masks" / "photo" / "metadata.csv") in message
    assert "[3]" in message and "no PNG" in message and "as SAM wrote it" in message


def test_a_mask_file_and_a_mask_folder_are_ambiguous(tmp_path: Path) -> None:
    one_image(tmp_path)
    write_sam_folder(tmp_path / "masks" / "photo", sam_masks())
    Image.fromarray(np.zeros((H, W), np.uint8)).save(tmp_path / "masks" / "photo.png")
    items, failures = folder.list_items(tmp_path)
    assert not items
    (failure,) = failures
    assert str(tmp_path / "images" / "photo.png") in str(failure)
    assert "per-mask folder" in str(failure) and "keep one" in str(failure)


def test_binary_0_255_mask_is_one_region_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    one_image(tmp_path)
    mask = np.zeros((H, W), dtype=bool)
    mask[3:15, 6:20] = True
    cv2.imwrite(str(tmp_path / "masks" / "photo.png"), mask.astype(np.uint8) * 255)
    with caplog.at_level(logging.WARNING):
        (record,) = load(tmp_path)
    assert len(record.regions) == 1
    assert np.array_equal(decode_rle(record.regions[0].mask), mask)
    assert "binary mask gives one region" in caplog.text
    assert str(tmp_path / "masks" / "photo.png") in caplog.text
    assert "per-mask folder" in caplog.text


def test_one_bit_mask_reads_as_one_region(tmp_path: Path) -> None:
    one_image(tmp_path)
    mask = np.zeros((H, W), dtype=bool)
    mask[1:9, 2:30] = True
    Image.fromarray(mask).save(tmp_path / "masks" / "photo.png")
    assert Image.open(tmp_path / "masks" / "photo.png").mode == "1"
    (record,) = load(tmp_path)
    assert len(record.regions) == 1
    assert np.array_equal(decode_rle(record.regions[0].mask), mask)


def sam_ids(masks: list[np.ndarray], unlabelled: int) -> np.ndarray:
    """An id map with mask i written as id i (SAM's numbering), `unlabelled` elsewhere."""
    ids = np.full((H, W), unlabelled, dtype=np.uint8)
    for i, mask in enumerate(masks):
        ids[mask] = i
    return ids


def strips() -> list[np.ndarray]:
    masks = [np.zeros((H, W), dtype=bool) for _ in range(3)]
    for i, mask in enumerate(masks):
        mask[i * 6 : i * 6 + 5, 3:28] = True
    return masks


def test_ids_from_zero_warn_and_read_with_mask_background(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    one_image(tmp_path)
    masks = strips()
    Image.fromarray(sam_ids(masks, 255)).save(tmp_path / "masks" / "photo.png")
    with caplog.at_level(logging.WARNING):
        (record,) = load(tmp_path)
    assert "--mask-background 255" in caplog.text and "numbered from 0" in caplog.text
    assert len(record.regions) == 3  # ids 1, 2 and the unlabelled 255: mask 0 was lost
    (record,) = load(tmp_path, mask_background=255)
    assert len(record.regions) == 3
    for region, mask in zip(record.regions, masks, strict=True):
        assert np.array_equal(decode_rle(region.mask), mask)


def test_a_sidecar_naming_the_unlabelled_id_says_what_to_pass(tmp_path: Path) -> None:
    one_image(tmp_path)
    Image.fromarray(sam_ids(strips(), 255)).save(tmp_path / "masks" / "photo.png")
    sidecar = {"segments": [{"id": 0, "name": "road"}, {"id": 1, "name": "car"}]}
    (tmp_path / "masks" / "photo.json").write_text(json.dumps(sidecar))
    items, _ = folder.list_items(tmp_path)
    with pytest.raises(BadInput) as info:
        folder.load_item(items[0])
    message = str(info.value)
    assert str(tmp_path / "masks" / "photo.json") in message
    assert "names id 0" in message and "--mask-background" in message
    (record,) = load(tmp_path, mask_background=255)
    assert [r.name for r in record.regions] == ["road", "car", ""]
