"""Where an image sits in its frame, and the per-call context a sub-type sees."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .shared import Shared


@dataclass(frozen=True)
class Window:
    """An image of `shape` at `offset` (row, column) inside a frame of `frame_shape`."""

    frame_shape: tuple[int, int]
    offset: tuple[int, int]
    shape: tuple[int, int]

    @classmethod
    def of(
        cls, image: np.ndarray, frame_shape: tuple[int, int] | None, offset: tuple[int, int]
    ) -> Window:
        """Validate a crop placement; no `frame_shape` means the image is the whole frame."""
        shape = (int(image.shape[0]), int(image.shape[1]))
        frame = shape if frame_shape is None else (int(frame_shape[0]), int(frame_shape[1]))
        y0, x0 = int(offset[0]), int(offset[1])
        if y0 < 0 or x0 < 0 or y0 + shape[0] > frame[0] or x0 + shape[1] > frame[1]:
            raise ValueError(f"a {shape} crop at {(y0, x0)} does not fit a {frame} frame")
        return cls(frame, (y0, x0), shape)

    @property
    def is_full(self) -> bool:
        return self.shape == self.frame_shape

    @property
    def short_side(self) -> int:
        """S: the short side of the frame, the unit of weather sizes."""
        return min(self.frame_shape)


@dataclass(frozen=True)
class Context:
    """Everything besides pixels, params and draws: placement, statistic mask, distance map,
    the whole frame (None when a crop came without it) and the image's memo (None: no reuse)."""

    window: Window
    stat_mask: np.ndarray | None
    depth: np.ndarray | None
    frame: np.ndarray | None = None
    shared: Shared | None = None


def to_u8(x: np.ndarray) -> np.ndarray:
    """->u8: clip to [0, 1], scale by 255 in x's dtype, cast by truncation (DepictQA's cast)."""
    return np.uint8(np.clip(x, 0, 1) * 255.0)


def unit(image: np.ndarray) -> np.ndarray:
    """x = img / 255 as float64."""
    return image / 255.0
