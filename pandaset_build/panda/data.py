"""Turn `PairRecord`s into model-ready samples (as the published loader) and collate them."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import torch
from PIL import Image
from pycocotools import mask as mask_utils
from torch.utils.data import Dataset

from pandaset_build.config.panda import AugmentConfig
from pandaset_build.config.recipe import Comparison
from pandaset_build.labels.pairs import compare
from pandaset_build.panda.augment import augment_pair
from pandaset_build.panda.masks import resize_nearest
from pandaset_build.panda.records import ImageLike, MaskLike, PairRecord, PairSource

Sample = dict[str, Any]


def comparison_label(d: float, slight: float = 0.1, significant: float = 0.3) -> int:
    """Comparison id of score difference d = anchor - target (the dataset's own rule)."""
    return compare(d, Comparison(same_below=slight, significant_from=significant))


def decode_mask(mask: MaskLike) -> np.ndarray:
    """H x W uint8 mask from an array or a COCO RLE (uncompressed as published, or compressed)."""
    if isinstance(mask, np.ndarray):
        return (mask > 0).astype(np.uint8)
    h, w = mask["size"]
    rle = mask if isinstance(mask["counts"], str | bytes) else mask_utils.frPyObjects(mask, h, w)
    return mask_utils.decode(rle)


def load_image(image: ImageLike) -> np.ndarray:
    """H x W x 3 uint8 RGB array from a path or an array."""
    if isinstance(image, np.ndarray):
        return image
    with Image.open(image) as im:
        return np.asarray(im.convert("RGB"))


class PandaPairDataset(Dataset):
    """Samples of a `PairSource`: resized images and masks, kept regions, labels; None if empty."""

    def __init__(
        self,
        source: PairSource,
        image_size: int = 224,
        thresholds: tuple[float, float] = (0.1, 0.3),
        max_regions: int = 115,
        augment: AugmentConfig | None = None,
        seed: int = 42,
    ) -> None:
        self.source, self.size, self.thresholds = source, image_size, thresholds
        self.max_regions, self.augment, self.seed = max_regions, augment, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the augmentation draws of an epoch."""
        self.epoch = epoch

    def __len__(self) -> int:
        """Number of pairs (some may have no kept region)."""
        return len(self.source)

    def _resize_mask(self, mask: MaskLike) -> np.ndarray:
        """Decoded mask at S x S by torch's nearest resize, as the published empty-region check."""
        return resize_nearest(decode_mask(mask), self.size)

    def _kept_regions(
        self, rec: PairRecord
    ) -> tuple[list[int], list[np.ndarray], list[np.ndarray]]:
        """Indices and resized masks of regions with both masks and boxes, non-empty at S x S."""
        kept, a_masks, t_masks = [], [], []
        for i, (ra, rt) in enumerate(zip(rec.anchor_regions, rec.target_regions, strict=True)):
            if ra.mask is None or rt.mask is None or ra.bbox is None or rt.bbox is None:
                continue
            ma, mt = self._resize_mask(ra.mask), self._resize_mask(rt.mask)
            if ma.any() and mt.any():
                kept.append(i)
                a_masks.append(ma)
                t_masks.append(mt)
        n = self.max_regions
        return kept[:n], a_masks[:n], t_masks[:n]

    def _resize_image(self, image: ImageLike) -> tuple[np.ndarray, tuple[int, int]]:
        """Bilinear-resized S x S image and the original (H, W)."""
        arr = load_image(image)
        size = (self.size, self.size)
        return cv2.resize(arr, size, interpolation=cv2.INTER_LINEAR), arr.shape[:2]

    def __getitem__(self, index: int) -> Sample | None:
        """One sample, or None when no region survives (the collate drops it)."""
        rec = self.source[index]
        kept, a_masks, t_masks = self._kept_regions(rec)
        if not kept:
            return None
        (a_img, (h, w)), (t_img, _) = map(self._resize_image, (rec.anchor_image, rec.target_image))
        scale = np.array([self.size / w, self.size / h] * 2, dtype=np.float32)
        regions = {
            side: [getattr(rec, f"{side}_regions")[i] for i in kept]
            for side in ("anchor", "target")
        }
        boxes = [np.array([r.bbox for r in regions[s]], np.float32) * scale for s in regions]
        images, masks = [a_img, t_img], [np.stack(a_masks), np.stack(t_masks)]
        if self.augment is not None and self.augment.enabled:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            images, masks, boxes = augment_pair(rng, self.augment, images, masks, boxes)
        matched = list(zip(regions["anchor"], regions["target"], strict=True))
        diffs = [rec.anchor_score - rec.target_score] + [x.score - y.score for x, y in matched]

        def pair_of(name: str) -> list[list[float]]:
            return [[getattr(x, name), getattr(y, name)] for x, y in matched]

        return {
            "anchor": torch.from_numpy(images[0]).permute(2, 0, 1).float() / 255.0,
            "target": torch.from_numpy(images[1]).permute(2, 0, 1).float() / 255.0,
            "anchor_seg_masks": torch.from_numpy(masks[0]),
            "target_seg_masks": torch.from_numpy(masks[1]),
            "anchor_bbox": torch.from_numpy(boxes[0]),
            "target_bbox": torch.from_numpy(boxes[1]),
            "distortion": torch.tensor(pair_of("distortion"), dtype=torch.long),
            "severity": torch.tensor(pair_of("severity"), dtype=torch.long),
            "scores": torch.tensor(pair_of("score"), dtype=torch.float32),
            "comparison": torch.tensor([comparison_label(d, *self.thresholds) for d in diffs]),
            "img_tags": rec.tag,
            "anchor_version": rec.anchor_version,
            "target_version": rec.target_version,
            "data_category": rec.data_category,
            "names": [rec.names[i] if i < len(rec.names) else "" for i in kept],
            "region_index": kept,
            "relations": rec.relations,
        }


TENSOR_PADDING = {
    "anchor_seg_masks": 0,
    "target_seg_masks": 0,
    "anchor_bbox": 0,
    "target_bbox": 0,
    "distortion": -1,
    "severity": -1,
    "scores": 0,
}


def _pad(tensors: list[torch.Tensor], length: int, value: float) -> torch.Tensor:
    """Stack tensors after padding their first axis to `length` with `value`."""
    out = tensors[0].new_full((len(tensors), length, *tensors[0].shape[1:]), value)
    for i, t in enumerate(tensors):
        out[i, : len(t)] = t
    return out


def collate_pairs(samples: list[Sample | None]) -> dict[str, Any] | None:
    """Pad to the batch's most regions (labels -1, masks 0); drop empty pairs; None if all empty."""
    samples = [s for s in samples if s is not None]
    if not samples:
        return None
    r = max(len(s["region_index"]) for s in samples)
    batch: dict[str, Any] = {
        "anchor": torch.stack([s["anchor"] for s in samples]),
        "target": torch.stack([s["target"] for s in samples]),
        "comparison": _pad([s["comparison"] for s in samples], r + 1, -1),
    }
    for key, value in TENSOR_PADDING.items():
        batch[key] = _pad([s[key] for s in samples], r, value)
    batch["region_mask_flags"] = batch["anchor_seg_masks"].flatten(2).any(-1).flatten().bool()
    for key in samples[0]:
        if key not in batch:
            batch[key] = [s[key] for s in samples]
    return batch


def to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """Move a collated batch's tensors to `device` (lists stay as they are)."""
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
