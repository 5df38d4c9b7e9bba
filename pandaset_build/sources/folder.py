"""Generic folder reader: `--source folder` (reference/data_formats.md §4).

- `<root>/images/<stem>.<ext>` with `<root>/masks/<stem>.png` and an optional names sidecar
  `<root>/masks/<stem>.json`; `images` and `masks` override the folders. Non-recursive, sorted.
- Tag: the image file name. An image without a mask, or a second image sharing a stem (and so
  a mask) with an earlier one, is a per-item failure.
- Mask ids by `mask_encoding`: "auto" goes by the Pillow mode (I;16, I, L: values; P: palette
  indices; RGB: R + 256 G + 65536 B; others rejected), "instance" reads values or palette
  indices, "rgb" reads RGB (a palette PNG is expanded to RGB first).
- 0 is unlabelled; each other id is one region, in ascending id order. Sidecar defaults: name "",
  category_id 0, isthing true; sidecar ids absent from the mask are logged as warnings.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from pandaset_build.errors import BadInput
from pandaset_build.sources.common import Item, collect, image_size, read_json, reading
from pandaset_build.store.masks import rgb_to_ids
from pandaset_build.store.records import Region, SourceRecord, region_from_mask

SOURCE = "folder"
IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
ENCODINGS = ("auto", "instance", "rgb")
VALUE_MODES = ("I;16", "I;16L", "I;16B", "I", "L")
log = logging.getLogger(__name__)


def sidecar_segments(path: Path) -> list[dict[str, Any]]:
    """Segments of a names sidecar with defaults filled in; [] when there is no sidecar."""
    if not path.is_file():
        return []
    data = read_json(path, "sidecar")
    try:
        segments = [
            {
                "id": int(s["id"]),
                "name": str(s.get("name", "")),
                "category_id": int(s.get("category_id", 0)),
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
        mask = mask_dir / f"{image.stem}.png"
        if not mask.is_file():
            raise BadInput(image, f"no mask {mask}")
        if image.stem in stems:
            raise BadInput(image, f"shares its mask {mask} with {stems[image.stem]}")
        stems[image.stem] = image
        payload = {
            "image": str(image),
            "mask": str(mask),
            "encoding": mask_encoding,
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
        raise BadInput(path, f"cannot read a mode {mode} mask as {encoding} ids")
    return encoding


def mask_ids(path: str, encoding: str) -> np.ndarray:
    """HxW integer ids of a mask PNG decoded as `encoding` says."""
    with reading(path, "mask"), Image.open(path) as img:
        img.load()
        if id_encoding(path, img.mode, encoding) == "rgb":
            ids = rgb_to_ids(np.asarray(img.convert("RGB"))).astype(np.int64)
        else:
            ids = np.asarray(img).astype(np.int64)
    if ids.min(initial=0) < 0:
        raise BadInput(path, "mask has negative ids")
    return ids


def folder_regions(p: dict[str, Any], ids: np.ndarray) -> list[Region]:
    """One region per non-zero id in ascending order, named from the sidecar."""
    present = [int(v) for v in np.unique(ids) if v != 0]
    named = {s["id"]: s for s in p["segments"]}
    absent = sorted(set(named) - set(present))
    if absent:
        sidecar = Path(p["mask"]).with_suffix(".json")
        log.warning("%s: ids %s are not in the mask %s", sidecar, absent, p["mask"])
    regions = []
    for index, seg_id in enumerate(present):
        s = named.get(seg_id, {})
        mask = ids == seg_id
        regions.append(
            region_from_mask(
                index,
                mask,
                name=s.get("name", ""),
                category_id=s.get("category_id", 0),
                isthing=s.get("isthing", True),
                description=s.get("description", ""),
            )
        )
    return regions


def load_item(item: Item) -> SourceRecord:
    """Decode one image and its mask and build its regions."""
    p = item.payload
    width, height = image_size(p["image"])
    ids = mask_ids(p["mask"], p["encoding"])
    if ids.shape != (height, width):
        raise BadInput(
            p["mask"], f"mask is {ids.shape[1]}x{ids.shape[0]} but its image is {width}x{height}"
        )
    return SourceRecord(
        tag=item.tag,
        source=SOURCE,
        width=width,
        height=height,
        image_path=p["image"],
        regions=folder_regions(p, ids),
    )
