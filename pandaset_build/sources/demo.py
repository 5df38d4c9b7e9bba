"""The bundled demo dataset: scikit-image photos with hand-checked COCO panoptic segmentations."""

from __future__ import annotations

from pathlib import Path

from pandaset_build.errors import BadInput
from pandaset_build.sources import coco_panoptic
from pandaset_build.sources.common import Item
from pandaset_build.store.records import SourceRecord

DEMO_ROOT = Path(__file__).resolve().parent.parent / "demo"
DEMO_SPLIT = "demo"
OPTIONS: tuple[str, ...] = ()


def list_items(root: Path | None = None) -> tuple[list[Item], list[BadInput]]:
    """The demo images, read by the COCO panoptic reader; `root` is ignored."""
    return coco_panoptic.list_items(DEMO_ROOT, split=DEMO_SPLIT)


def load_item(item: Item) -> SourceRecord:
    return coco_panoptic.load_item(item)
