"""The empty-region rule resizes masks as the published loader: torch nearest, not OpenCV's."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pandaset_build.pairsets import PairRecord, PairRegion, SideLabels
from pandaset_build.panda.data import PandaPairDataset

H, W, S = 480, 640, 224  # a common COCO size, where OpenCV's and torch's nearest disagree


def published_keeps(mask: np.ndarray, size: int) -> bool:
    """The published rule written out: torch's nearest takes source row floor(i * H / size),
    computed in float32 (clamped to H - 1), likewise for columns; keep if any pixel survives."""
    h, w = mask.shape
    rows = np.minimum(np.floor(np.arange(size, dtype=np.float32) * np.float32(h / size)), h - 1)
    cols = np.minimum(np.floor(np.arange(size, dtype=np.float32) * np.float32(w / size)), w - 1)
    return bool(mask[np.ix_(rows.astype(int), cols.astype(int))].any())


def record(masks: list[np.ndarray]) -> PairRecord:
    labels = SideLabels(0, 0, 0.5)
    regions = [
        PairRegion(i, "", (0.0, 0.0, 1.0, 1.0), m, labels, labels, 0) for i, m in enumerate(masks)
    ]
    image = np.zeros((H, W, 3), dtype=np.uint8)
    return PairRecord("t.png", "mixed", "mixed2", image, image, 0.5, 0.5, 0, regions)


def line_mask(row: int) -> np.ndarray:
    mask = np.zeros((H, W), dtype=np.uint8)
    mask[row, 100:110] = 1
    return mask


def test_keep_decisions_match_the_published_rule_region_for_region() -> None:
    masks = [line_mask(row) for row in range(240, 270)]
    dataset = PandaPairDataset([record(masks)], image_size=S)
    kept = dataset[0]["region_index"]
    expected = [i for i, m in enumerate(masks) if published_keeps(m, S)]
    assert kept == expected
    opencv = [i for i, m in enumerate(masks) if cv2.resize(m, (S, S), cv2.INTER_NEAREST).any()]
    assert opencv != expected  # rows 254 and 255: OpenCV's nearest picks the other one


@pytest.mark.parametrize("shape", [(480, 640), (427, 640), (1080, 1920), (17, 33), (224, 224)])
def test_resized_masks_are_torch_nearest(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(0)
    mask = (rng.random(shape) < 0.3).astype(np.uint8)
    h, w = shape
    rows = np.minimum(np.floor(np.arange(S, dtype=np.float32) * np.float32(h / S)), h - 1)
    cols = np.minimum(np.floor(np.arange(S, dtype=np.float32) * np.float32(w / S)), w - 1)
    expected = mask[np.ix_(rows.astype(int), cols.astype(int))]
    assert np.array_equal(PandaPairDataset([], image_size=S)._resize_mask(mask), expected)
