"""brightness/* and darken/*: V shift in float HSV, RGB shift, gamma on uint8 HSV V, RGB gamma."""

from __future__ import annotations

import cv2
import numpy as np

from .colour import hsv_u8_to_rgb
from .params import SHARE_RISING, Number
from .registry import Params, register
from .window import Context, to_u8, unit


def _shift_hsv(image: np.ndarray, shift: float) -> np.ndarray:
    """cv2 float32 HSV, V + shift without clipping V, back to RGB."""
    hsv = cv2.cvtColor(np.float32(unit(image)), cv2.COLOR_RGB2HSV)
    hsv[:, :, 2] += shift
    return to_u8(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB))


def _shift_rgb(image: np.ndarray, shift: float) -> np.ndarray:
    return to_u8(np.float32(unit(image)) + shift)


def _gamma_hsv(image: np.ndarray, gamma: float) -> np.ndarray:
    """cv2 uint8 HSV / 255, V^gamma, ->u8, back to RGB (H and S come back exactly)."""
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV) / 255.0
    hsv[:, :, 2] = hsv[:, :, 2] ** gamma
    return hsv_u8_to_rgb(to_u8(hsv))


def _gamma_rgb(image: np.ndarray, gamma: float) -> np.ndarray:
    return to_u8(unit(image) ** gamma)


@register("brightness/shift_hsv", params={"shift": SHARE_RISING})
def brighten_shift_hsv(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """V + s in float HSV: c' = c (V + s) / V; black becomes grey s."""
    return _shift_hsv(image, params["shift"])


@register("brightness/shift_rgb", params={"shift": SHARE_RISING})
def brighten_shift_rgb(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """x + s."""
    return _shift_rgb(image, params["shift"])


@register("brightness/gamma_hsv", params={"gamma": Number(above=0, below=1, order="falling")})
def brighten_gamma_hsv(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """V^gamma on uint8 HSV, gamma < 1."""
    return _gamma_hsv(image, params["gamma"])


@register("brightness/gamma_rgb", params={"gamma": Number(above=0, below=1, order="falling")})
def brighten_gamma_rgb(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """x^gamma, gamma < 1."""
    return _gamma_rgb(image, params["gamma"])


@register("darken/shift_hsv", params={"shift": SHARE_RISING})
def darken_shift_hsv(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """V - s in float HSV: c' = c (V - s) / V."""
    return _shift_hsv(image, -params["shift"])


@register("darken/shift_rgb", params={"shift": SHARE_RISING})
def darken_shift_rgb(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """x - s."""
    return _shift_rgb(image, -params["shift"])


@register("darken/gamma_hsv", params={"gamma": Number(above=1, order="rising")})
def darken_gamma_hsv(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """V^gamma on uint8 HSV, gamma > 1."""
    return _gamma_hsv(image, params["gamma"])


@register("darken/gamma_rgb", params={"gamma": Number(above=1, order="rising")})
def darken_gamma_rgb(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """x^gamma, gamma > 1."""
    return _gamma_rgb(image, params["gamma"])
