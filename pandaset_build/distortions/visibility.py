"""How much a rendering changed a region: mean absolute change and share of changed pixels."""

from __future__ import annotations

import cv2
import numpy as np

LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601: grey = .299 R + .587 G + .114 B


def grey(image: np.ndarray) -> np.ndarray:
    """Luma (float64) of an RGB image, in the image's units."""
    return np.asarray(image, dtype=np.float64) @ LUMA


def difference(clean: np.ndarray, rendered: np.ndarray) -> np.ndarray:
    """Per pixel, the sum over the channels of |rendered - clean|: exact integers (uint16) for
    uint8 images, else float64."""
    if clean.dtype == np.uint8 and rendered.dtype == np.uint8:
        change = cv2.absdiff(np.ascontiguousarray(clean), np.ascontiguousarray(rendered))
        return change.sum(axis=-1, dtype=np.uint16)
    return np.abs(np.asarray(rendered, dtype=np.float64) - np.asarray(clean, dtype=np.float64)).sum(
        axis=-1
    )


def mean_of(change: np.ndarray, mask: np.ndarray | None = None, channels: int = 3) -> float:
    """Mean of a `difference` over the mask's pixels (None: every pixel) and the channels."""
    values = change if mask is None else change[mask]
    if not values.size:
        return float("nan")
    total = values.sum(dtype=np.int64 if values.dtype == np.uint16 else np.float64)
    return float(total / (values.size * channels))


def share_of(change: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Share of the mask's pixels (None: every pixel) where a `difference` is not zero."""
    values = change if mask is None else change[mask]
    return np.count_nonzero(values) / values.size if values.size else float("nan")


def mean_abs_change(
    clean: np.ndarray, rendered: np.ndarray, mask: np.ndarray | None = None
) -> float:
    """Mean |rendered - clean| over the mask's pixels (None: every pixel) and the three
    channels, in grey levels (0..255 for uint8): colour-only changes count too."""
    return mean_of(difference(clean, rendered), mask, clean.shape[-1])


def changed_share(clean: np.ndarray, rendered: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Share of the mask's pixels (None: every pixel) where any channel changed."""
    return share_of(difference(clean, rendered), mask)
