"""Contact sheets for people to look at: every sub-type and level, and the 16 versions."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from pandaset_build import distortions
from pandaset_build.config import vocab
from pandaset_build.errors import MissingStageOutputs, UsageError
from pandaset_build.render.frame import load_frame
from pandaset_build.render.plan import plan_image
from pandaset_build.render.sheets import YELLOW, contact_sheet, outlined, tile
from pandaset_build.store.atomic import write_bytes_atomic
from pandaset_build.store.build import Build
from pandaset_build.store.catalog import read_sources, source_index
from pandaset_build.store.images import encode_png, read_rgb
from pandaset_build.store.records import SourceRecord

THUMB = 160
SUBTYPE_THUMB = 224
INSET = 96  # side of the 1:1 inset of the sub-type sheet, in image pixels
LABEL_HEIGHT = 14


def _thumb(image: np.ndarray, label: str, size: int = THUMB) -> Image.Image:
    """An area-interpolated thumbnail (no aliasing to hide or invent fine detail)."""
    return tile(image, label, size=size, caption_height=LABEL_HEIGHT, interpolation=cv2.INTER_AREA)


def inset_window(shape: tuple[int, ...]) -> tuple[slice, slice]:
    """The INSET x INSET window (or the whole side, if smaller) at the image's centre."""
    height, width = shape[:2]
    side_h, side_w = min(INSET, height), min(INSET, width)
    top, left = (height - side_h) // 2, (width - side_w) // 2
    return slice(top, top + side_h), slice(left, left + side_w)


def _with_inset(image: np.ndarray, label: str) -> Image.Image:
    """The thumbnail with the centre window at 1:1 in its lower right corner, framed in black."""
    out = _thumb(image, label, SUBTYPE_THUMB)
    crop = Image.fromarray(np.ascontiguousarray(image[inset_window(image.shape)]))
    framed = Image.new("RGB", (crop.width + 2, crop.height + 2), "black")
    framed.paste(crop, (1, 1))
    out.paste(framed, (out.width - framed.width, out.height - framed.height))
    return out


def subtype_sheet(image: np.ndarray, build: Build, seed: int = 0) -> np.ndarray:
    """One row per sub-type: the clean image, then every DepictQA level (weather: every
    severity); each tile a thumbnail with the centre of the image at 1:1 as an inset, so that
    level 1 of noise, pixelate, JPEG or haze can be seen."""
    tiles = []
    clean = _with_inset(image, "clean")
    for key in distortions.names():
        family = key.split("/")[0]
        levels = 3 if family in vocab.WEATHER_FAMILIES else vocab.DEPICTQA_LEVELS
        tiles.append(clean)
        for level in range(1, vocab.DEPICTQA_LEVELS + 1):
            if level > levels:
                tiles.append(_thumb(np.full_like(image, 255), "", SUBTYPE_THUMB))
                continue
            rng = np.random.default_rng(seed)
            out = distortions.apply(image, key, level, rng, recipe=build.recipe)
            tiles.append(_with_inset(out, f"{key} L{level}"))
    return contact_sheet(tiles, vocab.DEPICTQA_LEVELS + 1)


def versions_sheet(build: Build, source: SourceRecord) -> np.ndarray:
    """The clean image and its rendered versions with region outlines."""
    plans = plan_image(build.recipe, source)
    frame = load_frame(build.recipe, source, plans, build.layout.depth_map(source.tag))
    tiles = [_thumb(frame.image, "clean")]
    yellow = [YELLOW] * len(frame.masks)
    for version in build.recipe.versions:
        image = read_rgb(build.layout.version_image(version, source.split, source.tag))
        tiles.append(_thumb(outlined(image, frame.masks, yellow), version))
    return contact_sheet(tiles, 6)


def preview(build: Build, tag: str | None = None) -> list[Path]:
    """Write `preview/<tag>_subtypes.png` and `preview/<tag>_versions.png`; return the paths."""
    index = dict(source_index(build))
    if not index:
        raise MissingStageOutputs(f"{build.root}: no ingested images: run `ingest` first")
    tag = tag or min(index)
    if tag not in index:
        raise UsageError(f"--tag {tag}: no such image in {build.root} (e.g. {min(index)})")
    source = read_sources(((tag, index[tag]),))[0]
    out = build.layout.preview
    paths = [out / f"{tag}_subtypes.png", out / f"{tag}_versions.png"]
    write_bytes_atomic(paths[0], encode_png(subtype_sheet(read_rgb(source.image_path), build)))
    write_bytes_atomic(paths[1], encode_png(versions_sheet(build, source)))
    return paths
