"""A generated miniature of the Seagull-100w release: references, Blur_k / Noise_k ISP images,
and a Labels JSON in SEAGULL's ROI form (size-less compressed RLE, inclusive points), with
overlapping ROIs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils

IDS = ("r0a1b2c3dt", "r1d2e3f4at", "r5e443e5dt")
UNLABELLED = "r9f9f9f9ft"  # a reference the label file has no ROI for
HEIGHT, WIDTH = 48, 64
# Folder k does not follow the degree (the release warns so): Blur_1 is the mildest.
BLUR_SIGMAS = {"Blur_0": 3.0, "Blur_1": 0.7, "Blur_2": 1.5}
NOISE_SIGMAS = {"Noise_0": 10.0, "Noise_1": 25.0, "Noise_2": 3.0}
LABELS = "Labels/SEAGULL-100w_mask-based-rois.json"
FAST_VIEW = "Labels/SEAGULL-100w_mask-based-rois_fast-view.json"


@dataclass
class Reference:
    ref_id: str
    image: np.ndarray
    rois: list[np.ndarray]  # as listed, overlapping


def counts(mask: np.ndarray) -> str:
    """SEAGULL's `rle`: the compressed counts string alone (no size)."""
    return mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))["counts"].decode()


def inclusive_points(mask: np.ndarray) -> list[int]:
    """SEAGULL's `points`: x, y of the first pixel and w, h to the last one (inclusive)."""
    ys, xs = np.nonzero(mask)
    return [int(xs.min()), int(ys.min()), int(xs.max() - xs.min()), int(ys.max() - ys.min())]


def rois_of(rng: np.random.Generator) -> list[np.ndarray]:
    """Overlapping ROIs: a large one, two halves covering a middle one (left empty), a blob."""
    masks = [np.zeros((HEIGHT, WIDTH), dtype=bool) for _ in range(5)]
    top = int(rng.integers(2, 6))
    masks[0][top : top + 36, 2:60] = True  # large: keeps what no smaller ROI covers
    masks[1][10:30, 8:40] = True  # covered exactly by ROIs 2 and 3, both smaller
    masks[2][10:30, 8:24] = True
    masks[3][10:30, 24:40] = True
    cy, cx = int(rng.integers(20, 30)), int(rng.integers(40, 52))
    yy, xx = np.mgrid[:HEIGHT, :WIDTH]
    masks[4] = (yy - cy) ** 2 + (xx - cx) ** 2 <= 64  # overlaps ROI 0 only
    return masks


def write_png(path: Path, pixels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def textured(rng: np.random.Generator) -> np.ndarray:
    """A photo-like texture (smoothed noise) so blur and noise change every region."""
    base = rng.integers(0, 256, (HEIGHT, WIDTH, 3)).astype(np.float32)
    return np.clip(cv2.GaussianBlur(base, (0, 0), 1.0) * 1.5 - 64, 0, 255).astype(np.uint8)


def write_tree(root: Path, seed: int = 0) -> dict[str, Reference]:
    """Write SEAGULL-100w/ under root; returns the references with their ROIs."""
    rng = np.random.default_rng(seed)
    refs = {}
    for ref_id in (*IDS, UNLABELLED):
        image = textured(rng)
        write_png(root / "Ref.Images" / f"{ref_id}.png", image)
        for folder, sigma in BLUR_SIGMAS.items():
            blurred = cv2.GaussianBlur(image, (0, 0), sigma)
            write_png(root / "Dist.Images" / "Blur" / folder / f"{ref_id}.png", blurred)
        for folder, sigma in NOISE_SIGMAS.items():
            noisy = image + rng.normal(0, sigma, image.shape)
            write_png(
                root / "Dist.Images" / "Noise" / folder / f"{ref_id}.png",
                np.clip(noisy, 0, 255).astype(np.uint8),
            )
        write_png(root / "Dist.Images" / "Contrast" / "Contrast_0" / f"{ref_id}.png", image // 2)
        refs[ref_id] = Reference(ref_id, image, rois_of(rng))
    entries = [
        {"img": f"{ref_id}.png", "rle": counts(m), "points": inclusive_points(m)}
        for ref_id in IDS
        for m in refs[ref_id].rois
    ]
    entries.append(dict(entries[0]))  # the same ROI listed twice: kept once
    (root / "Labels").mkdir()
    (root / LABELS).write_text(json.dumps(entries))
    fast = {
        ref_id: [{"rle": counts(m), "points": inclusive_points(m)} for m in refs[ref_id].rois]
        for ref_id in IDS[:2]
    }
    (root / FAST_VIEW).write_text(json.dumps(fast))
    del refs[UNLABELLED]
    return refs


def minus_smaller(masks: list[np.ndarray]) -> list[np.ndarray]:
    """Each ROI minus the pixels of every smaller ROI (equal sizes: the earlier one wins)."""
    areas = [int(m.sum()) for m in masks]
    out = []
    for i, mask in enumerate(masks):
        smaller = [m for j, m in enumerate(masks) if (areas[j], j) < (areas[i], i)]
        out.append(mask & ~np.logical_or.reduce(smaller) if smaller else mask.copy())
    return out


def rms_change(image: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> float:
    """Root-mean-square RGB difference over the mask's pixels, computed directly."""
    diff = image[mask].astype(np.float64) - reference[mask].astype(np.float64)
    return float(np.sqrt(np.mean(diff**2)))
