"""ISP-distorted images of a reference (Seagull-100w's `Blur_k`, `Noise_k`), measured per region.

Which image serves which severity is decided from these measurements at distort time
(`render.plan`): the change of an image in a region is the root-mean-square RGB difference
from the reference over the region's pixels, in 0..255 units.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from pandaset_build.errors import BadInput
from pandaset_build.store.images import read_rgb
from pandaset_build.store.records import IspImage


def region_labels(masks: Sequence[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """HxW int32 map holding r + 1 on region r's pixels and 0 elsewhere (masks are disjoint)."""
    labels = np.zeros(shape, dtype=np.int32)
    for index, mask in enumerate(masks):
        labels[mask] = index + 1
    return labels


def region_change(reference: np.ndarray, distorted: np.ndarray, labels: np.ndarray) -> list[float]:
    """Per region (label r + 1), the RMS RGB difference of `distorted` from `reference`."""
    count = int(labels.max(initial=0))
    diff = cv2.absdiff(reference, distorted)
    squared = cv2.multiply(diff, diff, dtype=cv2.CV_32F)  # exact: squares are below 2^24
    per_pixel = cv2.transform(squared, np.ones((1, squared.shape[2]), np.float32))
    flat = labels.ravel()
    sums = np.bincount(flat, weights=per_pixel.ravel(), minlength=count + 1)[1:]
    pixels = np.bincount(flat, minlength=count + 1)[1:] * reference.shape[2]
    return [float(v) for v in np.sqrt(sums / np.maximum(pixels, 1))]


def measure(
    family: str, folder: str, path: str, reference: np.ndarray, labels: np.ndarray
) -> IspImage:
    """An ISP image of `reference` with its per-region change; BadInput if its size differs."""
    pixels = read_rgb(path)
    if pixels.shape != reference.shape:
        raise BadInput(
            path,
            f"is {pixels.shape[1]}x{pixels.shape[0]} but its reference is "
            f"{reference.shape[1]}x{reference.shape[0]}: an ISP image must have its reference's "
            "size (remove it or replace it by the released file)",
        )
    return {
        "family": family,
        "folder": folder,
        "path": path,
        "change": region_change(reference, pixels, labels),
    }
