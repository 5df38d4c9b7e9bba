"""OpenCV colour conversions whose result does not depend on where a pixel sits in its row."""

from __future__ import annotations

import cv2
import numpy as np

ROW_QUANTUM = 128  # pad rows to a multiple of this many pixels: every pixel takes the SIMD path


def convert(image: np.ndarray, code: int) -> np.ndarray:
    """cv2.cvtColor with rows padded first: its scalar row tail rounds differently from SIMD."""
    height, width = image.shape[:2]
    padded_width = -(-width // ROW_QUANTUM) * ROW_QUANTUM
    padded = np.zeros((height, padded_width, 3), dtype=image.dtype)
    padded[:, :width] = image
    return np.ascontiguousarray(cv2.cvtColor(padded, code)[:, :width])


def hsv_u8_to_rgb(hsv: np.ndarray) -> np.ndarray:
    """cv2 8-bit HSV -> RGB, position-independent."""
    return convert(hsv, cv2.COLOR_HSV2RGB)
