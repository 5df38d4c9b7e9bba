"""Generic folder reader: `--source folder` (docs/sources.md).

- `<root>/images/<stem>.<ext>` with either an id mask `<root>/masks/<stem>.png` or a per-mask
  folder `<root>/masks/<stem>/` (one binary PNG per region, as SAM's automatic mask generator
  writes it, with its optional `metadata.csv`), and an optional names sidecar
  `<root>/masks/<stem>.json`; `images` and `masks` override the folders. Non-recursive, sorted.
- Tag: the image file name. An image without a mask, or a second image sharing a stem (and so
  a mask) with an earlier one, is a per-item failure.
- Id masks by `mask_encoding`: "auto" goes by the Pillow mode (1, L, I;16, I: values; P: palette
  indices; RGB: R + 256 G + 65536 B; others rejected), "instance" reads values or palette
  indices, "rgb" reads RGB (a palette PNG is expanded to RGB first). `mask_background` (0) is
  the id of unlabelled pixels; each other id is one region, in ascending id order. A 0/255
  mask is one region (a warning says so).
- Per-mask folders: a pixel is in a mask where its value is not 0. Masks are ordered by their
  number (`0.png`, `1.png`, ..., then other names); overlaps go to the smaller mask and masks
  left empty are dropped and counted. A sidecar names masks by number; a mask with a
  non-numeric file name is named after it.
- Sidecar defaults: name "", category_id -1 (no class), isthing true; sidecar ids absent from
  the mask are logged as warnings.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import numpy as np
from PIL import Image

from pandaset_build.config import vocab
from pandaset_build.errors import BadInput
from pandaset_build.json_types import JsonObject
from pandaset_build.sources.common import (
    Item,
    check_mask_size,
    collect,
    image_size,
    read_json,
    reading,
)
from pandaset_build.sources.overlaps import Disjoint, make_disjoint
from pandaset_build.store.masks import rgb_to_ids
from pandaset_build.store.records import Region, SourceRecord, region_from_mask

SOURCE = "folder"
OPTIONS = ("images", "masks", "mask_encoding", "mask_background")
IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
ENCODINGS = ("auto", "instance", "rgb")
VALUE_MODES = ("1", "I;16", "I;16L", "I;16B", "I", "L")
BINARY_MODES = ("1", "L", "P", "RGB", *VALUE_MODES)
METADATA = "metadata.csv"
FILL_VALUES = {"L": 255, "I;16": 65535, "I;16L": 65535, "I;16B": 65535}
log = logging.getLogger(__name__)


def sidecar_segments(path: Path) -> list[JsonObject]:
    """Segments of a names sidecar with defaults filled in; [] when there is no sidecar."""
    if not path.is_file():
        return []
    data = read_json(path, "sidecar")
    try:
        segments = [
            {
                "id": int(s["id"]),
                "name": str(s.get("name", "")),
                "category_id": int(s.get("category_id", vocab.NO_CATEGORY)),
                "isthing": bool(s.get("isthing", True)),
                "description": str(s.get("description", "")),
            }
            for s in data["segments"]
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise BadInput(path, f"malformed sidecar ({exc!r})") from exc
    if len({s["id"] for s in segments}) != len(segments):
        raise BadInput(path, "sidecar repeats a segment id")
    return segments


def list_items(
    root: Path,
    *,
    images: Path | str | None = None,
    masks: Path | str | None = None,
    mask_encoding: str = "auto",
    mask_background: int = 0,
) -> tuple[list[Item], list[BadInput]]:
    """Items of an image folder and its mask folder, sorted by tag, and the unusable images."""
    if mask_encoding not in ENCODINGS:
        raise ValueError(f"mask_encoding must be one of {ENCODINGS}, not {mask_encoding!r}")
    image_dir = (Path(images) if images else Path(root) / "images").resolve()
    mask_dir = (Path(masks) if masks else Path(root) / "masks").resolve()
    for folder, what in ((image_dir, "image"), (mask_dir, "mask")):
        if not folder.is_dir():
            raise BadInput(folder, f"{what} folder not found")
    files = sorted(p for p in image_dir.iterdir() if p.suffix.lower() in IMAGE_EXTS and p.is_file())
    stems: dict[str, Path] = {}

    def make(_: int, image: Path) -> Item:
        mask, per_mask = mask_dir / f"{image.stem}.png", mask_dir / image.stem
        if mask.is_file() and per_mask.is_dir():
            raise BadInput(image, f"has both an id mask {mask} and a per-mask folder: keep one")
        if not mask.is_file() and not per_mask.is_dir():
            raise BadInput(image, f"no mask {mask} (nor a per-mask folder {per_mask}/)")
        if image.stem in stems:
            raise BadInput(image, f"shares its mask {mask} with {stems[image.stem]}")
        stems[image.stem] = image
        payload = {
            "image": str(image),
            "mask": str(per_mask if per_mask.is_dir() else mask),
            "per_mask": per_mask.is_dir(),
            "encoding": mask_encoding,
            "background": int(mask_background),
            "segments": sidecar_segments(mask_dir / f"{image.stem}.json"),
        }
        return Item(tag=image.name, source=SOURCE, payload=payload)

    return collect(files, make, image_dir, unit="file")


def id_encoding(path: str, mode: str, encoding: str) -> str:
    """The ids encoding ("instance" or "rgb") of a mask of Pillow `mode`; BadInput if invalid."""
    if encoding == "auto":
        encoding = "rgb" if mode == "RGB" else "instance"
    allowed = ("RGB", "P") if encoding == "rgb" else (*VALUE_MODES, "P")
    if mode not in allowed:
        raise BadInput(
            path,
            f"cannot read a mode {mode} mask as {encoding} ids; save it as 8- or 16-bit grey "
            "(ids), RGB (R + 256 G + 65536 B) or palette, or pass --mask-encoding",
        )
    return encoding


def mask_ids(path: str, encoding: str) -> tuple[np.ndarray, str]:
    """HxW integer ids of a mask PNG decoded as `encoding` says, and its Pillow mode."""
    with reading(path, "mask"), Image.open(path) as img:
        img.load()
        if id_encoding(path, img.mode, encoding) == "rgb":
            ids = rgb_to_ids(np.asarray(img.convert("RGB"))).astype(np.int64)
        else:
            ids = np.asarray(img).astype(np.int64)
        mode = img.mode
    if ids.min(initial=0) < 0:
        raise BadInput(path, "mask has negative ids")
    return ids, mode


def warn_about_ids(path: str, mode: str, present: list[int], background: int) -> None:
    """Warn about a 0/255 mask (one region) and a fill value that may mark unlabelled pixels."""
    fill = FILL_VALUES.get(mode)
    if mode == "1" or present == [255]:
        log.warning(
            "%s: a binary mask gives one region; for several regions give each its own id, or "
            "one PNG per region in a per-mask folder %s/",
            path,
            Path(path).with_suffix(""),
        )
    elif background == 0 and fill in present and len(present) > 1:
        log.warning(
            "%s: id %d is its format's largest value: if it marks unlabelled pixels (ids "
            "numbered from 0, as SAM numbers its masks), pass --mask-background %d",
            path,
            fill,
            fill,
        )


def labelled(
    p: JsonObject, key: int | None, index: int, mask: np.ndarray, name: str = ""
) -> Region:
    """Region `index` named from the sidecar entry of id `key` (defaults where absent)."""
    s = {x["id"]: x for x in p["segments"]}.get(key, {}) if key is not None else {}
    return region_from_mask(
        index,
        mask,
        name=s.get("name", name),
        category_id=s.get("category_id", vocab.NO_CATEGORY),
        isthing=s.get("isthing", True),
        description=s.get("description", ""),
    )


def warn_absent(p: JsonObject, present: set[int]) -> None:
    absent = sorted({s["id"] for s in p["segments"]} - present)
    if absent:
        sidecar = Path(p["mask"]).with_suffix(".json")
        log.warning("%s: ids %s are not in the mask %s", sidecar, absent, p["mask"])


def id_regions(p: JsonObject, width: int, height: int) -> list[Region]:
    """One region per id other than the background in ascending order, named from the sidecar."""
    ids, mode = mask_ids(p["mask"], p["encoding"])
    check_mask_size(p["mask"], ids.shape, p["image"], width, height)
    background = p["background"]
    if any(s["id"] == background for s in p["segments"]):
        raise BadInput(
            Path(p["mask"]).with_suffix(".json"),
            f"names id {background}, the value of unlabelled pixels: pass --mask-background "
            "with the value your unlabelled pixels have",
        )
    present = [int(v) for v in np.unique(ids) if v != background]
    warn_about_ids(p["mask"], mode, present, background)
    warn_absent(p, set(present))
    return [labelled(p, seg_id, i, ids == seg_id) for i, seg_id in enumerate(present)]


def mask_key(path: Path) -> tuple[int, int, str]:
    """Per-mask files in number order (`2.png` before `10.png`), then other names."""
    return (0, int(path.stem), "") if path.stem.isdigit() else (1, 0, path.stem)


def check_metadata(folder: Path, files: list[Path]) -> None:
    """A SAM `metadata.csv` must list exactly the numbered PNGs of its folder."""
    path = folder / METADATA
    if not path.is_file():
        return
    with reading(path, "metadata"), path.open(newline="", encoding="utf-8") as f:
        try:
            listed = {int(row["id"]) for row in csv.DictReader(f)}
        except (KeyError, TypeError, ValueError) as exc:
            raise BadInput(
                path, f"needs an integer 'id' column, as SAM writes it ({exc!r})"
            ) from exc
    numbered = {int(p.stem) for p in files if p.stem.isdigit()}
    if listed != numbered:
        raise BadInput(
            path,
            f"lists ids {sorted(listed - numbered)[:10]} with no PNG and the folder has PNGs "
            f"{sorted(numbered - listed)[:10]} it does not list: keep the folder as SAM wrote it",
        )


def binary_mask(path: Path, image: str, width: int, height: int) -> np.ndarray:
    """A per-mask PNG as a boolean mask: pixels whose value is not 0 (any channel)."""
    with reading(path, "mask"), Image.open(path) as img:
        img.load()
        if img.mode not in BINARY_MODES:
            raise BadInput(path, f"cannot read a mode {img.mode} PNG as a mask; save it as grey")
        pixels = np.asarray(img)
    mask = pixels.any(axis=2) if pixels.ndim == 3 else pixels != 0
    check_mask_size(path, mask.shape, image, width, height)
    return mask


def per_mask_regions(p: JsonObject, width: int, height: int) -> tuple[list[Region], Disjoint]:
    """Regions of a per-mask folder, made disjoint (smaller on top), empties dropped."""
    folder = Path(p["mask"])
    files = sorted((f for f in folder.glob("*.png") if f.is_file()), key=mask_key)
    if not files:
        raise BadInput(folder, "per-mask folder holds no PNG")
    check_metadata(folder, files)
    disjoint = make_disjoint([binary_mask(f, p["image"], width, height) for f in files])
    keys = [int(f.stem) if f.stem.isdigit() else None for f in files]
    warn_absent(p, {k for k in keys if k is not None})
    names = ["" if key is not None else f.stem for key, f in zip(keys, files, strict=True)]
    regions = [
        labelled(p, keys[old], index, disjoint.masks[old], names[old])
        for index, old in enumerate(disjoint.kept)
    ]
    return regions, disjoint


def load_item(item: Item) -> SourceRecord:
    """Decode one image and its mask (or per-mask folder) and build its regions."""
    p = item.payload
    width, height = image_size(p["image"])
    share, dropped = 0.0, 0
    if p["per_mask"]:
        regions, disjoint = per_mask_regions(p, width, height)
        share, dropped = disjoint.share, len(disjoint.masks) - len(regions)
    else:
        regions = id_regions(p, width, height)
    return SourceRecord(
        tag=item.tag,
        source=SOURCE,
        width=width,
        height=height,
        image_path=p["image"],
        regions=regions,
        overlap_share=share,
        dropped_regions=dropped,
    )
