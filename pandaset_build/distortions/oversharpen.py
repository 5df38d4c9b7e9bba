"""oversharpen/oversharpen: unsharp masking with OpenCV's fixed 5x5 binomial blur."""

from __future__ import annotations

import cv2
import numpy as np

from .params import POSITIVE_RISING
from .registry import Params, register
from .window import Context

BINOMIAL_KSIZE = (5, 5)  # with sigma 0, OpenCV's fixed [1, 4, 6, 4, 1] / 16 kernel


@register(
    "oversharpen/oversharpen",
    margin=lambda params, frame_shape: BINOMIAL_KSIZE[0] // 2,
    params={"amount": POSITIVE_RISING},
)
def oversharpen(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """Unsharp mask on uint8: (1 + a) img - a GaussianBlur5x5(img), rounded and saturated."""
    amount = float(params["amount"])
    blurred = cv2.GaussianBlur(image, BINOMIAL_KSIZE, 0)
    return cv2.addWeighted(image, 1 + amount, blurred, -amount, 0)
