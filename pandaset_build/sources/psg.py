"""PSG (OpenPSG `psg.json`) reader: `--source psg` (reference/data_formats.md §1).

- Images and masks resolve under `<root>/coco/`; `annotations` defaults to `<root>/psg/psg.json`.
- Tag: `<image_id>_<basename of file_name>`, with `vg_image_id` as the first part where present.
- `category_id` is PSG's 0-based index into `thing_classes + stuff_classes`. It equals the
  0-based rank of the COCO panoptic id among the sorted COCO ids, the id space the coco-panoptic
  reader uses too; `isthing` is true for the first `len(thing_classes)` indices.
- Relations keep PSG's 0-based predicate index, resolved to its name in `predicate_classes`.
- `split` is "test" for ids in `test_image_ids`, else "".
- Images without relations are kept unless `drop_without_relations=True` (OpenPSG drops them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pandaset_build.errors import BadInput
from pandaset_build.json_types import JsonObject
from pandaset_build.sources.common import Item, collect, read_json, require_keys
from pandaset_build.sources.panoptic import Category, load_panoptic, segment_payloads
from pandaset_build.store.records import Relation, SourceRecord

SOURCE = "psg"
OPTIONS = ("annotations",)
KEYS = ("data", "thing_classes", "stuff_classes", "predicate_classes")


def categories(data: JsonObject) -> dict[int, Category]:
    """PSG class index -> category."""
    things, stuff = list(data["thing_classes"]), list(data["stuff_classes"])
    return {i: Category(str(n), i, i < len(things)) for i, n in enumerate(things + stuff)}


def relation_triples(
    record: JsonObject, predicates: list[str], image: str, where: Path
) -> list[list[Any]]:
    """[subject, object, predicate name, predicate index] relations, checked for range."""
    n = len(record["segments_info"])
    out = []
    for subj, obj, pred in record.get("relations", []):
        if not (0 <= subj < n and 0 <= obj < n and 0 <= pred < len(predicates)):
            raise BadInput(image, f"relation {[subj, obj, pred]} is out of range in {where}")
        out.append([int(subj), int(obj), str(predicates[pred]), int(pred)])
    return out


def list_items(
    root: Path,
    *,
    annotations: Path | str | None = None,
    drop_without_relations: bool = False,
) -> tuple[list[Item], list[BadInput]]:
    """Items of a PSG annotation file, sorted by tag, and the records that cannot be used."""
    root = Path(root)
    ann = Path(annotations) if annotations else root / "psg" / "psg.json"
    data = read_json(ann)
    require_keys(ann, data, KEYS)
    cats = categories(data)
    predicates = list(data["predicate_classes"])
    test_ids = {str(i) for i in data.get("test_image_ids", [])}
    coco = root / "coco"

    def make(_: int, rec: JsonObject) -> Item | None:
        if drop_without_relations and not rec.get("relations"):
            return None
        image = str((coco / rec["file_name"]).resolve())
        image_id = str(rec["image_id"])
        tag = f"{rec.get('vg_image_id') or image_id}_{Path(rec['file_name']).name}"
        payload = {
            "image": image,
            "mask": str((coco / rec["pan_seg_file_name"]).resolve()),
            "segments": segment_payloads(rec["segments_info"], cats, image, str(ann)),
            "relations": relation_triples(rec, predicates, image, ann),
            "split": "test" if image_id in test_ids else "",
            "predicate_classes": predicates,
        }
        return Item(tag=tag, source=SOURCE, payload=payload)

    return collect(data["data"], make, ann)


def load_item(item: Item) -> SourceRecord:
    """Decode and check one PSG image and its panoptic mask."""
    record = load_panoptic(item)
    record.relations = [Relation(*relation) for relation in item.payload["relations"]]
    return record
