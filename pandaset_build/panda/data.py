"""Turn pair records into model-ready samples (as the published loader) and collate them.

Comparison labels are the ones the build wrote (`PairRegion.comparison`), never recomputed here.
A region's mask is decoded and resized once per image, however many pairs show it.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TypedDict

import cv2
import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from pandaset_build.config.panda import AugmentConfig
from pandaset_build.pairsets.record import ImageRef, MaskRef, PairRecord, PairSource
from pandaset_build.panda.augment import augment_pair
from pandaset_build.panda.mask_resize import resize_nearest
from pandaset_build.store.masks import Rle, decode_mask, encode_mask


class Sample(TypedDict):
    """One model sample: S x S images, kept regions' masks, boxes and labels, the pair's names."""

    anchor: torch.Tensor  # (3, S, S) in [0, 1]
    target: torch.Tensor
    anchor_seg_masks: torch.Tensor  # (R, S, S) uint8
    target_seg_masks: torch.Tensor
    anchor_bbox: torch.Tensor  # (R, 4) xywh at S x S
    target_bbox: torch.Tensor
    distortion: torch.Tensor  # (R, 2): anchor, target
    severity: torch.Tensor
    scores: torch.Tensor
    comparison: torch.Tensor  # (R + 1,): the image's comparison, then the regions'
    img_tags: str
    anchor_version: str
    target_version: str
    data_category: str
    names: list[str]
    region_index: list[int]
    relations: list[list[int]]


# A collated batch: Sample's tensors padded and stacked, `region_mask_flags`, and per-pair lists
# of the rest (see `collate_pairs`).
Batch = dict[str, torch.Tensor | list]
MaskKey = tuple[str, tuple[int, ...]]


def mask_array(mask: Rle | np.ndarray) -> np.ndarray:
    """H x W uint8 mask of an array or a COCO RLE (uncompressed as published, or compressed)."""
    if isinstance(mask, np.ndarray):
        return (mask > 0).astype(np.uint8)
    return decode_mask(mask).astype(np.uint8)


def load_image(image: ImageRef) -> np.ndarray:
    """H x W x 3 uint8 RGB pixels of encoded bytes, a file, or an array."""
    if isinstance(image, np.ndarray):
        return image
    source = io.BytesIO(image) if isinstance(image, bytes) else Path(image)
    with Image.open(source) as im:
        return np.asarray(im.convert("RGB"))


def _mask_identity(mask: MaskRef) -> int:
    """A cheap fingerprint of a stored mask, so two masks under one tag are told apart."""
    if mask is None:
        return 0
    if isinstance(mask, np.ndarray):
        return hash(mask.tobytes())
    counts = mask["counts"]
    return hash(counts if isinstance(counts, str | bytes) else tuple(counts))


class PandaPairDataset(Dataset):
    """Samples of a `PairSource`: resized images and masks, kept regions, labels; None if empty."""

    def __init__(
        self,
        source: PairSource,
        image_size: int = 224,
        max_regions: int = 115,
        augment: AugmentConfig | None = None,
        seed: int = 42,
    ) -> None:
        self.source, self.size = source, image_size
        self.max_regions, self.augment, self.seed = max_regions, augment, seed
        self.epoch = 0
        self._masks: dict[MaskKey, list[Rle | None]] = {}

    def set_epoch(self, epoch: int) -> None:
        """Select the augmentation draws of an epoch."""
        self.epoch = epoch

    def __len__(self) -> int:
        """Number of pairs (some may have no kept region)."""
        return len(self.source)

    def _resize_mask(self, mask: Rle | np.ndarray) -> np.ndarray:
        """Decoded mask at S x S by torch's nearest resize, as the published empty-region check."""
        return resize_nearest(mask_array(mask), self.size)

    def _region_masks(self, rec: PairRecord) -> list[Rle | None]:
        """Per region its S x S mask as RLE, or None when it is missing or empty at S x S.

        Computed once per image (tag and masks) and reused by all of its pairs.
        """
        key = (rec.tag, tuple(_mask_identity(r.mask) for r in rec.regions))
        if key not in self._masks:
            masks: list[Rle | None] = []
            for region in rec.regions:
                small = None
                if region.mask is not None and region.bbox is not None:
                    small = self._resize_mask(region.mask)
                masks.append(encode_mask(small) if small is not None and small.any() else None)
            self._masks[key] = masks
        return self._masks[key]

    def _kept_regions(self, rec: PairRecord) -> tuple[list[int], list[np.ndarray]]:
        """Indices and S x S masks of the regions with a mask and box that survive the resize."""
        kept = [(i, m) for i, m in enumerate(self._region_masks(rec)) if m is not None]
        kept = kept[: self.max_regions]
        return [i for i, _ in kept], [decode_mask(m).astype(np.uint8) for _, m in kept]

    def _resize_image(self, image: ImageRef) -> tuple[np.ndarray, tuple[int, int]]:
        """Bilinear-resized S x S image and the original (H, W)."""
        arr = load_image(image)
        size = (self.size, self.size)
        return cv2.resize(arr, size, interpolation=cv2.INTER_LINEAR), arr.shape[:2]

    def __getitem__(self, index: int) -> Sample | None:
        """One sample, or None when no region survives (the collate drops it)."""
        rec = self.source[index]
        kept, masks = self._kept_regions(rec)
        if not kept:
            return None
        (a_img, (h, w)), (t_img, _) = map(self._resize_image, (rec.anchor_image, rec.target_image))
        scale = np.array([self.size / w, self.size / h] * 2, dtype=np.float32)
        regions = [rec.regions[i] for i in kept]
        box = np.array([r.bbox for r in regions], np.float32) * scale
        images, stacks, boxes = [a_img, t_img], [np.stack(masks), np.stack(masks)], [box, box]
        if self.augment is not None and self.augment.enabled:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            images, stacks, boxes = augment_pair(rng, self.augment, images, stacks, boxes)

        def pair_of(name: str) -> list[list[float]]:
            return [[getattr(r.anchor, name), getattr(r.target, name)] for r in regions]

        return {
            "anchor": torch.from_numpy(images[0]).permute(2, 0, 1).float() / 255.0,
            "target": torch.from_numpy(images[1]).permute(2, 0, 1).float() / 255.0,
            "anchor_seg_masks": torch.from_numpy(stacks[0]),
            "target_seg_masks": torch.from_numpy(stacks[1]),
            "anchor_bbox": torch.from_numpy(boxes[0]),
            "target_bbox": torch.from_numpy(boxes[1]),
            "distortion": torch.tensor(pair_of("distortion"), dtype=torch.long),
            "severity": torch.tensor(pair_of("severity"), dtype=torch.long),
            "scores": torch.tensor(pair_of("score"), dtype=torch.float32),
            "comparison": torch.tensor([rec.image_comparison] + [r.comparison for r in regions]),
            "img_tags": rec.tag,
            "anchor_version": rec.anchor_version,
            "target_version": rec.target_version,
            "data_category": rec.data_category,
            "names": [r.name for r in regions],
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


def collate_pairs(samples: list[Sample | None]) -> Batch | None:
    """Pad to the batch's most regions (labels -1, masks 0); drop empty pairs; None if all empty."""
    samples = [s for s in samples if s is not None]
    if not samples:
        return None
    r = max(len(s["region_index"]) for s in samples)
    batch: Batch = {
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


def to_device(batch: Batch, device: torch.device) -> Batch:
    """Move a collated batch's tensors to `device` (lists stay as they are)."""
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
