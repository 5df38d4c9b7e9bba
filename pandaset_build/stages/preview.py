"""Contact sheets for people to look at: every sub-type and level, and the 16 versions."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from pandaset_build import distortions
from pandaset_build.config import vocab
from pandaset_build.render.plan import plan_image
from pandaset_build.stages.distort import load_frame
from pandaset_build.store.build import Build, write_bytes_atomic
from pandaset_build.store.images import encode_png, read_rgb
from pandaset_build.store.tables import read_sources, source_index, version_path

THUMB = 160
LABEL_HEIGHT = 14


def _thumb(image: np.ndarray, label: str) -> Image.Image:
    scale = THUMB / max(image.shape[:2])
    small = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)))
    tile = Image.new("RGB", (THUMB, THUMB + LABEL_HEIGHT), "white")
    tile.paste(Image.fromarray(small), (0, LABEL_HEIGHT))
    ImageDraw.Draw(tile).text((2, 1), label, fill="black")
    return tile


def _sheet(tiles: list[Image.Image], columns: int) -> np.ndarray:
    rows = (len(tiles) + columns - 1) // columns
    width, height = tiles[0].size
    sheet = Image.new("RGB", (columns * width, rows * height), "white")
    for i, tile in enumerate(tiles):
        sheet.paste(tile, ((i % columns) * width, (i // columns) * height))
    return np.asarray(sheet)


def subtype_sheet(image: np.ndarray, build: Build, seed: int = 0) -> np.ndarray:
    """One row per sub-type: the image at every DepictQA level (weather: every severity)."""
    tiles = []
    for key in distortions.names():
        family = key.split("/")[0]
        levels = 3 if family in vocab.WEATHER_FAMILIES else vocab.DEPICTQA_LEVELS
        for level in range(1, vocab.DEPICTQA_LEVELS + 1):
            if level > levels:
                tiles.append(_thumb(np.full_like(image, 255), ""))
                continue
            rng = np.random.default_rng(seed)
            out = distortions.apply(image, key, level, rng, recipe=build.recipe)
            tiles.append(_thumb(out, f"{key} L{level}"))
    return _sheet(tiles, vocab.DEPICTQA_LEVELS)


def versions_sheet(build: Build, source: dict) -> np.ndarray:
    """The clean image and its rendered versions with region outlines."""
    frame = load_frame(build, source, plan_image(build.recipe, source))
    outline = np.zeros(frame.image.shape[:2], dtype=np.uint8)
    for mask in frame.masks:
        edges = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3)))
        outline |= edges
    tiles = [_thumb(frame.image, "clean")]
    for version in build.recipe.versions:
        image = read_rgb(version_path(build, version, source["split"], source["tag"])).copy()
        image[outline > 0] = (255, 255, 0)
        tiles.append(_thumb(image, version))
    return _sheet(tiles, 6)


def preview(build: Build, tag: str | None = None) -> list[Path]:
    """Write `preview/<tag>_subtypes.png` and `preview/<tag>_versions.png`; return the paths."""
    index = dict(source_index(build))
    if not index:
        raise FileNotFoundError(f"{build.root}: no ingested images: run `ingest` first")
    tag = tag or min(index)
    if tag not in index:
        raise KeyError(f"{tag}: no such tag in {build.root}")
    source = read_sources(((tag, index[tag]),))[0]
    out = build.path("preview")
    paths = [out / f"{tag}_subtypes.png", out / f"{tag}_versions.png"]
    write_bytes_atomic(paths[0], encode_png(subtype_sheet(read_rgb(source["image_path"]), build)))
    write_bytes_atomic(paths[1], encode_png(versions_sheet(build, source)))
    return paths
