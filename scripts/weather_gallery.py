"""Render the weather pictures of docs/distortions.md from the bundled demo photos.

    python scripts/weather_gallery.py                  # docs/img/weather_*.png
    python scripts/weather_gallery.py --all /tmp/wx    # also every photo under every family

Every region of a picture is rendered by the build's region renderer with the same scene seed,
as one version of a build is. `weather_regions.png`: per family one photo, clean, then every
region at minor, moderate, severe, then the regions at mixed severities (minor, moderate,
severe, minor, ...). `weather_crops.png`: 1:1 crops of the same at each severity.
`weather_depth.png`: each photo, its layout-prior distance map (white = far) and severe haze
on the whole frame as one region. `--all DIR` writes `<family>.png`: the four photos clean, the
whole frame as one region at minor, moderate, severe, and the regions at mixed severities.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from pandaset_build.config.recipe import SEVERITY_NAMES, default_recipe
from pandaset_build.distortions import haze_distance
from pandaset_build.render.frame import Frame
from pandaset_build.render.renderer import render_fast
from pandaset_build.sources import demo
from pandaset_build.store.images import read_rgb
from pandaset_build.store.masks import decode_mask
from pandaset_build.store.records import RegionPlan

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")
FAMILIES = ("rain", "snow", "haze")
SCENE_SEED = 3
THUMB_HEIGHT = 80  # docs sheets; --all uses ALL_HEIGHT
ALL_HEIGHT = 160
DEPTH_HEIGHT = 80
CROP = 96
SHOWN = {"rain": ("coffee", 120, 200), "snow": ("chelsea", 40, 80), "haze": ("rocket", 260, 270)}


@dataclass(frozen=True)
class Photo:
    image: np.ndarray
    masks: list[np.ndarray]
    boxes: list[list[float]]
    distance: np.ndarray  # the layout prior of its regions
    seed: int = SCENE_SEED

    def render(
        self, family: str, severities: list[int], whole: bool = False, **overrides: float
    ) -> np.ndarray:
        """Every region at its severity (1..3), or the whole frame as one region, one scene;
        `overrides` replace recipe knobs."""
        recipe = default_recipe()
        key = f"{family}/{family}"
        height, width = self.image.shape[:2]
        masks = [np.ones((height, width), bool)] if whole else self.masks
        boxes = [[0, 0, width, height]] if whole else self.boxes
        frame = Frame(self.image, masks, boxes, "mask", self.distance)
        plans = [
            RegionPlan(
                "demo",
                family,
                index,
                family,
                family,
                SEVERITY_NAMES[severity - 1],
                severity,
                json.dumps(
                    {**recipe.distortion_params(key, severity), **overrides}, sort_keys=True
                ),
                self.seed,
                False,
            )
            for index, severity in enumerate(severities)
        ]
        return render_fast(frame, plans)


def load() -> dict[str, Photo]:
    knobs = default_recipe().distortion_params("haze/haze", 1)
    items, _ = demo.list_items()
    photos = {}
    for item in items:
        record = demo.load_item(item)
        image = read_rgb(record.image_path)
        rows = [region.__dict__ for region in record.regions]
        photos[record.tag.split(".")[0]] = Photo(
            image,
            [decode_mask(region.mask) for region in record.regions],
            [region.bbox for region in record.regions],
            haze_distance(image, {**knobs, "depth_source": "layout"}, None, regions=rows),
        )
    return photos


def thumb(image: np.ndarray, height: int = THUMB_HEIGHT) -> np.ndarray:
    """Area-averaged (box) downscale to `height` rows."""
    size = (round(image.shape[1] * height / image.shape[0]), height)
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BOX))


def sheet(rows: list[list[np.ndarray]], gap: int = 4) -> np.ndarray:
    """Tiles in rows, separated by white gaps, rows padded to the widest."""
    lines = []
    for tiles in rows:
        padded = [np.pad(t, ((0, 0), (0, gap), (0, 0)), constant_values=255) for t in tiles]
        lines.append(np.concatenate(padded, axis=1))
    width = max(line.shape[1] for line in lines)
    lines = [
        np.pad(line, ((0, gap), (0, width - line.shape[1]), (0, 0)), constant_values=255)
        for line in lines
    ]
    return np.concatenate(lines, axis=0)


def save(image: np.ndarray, path: Path) -> None:
    """A lossless RGB PNG: a palette would band smooth skies and veils."""
    Image.fromarray(image).save(path, optimize=True, compress_level=9)
    print(f"{path}: {path.stat().st_size // 1024} KB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    parser.add_argument("--all", type=Path, default=None, help="also write full sheets here")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    photos = load()
    regions, crops = [], []
    for family in FAMILIES:
        name, top, left = SHOWN[family]
        photo = photos[name]
        count = len(photo.masks)
        tiles = [photo.image, *(photo.render(family, [s] * count) for s in (1, 2, 3))]
        mixed = photo.render(family, [(i % 3) + 1 for i in range(count)])
        regions.append([thumb(t) for t in (*tiles, mixed)])
        window = (slice(top, top + CROP), slice(left, left + CROP))
        crops.append([t[window] for t in tiles])
    save(sheet(regions), args.out / "weather_regions.png")
    save(sheet(crops), args.out / "weather_crops.png")
    depth = []
    for name in PHOTOS:
        photo = photos[name]
        grey = np.repeat((photo.distance * 255).astype(np.uint8)[:, :, None], 3, axis=2)
        hazed = photo.render("haze", [3], whole=True)
        depth.append([thumb(t, DEPTH_HEIGHT) for t in (photo.image, grey, hazed)])
    save(sheet(depth), args.out / "weather_depth.png")
    if args.all is not None:
        args.all.mkdir(parents=True, exist_ok=True)
        for family in FAMILIES:
            rows = []
            for name in PHOTOS:
                photo = photos[name]
                mixed = [(i % 3) + 1 for i in range(len(photo.masks))]
                tiles = [photo.image, *(photo.render(family, [s], whole=True) for s in (1, 2, 3))]
                rows.append([thumb(t, ALL_HEIGHT) for t in (*tiles, photo.render(family, mixed))])
            save(sheet(rows), args.all / f"{family}.png")


if __name__ == "__main__":
    main()
