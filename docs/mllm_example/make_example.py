"""Render the hand-check prompts of docs/mllm.md from the bundled demo image `coffee.png`.

Run from the repository root: `python docs/mllm_example/make_example.py`. The distortions are
simple stand-ins applied here (no build is needed); labels and scores are illustrative.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from pandaset_build.mllm.bench import BenchPair, BenchRegion, Side
from pandaset_build.mllm.images import png
from pandaset_build.mllm.prompts import Templates, pair_prompt, region_prompts
from pandaset_build.sources.record import encode_mask
from pandaset_build.vocab import COMPARISON_ID, DISTORTION_ID

DEMO = Path("pandaset_build/demo")
OUT = Path(__file__).parent
SCALE = 2  # halve the 600 x 400 demo image
REGIONS = {3: "bowl", 4: "cup", 1: "table"}  # panoptic segment id -> name


def masks() -> dict[int, np.ndarray]:
    ids = np.asarray(Image.open(DEMO / "annotations/panoptic_demo/coffee.png"), dtype=np.int64)
    seg = ids[..., 0] + 256 * ids[..., 1] + 256**2 * ids[..., 2]
    seg = seg[::SCALE, ::SCALE]
    return {k: seg == k for k in REGIONS}


def distorted(image: Image.Image, mask: np.ndarray, how: str) -> np.ndarray:
    """The image with one stand-in distortion inside the mask."""
    pixels = np.asarray(image, dtype=np.float32)
    if how == "blur":
        other = np.asarray(image.filter(ImageFilter.GaussianBlur(3)), dtype=np.float32)
    elif how == "noise":
        other = pixels + np.random.default_rng(0).normal(0, 40, pixels.shape)
    elif how == "darken":
        other = pixels * 0.55
    else:  # contrast_dec
        other = (pixels - pixels.mean()) * 0.4 + pixels.mean()
    return np.where(mask[..., None], other, pixels)


def version(image: Image.Image, plan: dict[int, str], regions: dict[int, np.ndarray]) -> bytes:
    out = np.asarray(image, dtype=np.float32)
    for k, how in plan.items():
        out = distorted(Image.fromarray(out.clip(0, 255).astype(np.uint8)), regions[k], how)
    return png(Image.fromarray(out.clip(0, 255).astype(np.uint8)))


def bbox(mask: np.ndarray) -> tuple[float, float, float, float]:
    ys, xs = np.nonzero(mask)
    return (
        float(xs.min()),
        float(ys.min()),
        float(xs.max() - xs.min() + 1),
        float(ys.max() - ys.min() + 1),
    )


def main() -> None:
    image = Image.open(DEMO / "demo/coffee.png").convert("RGB")
    image = image.resize((image.width // SCALE, image.height // SCALE), Image.Resampling.LANCZOS)
    regions = masks()
    anchor = version(image, {4: "blur", 1: "darken"}, regions)
    target = version(image, {4: "noise", 3: "contrast_dec"}, regions)
    labels = {  # (anchor side, target side, comparison); illustrative
        3: (Side(0, 0, 0.97), Side(DISTORTION_ID["contrast_dec"], 2, 0.62), "significantly_better"),
        4: (
            Side(DISTORTION_ID["blur"], 2, 0.55),
            Side(DISTORTION_ID["noise"], 3, 0.41),
            "slightly_better",
        ),
        1: (Side(DISTORTION_ID["darken"], 1, 0.78), Side(0, 0, 0.96), "slightly_worse"),
    }
    pair = BenchPair(
        "coffee.png",
        "mixed",
        "mixed2",
        anchor,
        target,
        [
            BenchRegion(
                i,
                REGIONS[k],
                bbox(regions[k]),
                encode_mask(regions[k]),
                *labels[k][:2],
                COMPARISON_ID[labels[k][2]],
            )
            for i, k in enumerate(REGIONS)
        ],
    )
    templates = Templates.load()
    (OUT / "anchor.png").write_bytes(anchor)
    (OUT / "target.png").write_bytes(target)
    (OUT / "pair_prompt.txt").write_text(pair_prompt(templates, 0, pair).text)
    cup_anchor = region_prompts(templates, 0, pair)[2]  # region 1 (cup), anchor side
    crop, context = cup_anchor.images
    (OUT / "region1_anchor_crop.png").write_bytes(crop)
    (OUT / "region1_anchor_context.png").write_bytes(context)
    (OUT / "region_prompt.txt").write_text(cup_anchor.text)
    graph = json.loads((OUT / "hint_graph.json").read_text())
    (OUT / "pair_prompt_with_hint.txt").write_text(pair_prompt(templates, 0, pair, graph).text)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
