"""COCO panoptic reader: `--source coco-panoptic` (reference/data_formats.md §2).

- Defaults: `<root>/annotations/panoptic_<split>.json`, masks in the folder named after that
  JSON, images in `<root>/<split>/`; `annotations`, `masks` and `images` override each part.
- Tag: the image file name.
- `category_id` is the 0-based rank of the COCO id among the sorted category ids (not the COCO
  id itself). For the 133 COCO panoptic categories this is PSG's class index, so PSG and COCO
  records share one id space; `name` and `isthing` come from `categories`.
- `split` is left "": the build assigns splits.
"""

from __future__ import annotations

from pathlib import Path

from pandaset_build.errors import BadInput
from pandaset_build.json_types import JsonObject
from pandaset_build.sources.common import Item, collect, read_json, require_keys
from pandaset_build.sources.panoptic import Category, load_panoptic, segment_payloads
from pandaset_build.store.records import SourceRecord

SOURCE = "coco-panoptic"
OPTIONS = ("split", "annotations", "images", "masks")
KEYS = ("images", "annotations", "categories")


def check_panoptic(path: Path, data: JsonObject) -> None:
    """Refuse a COCO detection (instances), keypoints or captions file given as panoptic."""
    first = next(iter(data["annotations"]), None)
    if isinstance(first, dict) and "segments_info" not in first:
        kind = "detection (instances)" if "segmentation" in first or "bbox" in first else "COCO"
        raise BadInput(
            path,
            f"is a {kind} annotation file, not a panoptic one (its annotations have keys "
            f"{sorted(first)}, no segments_info): coco-panoptic reads panoptic_<split>.json "
            "from COCO's panoptic_annotations_trainval2017.zip; name it with --annotations",
        )


def categories(data: JsonObject) -> dict[int, Category]:
    """COCO category id -> category with its rank among the sorted ids."""
    cats = sorted(data["categories"], key=lambda c: int(c["id"]))
    return {
        int(c["id"]): Category(str(c["name"]), rank, bool(c.get("isthing", 1)))
        for rank, c in enumerate(cats)
    }


def list_items(
    root: Path,
    *,
    split: str = "val2017",
    annotations: Path | str | None = None,
    images: Path | str | None = None,
    masks: Path | str | None = None,
) -> tuple[list[Item], list[BadInput]]:
    """Items of a COCO panoptic annotation file, sorted by tag, and the unusable entries."""
    root = Path(root)
    ann = Path(annotations) if annotations else root / "annotations" / f"panoptic_{split}.json"
    image_dir = Path(images) if images else root / split
    mask_dir = Path(masks) if masks else ann.with_suffix("")
    data = read_json(ann)
    require_keys(ann, data, KEYS)
    check_panoptic(ann, data)
    cats = categories(data)
    by_image: dict[int, JsonObject] = {}
    failures: list[BadInput] = []
    for index, a in enumerate(data["annotations"]):
        image_id = a.get("image_id") if isinstance(a, dict) else None
        if image_id is None or image_id in by_image:
            failures.append(BadInput(ann, f"annotation {index}: missing or repeated image_id"))
        else:
            by_image[image_id] = a

    def make(_: int, img: JsonObject) -> Item:
        image = str((image_dir / img["file_name"]).resolve())
        a = by_image.pop(img["id"], None)
        if a is None:
            raise BadInput(image, f"no panoptic annotation for image id {img['id']} in {ann}")
        payload = {
            "image": image,
            "mask": str((mask_dir / a["file_name"]).resolve()),
            "segments": segment_payloads(a["segments_info"], cats, image, str(ann)),
        }
        return Item(tag=Path(img["file_name"]).name, source=SOURCE, payload=payload)

    items, bad = collect(data["images"], make, ann)
    orphans = [
        BadInput(ann, f"annotation for unknown image_id {i}") for i in sorted(by_image, key=str)
    ]
    return items, failures + bad + orphans


def load_item(item: Item) -> SourceRecord:
    """Decode and check one COCO image and its panoptic mask."""
    return load_panoptic(item)
