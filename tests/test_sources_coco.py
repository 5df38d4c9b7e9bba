"""COCO panoptic reader on a generated panoptic JSON with PNGs, good and bad entries."""

from __future__ import annotations

import json
import pickle
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from sources_data import LOAD_CORRUPTIONS, Sample, check_regions, expect_bad, panoptic_sample

from pandaset_build.errors import BadInput
from pandaset_build.sources import READERS, coco_panoptic

# Non-contiguous COCO ids, listed out of order; RANK is their position once sorted by id.
CATEGORIES = [
    {"id": 92, "name": "banner", "isthing": 0},
    {"id": 1, "name": "person", "isthing": 1},
    {"id": 184, "name": "tree-merged", "isthing": 0},
    {"id": 3, "name": "car", "isthing": 1},
]
RANK = {1: 0, 3: 1, 92: 2, 184: 3}
NAME = {c["id"]: c["name"] for c in CATEGORIES}
GOOD = ("good", "good_crowd")


def build(root: Path, split: str = "val2017") -> dict[str, tuple[Sample, dict, dict]]:
    """Write the official layout; returns {case: (sample, image entry, annotation entry)}."""
    rng = np.random.default_rng(11)
    out = {}
    cases = [*GOOD, *LOAD_CORRUPTIONS, "unknown_category", "no_annotation", "duplicate"]
    for n, case in enumerate(cases):
        stem = f"{n + 1:012d}"
        corruption = case if case in LOAD_CORRUPTIONS else None
        sample = panoptic_sample(
            rng,
            root / split / f"{stem}.jpg",
            root / "annotations" / f"panoptic_{split}" / f"{stem}.png",
            corruption,
        )
        cats = rng.choice(list(RANK), len(sample.listed)).tolist()
        segs = [
            {"id": i, "category_id": c, "iscrowd": 0, "bbox": [0, 0, 1, 1], "area": 1}
            for i, c in zip(sample.listed, cats, strict=True)
        ]
        image = {"id": 1000 + n, "file_name": f"{stem}.jpg", "height": 1, "width": 1}
        ann = {"image_id": 1000 + n, "file_name": f"{stem}.png", "segments_info": segs}
        out[case] = (sample, image, ann)
    out["unknown_category"][2]["segments_info"][0]["category_id"] = 2
    out["good_crowd"][2]["segments_info"][0].update(iscrowd=1, description="a crowd")
    out["duplicate"][1]["file_name"] = out["good"][1]["file_name"]
    images = [image for _, image, _ in out.values()]
    anns = [ann for case, (_, _, ann) in out.items() if case != "no_annotation"]
    anns.append({"image_id": 999999, "file_name": "x.png", "segments_info": []})
    doc = {"info": {}, "licenses": [], "images": images, "annotations": anns}
    doc["categories"] = CATEGORIES
    (root / "annotations" / f"panoptic_{split}.json").write_text(json.dumps(doc))
    return out


def test_registered() -> None:
    assert READERS["coco-panoptic"] is coco_panoptic


def test_good_entries(tmp_path: Path) -> None:
    cases = build(tmp_path)
    items, _ = coco_panoptic.list_items(tmp_path)
    by_tag = {item.tag: item for item in items}
    assert [i.tag for i in items] == sorted(by_tag)
    assert pickle.loads(pickle.dumps(items)) == items
    for case in GOOD:
        sample, image, ann = cases[case]
        record = coco_panoptic.load_item(by_tag[image["file_name"]])
        ids = [s["category_id"] for s in ann["segments_info"]]
        expect = [
            {"name": NAME[c], "category_id": RANK[c], "isthing": c < 92, "iscrowd": False}
            for c in ids
        ]
        if case == "good_crowd":
            expect[0].update(description="a crowd", iscrowd=True)
        check_regions(record, sample.segments, expect)
        assert record.tag == image["file_name"]
        assert record.image_path == sample.image
        assert (record.source, record.split, record.relations) == ("coco-panoptic", "", [])


def test_listing_failures_name_the_file(tmp_path: Path) -> None:
    cases = build(tmp_path)
    items, failures = coco_panoptic.list_items(tmp_path)
    assert len(items) == len(GOOD) + len(LOAD_CORRUPTIONS)
    messages = [str(f) for f in failures]
    assert len(messages) == 4
    ann = str(tmp_path / "annotations" / "panoptic_val2017.json")
    assert any(cases["unknown_category"][0].image in m and "category" in m for m in messages)
    assert any(cases["no_annotation"][0].image in m for m in messages)
    assert any(ann in m and "duplicate" in m for m in messages)
    assert any(ann in m and "999999" in m for m in messages)


def test_load_failures_name_the_file(tmp_path: Path) -> None:
    cases = build(tmp_path)
    by_tag = {item.tag: item for item in coco_panoptic.list_items(tmp_path)[0]}
    for case in LOAD_CORRUPTIONS:
        sample, image, _ = cases[case]
        expect_bad(coco_panoptic.load_item, by_tag[image["file_name"]], sample.culprit(case))


def test_overrides(tmp_path: Path) -> None:
    cases = build(tmp_path / "orig", split="train2017")
    with pytest.raises(
        BadInput, match=re.escape(str(tmp_path / "orig" / "annotations" / "panoptic_val2017.json"))
    ):
        coco_panoptic.list_items(tmp_path / "orig")
    shutil.move(tmp_path / "orig" / "train2017", tmp_path / "imgs")
    shutil.move(tmp_path / "orig" / "annotations" / "panoptic_train2017", tmp_path / "pngs")
    items, _ = coco_panoptic.list_items(
        tmp_path / "nowhere",
        annotations=tmp_path / "orig" / "annotations" / "panoptic_train2017.json",
        images=tmp_path / "imgs",
        masks=tmp_path / "pngs",
    )
    item = next(i for i in items if i.tag == cases["good"][1]["file_name"])
    record = coco_panoptic.load_item(item)
    assert record.image_path == str((tmp_path / "imgs" / item.tag).resolve())
    assert len(record.regions) == len(cases["good"][0].segments)
    default_split, _ = coco_panoptic.list_items(tmp_path / "orig", split="train2017")
    assert [i.tag for i in default_split] == [i.tag for i in items]


def test_a_detection_json_given_as_panoptic_says_so(tmp_path: Path) -> None:
    build(tmp_path)
    instances = tmp_path / "annotations" / "instances_val2017.json"
    doc = {
        "images": [{"id": 1, "file_name": "a.jpg", "height": 4, "width": 4}],
        "annotations": [
            {"id": 7, "image_id": 1, "category_id": 1, "segmentation": [[0, 0, 1, 1, 2, 0]],
             "area": 1.0, "bbox": [0, 0, 2, 1], "iscrowd": 0}
        ],
        "categories": CATEGORIES,
    }  # fmt: skip
    instances.write_text(json.dumps(doc))
    with pytest.raises(BadInput) as info:
        coco_panoptic.list_items(tmp_path, annotations=instances)
    message = str(info.value)
    assert str(instances) in message and "detection (instances)" in message
    assert "segments_info" in message and "panoptic_annotations_trainval2017.zip" in message
    assert "--annotations" in message and message.count("\n") == 0
