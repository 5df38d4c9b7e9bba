"""`gallery`: a static site over the benches and a sample of the dataset, opened from disk.

Data goes next to the HTML as scripts that assign globals (a page opened with file:// cannot
fetch JSON in Chromium): `data/index.js` (images, pairs, labels), `data/stats.js` (figure 6),
and one `data/shapes/<image>.js` of region outlines per image, loaded when first shown.
"""

from __future__ import annotations

import io
import shutil
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from PIL import Image

from pandaset_build.config import vocab
from pandaset_build.gallery.content import (
    SAMPLE,
    GalleryPair,
    bench_pairs,
    outline_paths,
    prediction_folders,
    predictions,
    region_labels,
    sample_pairs,
    statistics,
    write_script,
)
from pandaset_build.json_types import JsonObject
from pandaset_build.labels.pairs import DIFFICULTIES
from pandaset_build.stages.report import COMPARISON_COLOURS, collect_stats
from pandaset_build.store.atomic import staged_folder
from pandaset_build.store.build import Build
from pandaset_build.store.scored import ScoredBuild

STATIC = ("index.html", "gallery.css", "gallery.js")
THUMB_PX = 384
THUMB_QUALITY = 90


@dataclass(frozen=True)
class GallerySummary:
    folder: Path
    pairs: int
    images: int
    seconds: float


class ImageStore:
    """Writes each (split, tag, version) once: the stored PNG and a JPEG thumbnail."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.index: dict[tuple[str, str], int] = {}
        self.records: list[JsonObject] = []
        self.written: set[tuple[int, str]] = set()

    def image(self, item: GalleryPair) -> int:
        """The id of the pair's image; its record and outlines are written on first use."""
        key = (item.split, item.pair.tag)
        if key not in self.index:
            number = len(self.records)
            self.index[key] = number
            with Image.open(io.BytesIO(item.pair.anchor_image)) as img:
                width, height = img.size
            regions = item.pair.regions
            self.records.append(
                {
                    "tag": item.pair.tag,
                    "split": item.split,
                    "width": width,
                    "height": height,
                    "names": [r.name for r in regions],
                    "labels": [r.label for r in regions],
                }
            )
            shapes = [outline_paths(r.mask) for r in regions]
            write_script(self.out / "data" / "shapes" / f"{number}.js", f"SHAPES_{number}", shapes)
        return self.index[key]

    def version(self, number: int, version: str, data: bytes) -> None:
        if (number, version) in self.written:
            return
        self.written.add((number, version))
        full = self.out / "img" / str(number) / f"{version}.png"
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_bytes(data)
        thumb = self.out / "thumb" / str(number) / f"{version}.jpg"
        thumb.parent.mkdir(parents=True, exist_ok=True)
        with Image.open(io.BytesIO(data)) as img:
            small = img.convert("RGB")
            small.thumbnail((THUMB_PX, THUMB_PX), Image.Resampling.LANCZOS)
            small.save(thumb, format="JPEG", quality=THUMB_QUALITY)


def vocabulary() -> JsonObject:
    colours = COMPARISON_COLOURS.items()
    return {
        "distortions": list(vocab.DISTORTIONS),
        "severities": list(vocab.SEVERITIES),
        "comparisons": list(vocab.COMPARISONS),
        "comparison_colours": {k: "#{:02x}{:02x}{:02x}".format(*v) for k, v in colours},
        "sources": [*DIFFICULTIES, SAMPLE],
    }


def build_gallery(build: Build, out: Path | None = None, sample: int = 24) -> GallerySummary:
    """Write the gallery (default `<build>/gallery/`): bench pairs and `sample` dataset pairs
    per split; nothing is left on failure."""
    start = time.perf_counter()
    scored = ScoredBuild(build)
    scored.check()
    folders = prediction_folders(build)
    final = out or build.layout.gallery
    with staged_folder(final) as tmp:
        store = ImageStore(tmp)
        pairs = []
        items = [*bench_pairs(build), *sample_pairs(scored, sample, build.recipe.seed)]
        for n, item in enumerate(items):
            number = store.image(item)
            pair = item.pair
            store.version(number, pair.anchor_version, pair.anchor_image)
            store.version(number, pair.target_version, pair.target_image)
            graphs = predictions(folders[item.source], pair) if item.source in folders else []
            pairs.append(
                {
                    "id": n,
                    "split": item.split,
                    "source": item.source,
                    "image": number,
                    "anchor": pair.anchor_version,
                    "target": pair.target_version,
                    "regions": region_labels(pair),
                    "predicted": graphs,
                }
            )
        index = {
            "recipe": build.recipe.name,
            "vocab": vocabulary(),
            "images": store.records,
            "pairs": pairs,
        }
        write_script(tmp / "data" / "index.js", "GALLERY", index)
        write_script(
            tmp / "data" / "stats.js", "GALLERY_STATS", statistics(collect_stats(scored)[0], scored)
        )
        static = resources.files(__package__) / "static"
        for name in STATIC:
            with resources.as_file(static / name) as path:
                shutil.copyfile(path, tmp / name)
    return GallerySummary(final, len(pairs), len(store.records), time.perf_counter() - start)
