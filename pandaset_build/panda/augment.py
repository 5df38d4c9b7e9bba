"""Joint flips and 90-degree rotations of square images, masks and COCO boxes."""

from __future__ import annotations

import numpy as np

from pandaset_build.config.panda import AugmentConfig


def _hflip_boxes(boxes: np.ndarray, size: int) -> np.ndarray:
    """Mirror xywh boxes left-right."""
    x, y, w, h = boxes.T
    return np.stack([size - x - w, y, w, h], axis=1)


def _vflip_boxes(boxes: np.ndarray, size: int) -> np.ndarray:
    """Mirror xywh boxes top-bottom."""
    x, y, w, h = boxes.T
    return np.stack([x, size - y - h, w, h], axis=1)


def _rot90_boxes(boxes: np.ndarray, size: int) -> np.ndarray:
    """Rotate xywh boxes 90 degrees counter-clockwise (as `np.rot90`)."""
    x, y, w, h = boxes.T
    return np.stack([y, size - x - w, h, w], axis=1)


def augment_pair(
    rng: np.random.Generator,
    cfg: AugmentConfig,
    images: list[np.ndarray],
    masks: list[np.ndarray],
    boxes: list[np.ndarray],
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Apply one random geometry to all arrays: images (S,S,C), masks (R,S,S), boxes (R,4)."""
    size = images[0].shape[0]
    if rng.random() < cfg.hflip:
        images = [im[:, ::-1] for im in images]
        masks = [m[:, :, ::-1] for m in masks]
        boxes = [_hflip_boxes(b, size) for b in boxes]
    if rng.random() < cfg.vflip:
        images = [im[::-1] for im in images]
        masks = [m[:, ::-1] for m in masks]
        boxes = [_vflip_boxes(b, size) for b in boxes]
    if rng.random() < cfg.rot90:
        k = int(rng.integers(0, 4))
        images = [np.rot90(im, k, axes=(0, 1)) for im in images]
        masks = [np.rot90(m, k, axes=(1, 2)) for m in masks]
        for _ in range(k):
            boxes = [_rot90_boxes(b, size) for b in boxes]
    as_c = np.ascontiguousarray
    return [as_c(i) for i in images], [as_c(m) for m in masks], boxes
