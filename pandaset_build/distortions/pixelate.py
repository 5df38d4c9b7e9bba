"""pixelate/pixelate: Pillow BOX downscale, NEAREST upscale."""

from __future__ import annotations

import numpy as np
from PIL import Image

from .params import Number
from .registry import Params, register
from .window import Context


@register(
    "pixelate/pixelate",
    full_frame=True,
    params={"factor": Number(above=0, at_most=1, order="falling")},
)
def pixelate(image: np.ndarray, params: Params, rng: np.random.Generator, ctx: Context):
    """BOX down to (int(W f), int(H f)), NEAREST back up; cells are rarely whole pixels."""
    height, width = image.shape[:2]
    factor = params["factor"]
    small = Image.fromarray(image).resize((int(width * factor), int(height * factor)), Image.BOX)
    return np.array(small.resize((width, height), Image.NEAREST))
