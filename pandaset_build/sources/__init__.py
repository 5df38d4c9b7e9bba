"""Input-format readers: each module offers `list_items(root, **options)` and `load_item(item)`."""

from __future__ import annotations

from types import ModuleType

from pandaset_build.sources import coco_panoptic, demo, folder, psg, seagull

READERS: dict[str, ModuleType] = {
    "psg": psg,
    "coco-panoptic": coco_panoptic,
    "seagull": seagull,
    "folder": folder,
    "demo": demo,
}
