"""Region crops with reference pixels outside the mask, and the shape buckets they fit in."""

from __future__ import annotations

import math

import cv2
import numpy as np

ASPECT_STEPS = 4


def region_crops(
    version: np.ndarray, reference: np.ndarray, mask: np.ndarray, bbox: list[float]
) -> tuple[np.ndarray, np.ndarray]:
    """The region's box from the version and the reference; outside the mask, reference pixels."""
    x, y, w, h = (int(v) for v in bbox)
    window = (slice(y, y + h), slice(x, x + w))
    reference_crop = reference[window]
    distorted_crop = np.where(mask[window][..., None], version[window], reference_crop)
    return distorted_crop, reference_crop


def bucket_shape(height: int, width: int, long_sides: list[int], min_short: int) -> tuple[int, int]:
    """The (h, w) a crop is resized to: long side from the recipe, aspect in quarter steps."""
    long_side = max(height, width)
    bucket_long = next((b for b in sorted(long_sides) if b >= long_side), max(long_sides))
    aspect = min(height, width) / long_side
    step = bucket_long / ASPECT_STEPS
    short = round(max(min_short, min(bucket_long, math.ceil(aspect * ASPECT_STEPS) * step)))
    return (bucket_long, short) if height >= width else (short, bucket_long)


def resize_to(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize (area when shrinking, bilinear when enlarging); unchanged when already that shape."""
    if image.shape[:2] == shape:
        return image
    shrinking = shape[0] * shape[1] < image.shape[0] * image.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(image, (shape[1], shape[0]), interpolation=interpolation)
