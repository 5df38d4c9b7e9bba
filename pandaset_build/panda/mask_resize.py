"""Region masks at the model's resolution, resized as the published loader's empty-region check."""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F


def resize_nearest(mask: np.ndarray, size: int) -> np.ndarray:
    """An H x W mask as size x size uint8, by torch's nearest resize (`F.interpolate(mode=
    "nearest")`: source index floor(i * H / size)), as the published `helper.resize_mask`."""
    pixels = torch.from_numpy(np.ascontiguousarray(mask, dtype=np.uint8))[None, None]
    return F.interpolate(pixels, size=(size, size), mode="nearest")[0, 0].numpy()


def survives_resize(mask: np.ndarray, size: int) -> bool:
    """True when a mask keeps at least one pixel at size x size (the published keep rule)."""
    return bool(resize_nearest(mask, size).any())
