"""noise/*: gaussian_rgb, gaussian_ycrcb, speckle, spatially_correlated, poisson, impulse.

Every field is positional (see `fields`): the sub-type draws one key from the Generator and each
frame pixel's values depend only on that key and the pixel's frame row and column.
"""

from __future__ import annotations

import cv2
import numpy as np

from .colour import convert
from .fields import field_key, normals, poisson_counts, uniforms
from .params import POSITIVE_RISING, SHARE_RISING, Number
from .registry import Params, register
from .window import Context, to_u8, unit

SALT_VS_PEPPER = 0.5  # skimage random_noise's default, as DepictQA calls it


def _normal_field(rng: np.random.Generator, ctx: Context, count: int) -> np.ndarray:
    return normals(field_key(rng), ctx.window, 0, count)


@register("noise/gaussian_rgb", random=True, params={"sigma": POSITIVE_RISING})
def noise_gaussian_rgb(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """x + N(0, sigma) per pixel and channel."""
    noise = params["sigma"] * _normal_field(rng, ctx, 3)
    return to_u8(unit(image) + noise)


@register(
    "noise/gaussian_ycrcb",
    random=True,
    params={"sigma_y": POSITIVE_RISING, "chroma_factor": POSITIVE_RISING},
)
def noise_gaussian_ycrcb(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """N(0, sigma_y) on Y, N(0, k sigma_y) on Cr and on Cb, in cv2 float YCrCb."""
    sigma_y = params["sigma_y"]
    sigma_c = sigma_y * params["chroma_factor"]
    noise = _normal_field(rng, ctx, 3) * np.array([sigma_y, sigma_c, sigma_c])
    ycrcb = convert(np.float32(unit(image)), cv2.COLOR_RGB2YCrCb)
    return to_u8(convert(np.float32(ycrcb + noise), cv2.COLOR_YCrCb2RGB))


@register("noise/speckle", random=True, params={"sigma": POSITIVE_RISING})
def noise_speckle(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """x + x N(0, s)."""
    x = unit(image)
    return to_u8(x + x * (params["sigma"] * _normal_field(rng, ctx, 3)))


def box3(x: np.ndarray) -> np.ndarray:
    """Normalised 3x3 box, reflect-101, as a fixed-order sum (cv2.blur's running sums are not
    the same at every position of a float image)."""
    p = np.pad(x, ((1, 1), (1, 1), (0, 0)), mode="reflect")
    rows = p[:-2] + p[1:-1] + p[2:]
    return (rows[:, :-2] + rows[:, 1:-1] + rows[:, 2:]) / 9.0


@register(
    "noise/spatially_correlated",
    margin=lambda params, frame_shape: 1,
    random=True,
    params={"sigma": POSITIVE_RISING},
)
def noise_spatially_correlated(
    image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context
):
    """x + N(0, sigma), then a 3x3 box blur of image and noise together (reflect-101)."""
    noise = params["sigma"] * _normal_field(rng, ctx, 3)
    return to_u8(box3(unit(image) + noise))


@register("noise/poisson", random=True, params={"factor": Number(above=0, order="falling")})
def noise_poisson(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """Poisson(x f) / f, each value by the inverse CDF of its rate."""
    factor = float(params["factor"])
    counts = poisson_counts(field_key(rng), ctx.window, 0, image, factor)
    return to_u8(counts / factor)


@register("noise/impulse", random=True, params={"amount": SHARE_RISING})
def noise_impulse(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """Salt and pepper per channel: a value is hit with probability d, salt or pepper half each.

    One uniform u per value: u < d s is salt, d s <= u < d pepper (s = salt_vs_pepper), the
    masks of skimage's s&p mode (hit = random <= d, salt = random <= s) in one draw.
    """
    amount = params["amount"]
    u = uniforms(field_key(rng), ctx.window, 0, 3)
    out = image.copy()
    out[u < amount * SALT_VS_PEPPER] = 255
    out[(u >= amount * SALT_VS_PEPPER) & (u < amount)] = 0
    return out
