"""OpenCV colour conversions whose result does not depend on where a pixel sits in its row."""

from __future__ import annotations

import cv2
import numpy as np

ROW_QUANTUM = 128  # pad rows to a multiple of this many pixels: every pixel takes the SIMD path


def hsv_u8_to_rgb(hsv: np.ndarray) -> np.ndarray:
    """cv2 8-bit HSV -> RGB; its scalar row tail rounds differently, so rows are padded first."""
    height, width = hsv.shape[:2]
    padded_width = -(-width // ROW_QUANTUM) * ROW_QUANTUM
    padded = np.zeros((height, padded_width, 3), dtype=np.uint8)
    padded[:, :width] = hsv
    return np.ascontiguousarray(cv2.cvtColor(padded, cv2.COLOR_HSV2RGB)[:, :width])
