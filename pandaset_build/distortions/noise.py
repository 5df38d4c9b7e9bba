"""noise/*: gaussian_rgb, gaussian_ycrcb, speckle, spatially_correlated, poisson, impulse."""

from __future__ import annotations

import cv2
import numpy as np
from skimage.util import random_noise

from .registry import Params, register
from .window import Context, to_u8, unit


def _frame_noise(x: np.ndarray, ctx: Context, rng: np.random.Generator, **kwargs) -> np.ndarray:
    """skimage `random_noise` drawn at frame shape (x embedded in a zero frame), cropped back."""
    noisy = random_noise(ctx.window.embed(x), rng=rng, clip=True, **kwargs)
    return ctx.window.crop(noisy)


@register("noise/gaussian_rgb", random=True)
def noise_gaussian_rgb(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """x + N(0, sigma) per pixel and channel."""
    return to_u8(_frame_noise(unit(image), ctx, rng, mode="gaussian", var=params["sigma"] ** 2))


@register("noise/gaussian_ycrcb", random=True)
def noise_gaussian_ycrcb(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """N(0, sigma_y) on Y, N(0, k sigma_y) on Cr then Cb, in cv2 float YCrCb."""
    sigma_y = params["sigma_y"]
    sigma_c = sigma_y * params["chroma_factor"]
    frame = ctx.window.frame_shape
    noise = np.stack(
        [ctx.window.crop(rng.normal(0, sigma, frame)) for sigma in (sigma_y, sigma_c, sigma_c)],
        axis=-1,
    )
    ycrcb = cv2.cvtColor(np.float32(unit(image)), cv2.COLOR_RGB2YCrCb)
    return to_u8(cv2.cvtColor(np.float32(ycrcb + noise), cv2.COLOR_YCrCb2RGB))


@register("noise/speckle", random=True)
def noise_speckle(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """x + x N(0, s)."""
    return to_u8(_frame_noise(unit(image), ctx, rng, mode="speckle", var=params["sigma"] ** 2))


@register("noise/spatially_correlated", margin=lambda params, frame_shape: 1, random=True)
def noise_spatially_correlated(
    image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context
):
    """x + N(0, sigma), then a 3x3 box blur of image and noise together (reflect-101)."""
    noise = ctx.window.crop(rng.normal(0, params["sigma"], (*ctx.window.frame_shape, 3)))
    return to_u8(cv2.blur(unit(image) + noise, (3, 3)))


@register("noise/poisson", full_frame=True, random=True)
def noise_poisson(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """Poisson(x f) / f; a pixel's draws depend on every earlier rate, so whole frames only."""
    factor = float(params["factor"])
    return to_u8(rng.poisson(unit(image) * factor) / factor)


@register("noise/impulse", random=True)
def noise_impulse(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """Salt and pepper per channel (skimage s&p, salt_vs_pepper 0.5)."""
    amount = params["amount"]
    return to_u8(_frame_noise(unit(image), ctx, rng, mode="s&p", amount=amount, salt_vs_pepper=0.5))
