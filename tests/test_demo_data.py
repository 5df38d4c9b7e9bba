"""The bundled demo dataset is a well-formed COCO panoptic split (checked with numpy/json only)."""

from __future__ import annotations

import json
from importlib.resources import as_file, files
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

STEMS = {"astronaut", "coffee", "chelsea", "rocket"}


@pytest.fixture(scope="module")
def root():
    with as_file(files("pandaset_build") / "demo") as path:
        yield Path(path)


@pytest.fixture(scope="module")
def coco(root: Path) -> dict:
    return json.loads((root / "annotations" / "panoptic_demo.json").read_text())


def segment_ids(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        assert img.mode == "RGB"
        rgb = np.asarray(img, dtype=np.uint32)
    return rgb[..., 0] + 256 * rgb[..., 1] + 256 * 256 * rgb[..., 2]


def test_layout(root: Path, coco: dict) -> None:
    assert {"info", "licenses", "images", "annotations", "categories"} <= coco.keys()
    assert {Path(im["file_name"]).stem for im in coco["images"]} == STEMS
    assert len(coco["images"]) == 4
    assert len({im["id"] for im in coco["images"]}) == 4
    assert sorted(a["image_id"] for a in coco["annotations"]) == sorted(
        im["id"] for im in coco["images"]
    )
    for im in coco["images"]:
        assert isinstance(im["id"], int)
        with Image.open(root / "demo" / im["file_name"]) as img:
            assert img.size == (im["width"], im["height"])
            assert img.mode == "RGB"


def test_categories(coco: dict) -> None:
    cats = coco["categories"]
    ids = [c["id"] for c in cats]
    assert len(ids) == len(set(ids))
    # A few real COCO panoptic ids, as a guard against renumbering.
    known = {1: "person", 5: "airplane", 17: "cat", 47: "cup", 187: "sky-other-merged"}
    known |= {189: "table-merged", 199: "wall-other-merged"}
    by_id = {c["id"]: c for c in cats}
    for cid, name in known.items():
        if cid in by_id:
            assert by_id[cid]["name"] == name
    for c in cats:
        assert {"id", "name", "supercategory", "isthing", "color"} <= c.keys()
        assert c["isthing"] == (1 if 1 <= c["id"] <= 90 else 0)
        assert 1 <= c["id"] <= 200
        assert len(c["color"]) == 3
    used = {s["category_id"] for a in coco["annotations"] for s in a["segments_info"]}
    assert used == set(ids), "categories should list exactly the ones used"


def test_panoptic_pngs_match_segments_info(root: Path, coco: dict) -> None:
    images = {im["id"]: im for im in coco["images"]}
    things = {c["id"] for c in coco["categories"] if c["isthing"]}
    for ann in coco["annotations"]:
        im = images[ann["image_id"]]
        assert ann["file_name"] == f"{Path(im['file_name']).stem}.png"
        ids = segment_ids(root / "annotations" / "panoptic_demo" / ann["file_name"])
        assert ids.shape == (im["height"], im["width"])
        segs = ann["segments_info"]
        assert 6 <= len(segs) <= 20, ann["file_name"]
        seg_ids = [s["id"] for s in segs]
        assert len(seg_ids) == len(set(seg_ids))
        present = set(np.unique(ids).tolist()) - {0}
        assert present == set(seg_ids), ann["file_name"]
        stuff = [s["category_id"] for s in segs if s["category_id"] not in things]
        assert len(stuff) == len(set(stuff)), "a stuff category occurs twice in one image"
        for s in segs:
            mask = ids == s["id"]
            ys, xs = np.nonzero(mask)
            x0, y0 = int(xs.min()), int(ys.min())
            bbox = [x0, y0, int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1]
            assert s["bbox"] == bbox, (ann["file_name"], s["id"])
            assert all(isinstance(v, int) for v in s["bbox"])
            assert s["area"] == int(mask.sum()), (ann["file_name"], s["id"])
            assert s["area"] >= 300, (ann["file_name"], s["id"])
            assert s["iscrowd"] == 0
            assert isinstance(s.get("description", ""), str)
        # Nearly every pixel is labelled.
        assert (ids > 0).mean() > 0.95


def test_photos_are_the_scikit_image_ones(root: Path) -> None:
    data = pytest.importorskip("skimage.data")
    for stem in sorted(STEMS):
        with Image.open(root / "demo" / f"{stem}.png") as img:
            ours = np.asarray(img.convert("RGB"))
        theirs = getattr(data, stem)()
        assert ours.shape == theirs.shape
        # rocket is a JPEG inside scikit-image; allow for decoder differences there only.
        tolerance = 3 if stem == "rocket" else 0
        assert np.abs(ours.astype(int) - theirs.astype(int)).max() <= tolerance, stem
