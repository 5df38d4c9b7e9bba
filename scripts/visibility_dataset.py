"""Write a folder-source dataset of generated images for the visibility audit: crops of
scikit-image's sample photos (colour and grey, bright pages, dark star fields, smooth sky)
with synthetic region layouts (bands, blocks, superpixels), and no depth maps.

    python scripts/visibility_dataset.py --out /tmp/visdata --count 60
    pandaset-build run --recipe quickstart --source folder --root /tmp/visdata \\
        --build /tmp/visb --workers 2

`report` (the last stage of `run`) prints the audit per family and severity; `report/stats.json`
holds it under `visibility`. The script is deterministic (`--seed`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import skimage.data
from PIL import Image
from skimage.segmentation import slic

PHOTOS = (
    "astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry",
    "stereo_motorcycle", "colorwheel", "camera", "moon", "page", "text", "coins", "brick",
    "grass", "gravel", "clock", "retina",
)  # fmt: skip


def photo(name: str) -> np.ndarray:
    """A sample photo as 8-bit RGB (grey photos repeated over the channels)."""
    pixels = getattr(skimage.data, name)()
    if isinstance(pixels, tuple):
        pixels = pixels[0]
    pixels = np.asarray(pixels)
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[:, :, None], 3, axis=2)
    return np.ascontiguousarray(pixels[:, :, :3].astype(np.uint8))


def crop(image: np.ndarray, rng: np.random.Generator, short_side: int) -> np.ndarray:
    """A random crop of 60-100 % of each side, resized so its short side is `short_side`."""
    height, width = image.shape[:2]
    h = int(height * rng.uniform(0.6, 1.0))
    w = int(width * rng.uniform(0.6, 1.0))
    top, left = int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1))
    part = image[top : top + h, left : left + w]
    scale = short_side / min(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(part, size, interpolation=cv2.INTER_AREA)


def bands(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """2-6 horizontal bands."""
    cuts = np.sort(rng.choice(np.arange(8, shape[0] - 8), int(rng.integers(1, 6)), replace=False))
    return np.searchsorted(cuts, np.arange(shape[0]), side="right")[:, None].repeat(shape[1], 1) + 1


def blocks(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A grid of 2-3 x 2-3 blocks."""
    rows, cols = int(rng.integers(2, 4)), int(rng.integers(2, 4))
    y = np.arange(shape[0]) * rows // shape[0]
    x = np.arange(shape[1]) * cols // shape[1]
    return y[:, None] * cols + x[None, :] + 1


def superpixels(shape: tuple[int, int], rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """SLIC superpixels of the photo (content-following regions), 4-12 of them."""
    return slic(image, n_segments=int(rng.integers(4, 13)), compactness=20, start_label=1)


LAYOUTS: tuple[Callable[..., np.ndarray], ...] = (bands, blocks, superpixels)


def write(out: Path, count: int, short_side: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "masks").mkdir(parents=True, exist_ok=True)
    photos = {name: photo(name) for name in PHOTOS}
    for i in range(count):
        name = PHOTOS[i % len(PHOTOS)]
        image = crop(photos[name], rng, short_side)
        layout = LAYOUTS[i % len(LAYOUTS)]
        args = (image.shape[:2], rng, image) if layout is superpixels else (image.shape[:2], rng)
        ids = layout(*args).astype(np.uint8)
        stem = f"{i:03d}_{name}"
        Image.fromarray(image).save(out / "images" / f"{stem}.png")
        Image.fromarray(ids, mode="L").save(out / "masks" / f"{stem}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--count", type=int, default=60)
    parser.add_argument("--short-side", type=int, default=192)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    write(args.out, args.count, args.short_side, args.seed)
    print(f"wrote {args.count} images and id masks under {args.out}")


if __name__ == "__main__":
    main()
