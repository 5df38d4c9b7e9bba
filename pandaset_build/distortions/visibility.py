"""How much a rendering changed a region: mean grey-level change and share of changed pixels."""

from __future__ import annotations

import numpy as np

LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601 weights: grey = .299 R + .587 G + .114 B


def grey(image: np.ndarray) -> np.ndarray:
    """Grey levels (float64, 0..255 for uint8 input; 0..1 for unit input) of an RGB image."""
    return np.asarray(image, dtype=np.float64) @ LUMA


def mean_grey_change(
    clean: np.ndarray, rendered: np.ndarray, mask: np.ndarray | None = None
) -> float:
    """Mean |grey(rendered) - grey(clean)| over the mask (None: every pixel), in grey levels."""
    change = np.abs(grey(rendered) - grey(clean))
    return float(change.mean() if mask is None else change[mask].mean())


def changed_share(clean: np.ndarray, rendered: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Share of the mask's pixels (None: every pixel) where any channel changed."""
    changed = (np.asarray(clean) != np.asarray(rendered)).any(axis=-1)
    return float(changed.mean() if mask is None else changed[mask].mean())
