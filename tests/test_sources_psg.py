"""PSG reader on a generated psg.json with panoptic PNGs, good and bad records."""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
from sources_data import LOAD_CORRUPTIONS, Sample, check_regions, expect_bad, panoptic_sample

from pandaset_build.errors import BadInput
from pandaset_build.sources import READERS, psg
from pandaset_build.store.records import Relation

THINGS = ["person", "dog"]
STUFF = ["sky", "grass", "wall"]
PREDICATES = ["on", "near", "holding"]
CLASSES = THINGS + STUFF
GOOD = ("good", "good_vg", "good_test", "good_alone")
RELATIONS = [[0, 1, 2], [1, 0, 0], [0, 1, 1]]


def psg_record(image_id: str, stem: str, sample: Sample, cats: list[int]) -> dict:
    """One psg.json `data` record."""
    return {
        "file_name": f"train2017/{stem}.jpg",
        "pan_seg_file_name": f"panoptic_train2017/{stem}.png",
        "image_id": image_id,
        "coco_image_id": stem.lstrip("0"),
        "segments_info": [
            {"id": i, "category_id": c, "iscrowd": 0, "isthing": int(c < 2), "area": 1}
            for i, c in zip(sample.listed, cats, strict=True)
        ],
        "relations": RELATIONS,
    }


def build(root: Path) -> dict[str, tuple[Sample, dict]]:
    """Write a PSG tree under root/coco and root/psg; returns {case: (sample, record)}."""
    rng = np.random.default_rng(7)
    coco = root / "coco"
    out = {}
    for n, case in enumerate([*GOOD, *LOAD_CORRUPTIONS, "unknown_category", "bad_relation"]):
        stem = f"{n:012d}"
        corruption = case if case in LOAD_CORRUPTIONS else None
        sample = panoptic_sample(
            rng,
            coco / "train2017" / f"{stem}.jpg",
            coco / "panoptic_train2017" / f"{stem}.png",
            corruption,
        )
        cats = [int(c) for c in rng.integers(0, len(CLASSES), len(sample.listed))]
        out[case] = (sample, psg_record(str(100 + n), stem, sample, cats))
    out["unknown_category"][1]["segments_info"][-1]["category_id"] = len(CLASSES)
    out["bad_relation"][1]["relations"] = [[0, 1, len(PREDICATES)]]
    out["good_alone"][1]["relations"] = []
    out["good"][1]["segments_info"][0]["description"] = "a red thing"
    out["good"][1]["segments_info"][1]["iscrowd"] = 1
    out["good_vg"][1]["vg_image_id"] = "2391273"
    duplicate = dict(out["good"][1], pan_seg_file_name="panoptic_train2017/none.png")
    doc = {
        "data": [rec for _, rec in out.values()] + [duplicate],
        "thing_classes": THINGS,
        "stuff_classes": STUFF,
        "predicate_classes": PREDICATES,
        "test_image_ids": [out["good_test"][1]["image_id"]],
    }
    (root / "psg").mkdir()
    (root / "psg" / "psg.json").write_text(json.dumps(doc))
    return out


def tag_of(rec: dict) -> str:
    """The tag the contract asks for, spelled out independently."""
    return f"{rec.get('vg_image_id', rec['image_id'])}_{rec['file_name'].split('/')[-1]}"


def test_registered() -> None:
    assert READERS["psg"] is psg


def test_good_records(tmp_path: Path) -> None:
    cases = build(tmp_path)
    items, _ = psg.list_items(tmp_path)
    by_tag = {item.tag: item for item in items}
    assert [i.tag for i in items] == sorted(by_tag)
    assert pickle.loads(pickle.dumps(items)) == items
    assert "2391273_000000000001.jpg" in by_tag
    for case in GOOD:
        sample, rec = cases[case]
        record = psg.load_item(by_tag[tag_of(rec)])
        cats = [s["category_id"] for s in rec["segments_info"]]
        expect = [{"name": CLASSES[c], "category_id": c, "isthing": c < 2} for c in cats]
        for e in expect:
            e["iscrowd"] = False
        if case == "good":
            expect[0]["description"] = "a red thing"
            expect[1]["iscrowd"] = True
        check_regions(record, sample.segments, expect)
        assert record.tag == tag_of(rec)
        assert record.image_path == sample.image
        assert record.source == "psg"
        assert record.split == ("test" if case == "good_test" else "")
    relations = psg.load_item(by_tag[tag_of(cases["good"][1])]).relations
    assert relations == [
        Relation(0, 1, "holding", 2),
        Relation(1, 0, "on", 0),
        Relation(0, 1, "near", 1),
    ]


def test_listing_failures_name_the_file(tmp_path: Path) -> None:
    cases = build(tmp_path)
    items, failures = psg.list_items(tmp_path)
    assert len(items) == len(GOOD) + len(LOAD_CORRUPTIONS)
    messages = [str(f) for f in failures]
    assert len(messages) == 3
    ann = str(tmp_path / "psg" / "psg.json")
    assert any(cases["unknown_category"][0].image in m and "category" in m for m in messages)
    assert any(cases["bad_relation"][0].image in m and "relation" in m for m in messages)
    assert any(ann in m and "duplicate" in m for m in messages)


def test_load_failures_name_the_file(tmp_path: Path) -> None:
    cases = build(tmp_path)
    by_tag = {item.tag: item for item in psg.list_items(tmp_path)[0]}
    for case in LOAD_CORRUPTIONS:
        sample, rec = cases[case]
        expect_bad(psg.load_item, by_tag[tag_of(rec)], sample.culprit(case))


def test_options(tmp_path: Path) -> None:
    cases = build(tmp_path)
    moved = tmp_path / "elsewhere.json"
    (tmp_path / "psg" / "psg.json").rename(moved)
    with pytest.raises(BadInput, match=re.escape(str(tmp_path / "psg" / "psg.json"))):
        psg.list_items(tmp_path)
    items, _ = psg.list_items(tmp_path, annotations=moved, drop_without_relations=True)
    kept = {tag_of(cases[c][1]) for c in GOOD if c != "good_alone"}
    assert kept <= {i.tag for i in items}
    assert tag_of(cases["good_alone"][1]) not in {i.tag for i in items}
