"""saturate_inc/* and saturate_dec/*: S scale in uint8 HSV, chroma scale in uint8 YCrCb."""

from __future__ import annotations

import cv2
import numpy as np

from .colour import hsv_u8_to_rgb
from .params import Number
from .registry import Params, register
from .window import Context

CHROMA_ZERO = 128  # cv2 uint8 YCrCb: Cr and Cb are centred on 128


def _hsv(image: np.ndarray, factor: float) -> np.ndarray:
    """uint8 HSV as float32, S * s, clip 0..255, truncate, back to RGB."""
    hsv = np.float32(cv2.cvtColor(image, cv2.COLOR_RGB2HSV))
    hsv[:, :, 1] = factor * hsv[:, :, 1]
    return hsv_u8_to_rgb(np.uint8(np.clip(hsv, 0, 255)))


def _ycrcb(image: np.ndarray, factor: float) -> np.ndarray:
    """uint8 YCrCb as float32, chroma 128 + (c - 128) s, clip 0..255 in YCrCb, truncate."""
    ycrcb = np.float32(cv2.cvtColor(image, cv2.COLOR_RGB2YCrCb))
    ycrcb[:, :, 1:] = CHROMA_ZERO + (ycrcb[:, :, 1:] - CHROMA_ZERO) * factor
    return cv2.cvtColor(np.uint8(np.clip(ycrcb, 0, 255)), cv2.COLOR_YCrCb2RGB)


@register("saturate_inc/hsv", params={"factor": Number(above=1, order="rising")})
def saturate_inc_hsv(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """HSV saturation times s > 1."""
    return _hsv(image, params["factor"])


@register("saturate_inc/ycrcb", params={"factor": Number(above=1, order="rising")})
def saturate_inc_ycrcb(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """YCrCb chroma times s > 1 (the chroma clip shifts hue, as in DepictQA)."""
    return _ycrcb(image, params["factor"])


@register("saturate_dec/hsv", params={"factor": Number(at_least=0, below=1, order="falling")})
def saturate_dec_hsv(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """HSV saturation times s < 1."""
    return _hsv(image, params["factor"])


@register("saturate_dec/ycrcb", params={"factor": Number(at_least=0, below=1, order="falling")})
def saturate_dec_ycrcb(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """YCrCb chroma times s < 1."""
    return _ycrcb(image, params["factor"])
