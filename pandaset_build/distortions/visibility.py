"""How much a rendering changed a region: mean absolute change and share of changed pixels."""

from __future__ import annotations

import numpy as np

LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601: grey = .299 R + .587 G + .114 B


def grey(image: np.ndarray) -> np.ndarray:
    """Luma (float64) of an RGB image, in the image's units."""
    return np.asarray(image, dtype=np.float64) @ LUMA


def mean_abs_change(
    clean: np.ndarray, rendered: np.ndarray, mask: np.ndarray | None = None
) -> float:
    """Mean |rendered - clean| over the mask's pixels (None: every pixel) and the three
    channels, in grey levels (0..255 for uint8): colour-only changes count too."""
    change = np.abs(np.asarray(rendered, dtype=np.float64) - np.asarray(clean, dtype=np.float64))
    per_pixel = change.mean(axis=-1)
    return float(per_pixel.mean() if mask is None else per_pixel[mask].mean())


def changed_share(clean: np.ndarray, rendered: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Share of the mask's pixels (None: every pixel) where any channel changed."""
    changed = (np.asarray(clean) != np.asarray(rendered)).any(axis=-1)
    return float(changed.mean() if mask is None else changed[mask].mean())
