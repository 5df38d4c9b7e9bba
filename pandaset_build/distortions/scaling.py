"""`pixel_scale: short_side_224`: DepictQA's pixel-unit parameters scaled to the frame (§4)."""

from __future__ import annotations

import math
from typing import Any

REFERENCE_SHORT_SIDE = 224  # DepictQA tuned its tables on images resized to this short side


def round_half_away(value: float) -> int:
    """round() with halves away from zero (2.5 -> 3, -2.5 -> -3)."""
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


def scale_params(key: str, params: dict[str, Any], frame_short_side: int) -> dict[str, Any]:
    """Params for a frame of short side S, k = S / 224; sub-types without pixel units unchanged."""
    k = frame_short_side / REFERENCE_SHORT_SIDE
    out = dict(params)
    if key in ("blur/gaussian", "blur/glass", "blur/motion"):
        out["sigma"] = params["sigma"] * k
    if key in ("blur/motion", "blur/lens"):
        out["radius"] = round_half_away(k * params["radius"])
    if key in ("blur/glass", "blur/jitter"):
        out["shift"] = max(1, round_half_away(k * params["shift"]))
    if key == "pixelate/pixelate":
        out["factor"] = params["factor"] / k
    return out
