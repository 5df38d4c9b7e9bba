"""Seagull-100w as released, on a generated miniature tree: tags, ROIs, splits, ISP pixels."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import write_recipe
from pycocotools import mask as mask_utils
from seagull_tree import (
    BLUR_SIGMAS,
    FAST_VIEW,
    IDS,
    LABELS,
    NOISE_SIGMAS,
    UNLABELLED,
    minus_smaller,
    rms_change,
    write_tree,
)
from sources_data import decode_rle

from pandaset_build.engine.executors import LocalExecutor
from pandaset_build.errors import BadInput
from pandaset_build.labels.splits import SplitRule
from pandaset_build.render.plan import isp_folder
from pandaset_build.sources import READERS, seagull
from pandaset_build.stages.distort import distort
from pandaset_build.stages.ingest import ingest
from pandaset_build.store.build import open_build
from pandaset_build.store.catalog import read_sources, source_index
from pandaset_build.store.images import read_rgb
from pandaset_build.store.records import RegionPlan
from pandaset_build.store.tables import parquet_files


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, dict]:
    root = tmp_path / "SEAGULL-100w"
    return root, write_tree(root)


def test_registered() -> None:
    assert READERS["seagull"] is seagull


def test_one_item_per_reference_with_its_isp_images(tree: tuple[Path, dict]) -> None:
    root, _ = tree
    items, failures = seagull.list_items(root)
    assert not failures
    assert [i.tag for i in items] == sorted(f"seagull_{r}.png" for r in IDS)
    assert f"seagull_{UNLABELLED}.png" not in {i.tag for i in items}  # no ROI: not an item
    assert pickle.loads(pickle.dumps(items)) == items
    for item in items:
        ref = item.tag.removeprefix("seagull_").removesuffix(".png")
        folders = [folder for _, folder, _ in item.payload["isp"]]
        assert folders == ["Noise_0", "Noise_1", "Noise_2", "Blur_0", "Blur_1", "Blur_2"]
        for family, folder, path in item.payload["isp"]:
            kind = family.capitalize()
            assert path == str((root / "Dist.Images" / kind / folder / f"{ref}.png").resolve())
        assert len(item.payload["rois"]) == 5  # the ROI listed twice is kept once


def test_stored_masks_are_the_rois_minus_smaller_rois(tree: tuple[Path, dict]) -> None:
    root, refs = tree
    labels = json.loads((root / LABELS).read_text())
    for item in seagull.list_items(root)[0]:
        record = seagull.load_item(item)
        ref = refs[item.tag.removeprefix("seagull_").removesuffix(".png")]
        entries = [e for e in labels if e["img"] == f"{ref.ref_id}.png"][:5]
        decoded = []
        for e in entries:  # decoded independently: the size is the image's
            rle = {"size": [record.height, record.width], "counts": e["rle"].encode()}
            mask = mask_utils.decode(rle).astype(bool)
            x, y, w, h = e["points"]
            assert list(mask_utils.toBbox(rle)) == [x, y, w + 1, h + 1]
            assert seagull.coco_box(e["points"]) == [x, y, w + 1, h + 1]
            decoded.append(mask)
        expected = minus_smaller(decoded)
        kept = [i for i, m in enumerate(expected) if m.any()]
        assert kept == [0, 2, 3, 4]  # ROI 1 is covered by the smaller ROIs 2 and 3
        assert record.dropped_regions == 1
        assert [r.name for r in record.regions] == [f"roi {i}" for i in kept]
        for index, (region, old) in enumerate(zip(record.regions, kept, strict=True)):
            assert region.region_id == index
            assert np.array_equal(decode_rle(region.mask), expected[old])
            assert region.category_id == -1 and region.isthing and not region.iscrowd
        given = sum(int(m.sum()) for m in decoded)
        assert record.overlap_share == pytest.approx(
            (given - sum(int(m.sum()) for m in expected)) / given
        )
        assert record.image_path == str((root / "Ref.Images" / f"{ref.ref_id}.png").resolve())
        assert record.isp_degradations == ["noise", "blur"]


def test_isp_images_are_measured_per_region(tree: tuple[Path, dict]) -> None:
    root, _ = tree
    item = seagull.list_items(root)[0][0]
    record = seagull.load_item(item)
    reference = read_rgb(record.image_path)
    for image in record.isp_images:
        pixels = read_rgb(image["path"])
        for region, change in zip(record.regions, image["change"], strict=True):
            assert change == pytest.approx(rms_change(pixels, reference, decode_rle(region.mask)))
    blur = {i["folder"]: i["change"] for i in record.isp_images if i["family"] == "blur"}
    for r in range(len(record.regions)):  # the degree does not follow k in this tree
        by_change = sorted(blur, key=lambda folder: blur[folder][r])
        assert by_change == sorted(BLUR_SIGMAS, key=BLUR_SIGMAS.get)  # Blur_1, Blur_2, Blur_0


def test_fast_view_object_keyed_by_image_id(tree: tuple[Path, dict]) -> None:
    root, _ = tree
    items, failures = seagull.list_items(root, annotations=root / FAST_VIEW)
    assert not failures
    assert [i.tag for i in items] == sorted(f"seagull_{r}.png" for r in IDS[:2])
    full = {i.tag: seagull.load_item(i) for i in seagull.list_items(root)[0]}
    for item in items:
        assert seagull.load_item(item).regions == full[item.tag].regions


def test_tags_select_references(tree: tuple[Path, dict]) -> None:
    root, _ = tree
    wanted = {f"seagull_{IDS[0]}.png", IDS[2], "rdeadbeeft"}
    items, failures = seagull.list_items(root, tags=wanted)
    assert [i.tag for i in items] == [f"seagull_{IDS[0]}.png", f"seagull_{IDS[2]}.png"]
    (failure,) = failures
    assert "seagull_rdeadbeeft.png" in str(failure) and str(root / LABELS) in str(failure)


def test_other_label_shapes_print_the_first_entry_keys(tree: tuple[Path, dict]) -> None:
    root, _ = tree
    other = root / "Labels" / "scores.json"
    other.write_text(json.dumps([{"image": "x.png", "score": 0.5, "masks": []}]))
    with pytest.raises(BadInput) as info:
        seagull.list_items(root, annotations=other)
    message = str(info.value)
    assert str(other) in message and "['image', 'masks', 'score']" in message
    assert "{img, rle, points}" in message and "--annotations" in message
    other.write_text(json.dumps({"r1": {"score": 1}}))
    with pytest.raises(BadInput, match=r"keys \['score'\]"):
        seagull.list_items(root, annotations=other)


def test_missing_parts_name_the_path_and_the_fix(tree: tuple[Path, dict]) -> None:
    root, _ = tree
    (root / LABELS).unlink()
    with pytest.raises(BadInput) as info:
        seagull.list_items(root)
    assert str(root / LABELS) in str(info.value) and str(root / FAST_VIEW) in str(info.value)
    with pytest.raises(BadInput) as info:
        seagull.list_items(root / "Labels")
    assert "Ref.Images" in str(info.value) and "--root" in str(info.value)


def test_rois_of_another_image_size_are_refused(tree: tuple[Path, dict]) -> None:
    root, _ = tree
    small = np.zeros((10, 10), dtype=bool)
    small[2:5, 2:5] = True
    counts = mask_utils.encode(np.asfortranarray(small.astype(np.uint8)))["counts"].decode()
    other = root / "Labels" / "other.json"
    other.write_text(json.dumps([{"img": f"{IDS[0]}.png", "rle": counts, "points": [2, 2, 2, 2]}]))
    (item,) = seagull.list_items(root, annotations=other)[0]
    with pytest.raises(BadInput) as info:
        seagull.load_item(item)
    message = str(info.value)
    assert str(other) in message and "100 pixels" in message and "64x48" in message


def ingested(root: Path, tmp_path: Path, **recipe: object) -> tuple:
    build = open_build(tmp_path / "build", write_recipe(tmp_path / "r.yaml", **recipe))
    report = ingest(build, "seagull", root, LocalExecutor(1))
    assert report.ok
    return build, read_sources(tuple(source_index(build)))


def test_splits_are_drawn_per_reference(tree: tuple[Path, dict], tmp_path: Path) -> None:
    root, _ = tree
    build, records = ingested(root, tmp_path)
    assert [r.tag for r in records] == sorted(f"seagull_{r}.png" for r in IDS)
    rule = SplitRule(build.recipe)
    assert all(r.split == rule(r.tag) for r in records)
    splits = json.loads(build.layout.splits_file.read_text())
    listed = [tag for tags in splits.values() for tag in tags]
    assert sorted(listed) == [r.tag for r in records]
    assert len(list(parquet_files(build.layout.sources))) >= 1


def test_blur_and_noise_regions_keep_the_chosen_isp_pixels(
    tree: tuple[Path, dict], tmp_path: Path
) -> None:
    root, _ = tree
    build, records = ingested(
        root, tmp_path, versions=["blur", "noise"], assignment={"clean_probability": 0.0}
    )
    assert distort(build, LocalExecutor(1)).ok
    plans = [
        RegionPlan.from_row(row)
        for path in parquet_files(build.layout.plans)
        for row in pq.read_table(path).to_pylist()
    ]
    by_tag = {r.tag: r for r in records}
    severities = set()
    for plan in plans:
        record = by_tag[plan.tag]
        assert plan.isp and plan.subtype == "isp"
        kind = plan.distortion.capitalize()
        assert plan.isp_folder.startswith(f"{kind}_")
        reference = read_rgb(record.image_path)
        mask = decode_rle(record.regions[plan.region_id].mask)
        version = read_rgb(build.layout.version_image(plan.version, record.split, plan.tag))
        ref_id = plan.tag.removeprefix("seagull_").removesuffix(".png")
        chosen = read_rgb(root / "Dist.Images" / kind / plan.isp_folder / f"{ref_id}.png")
        assert np.array_equal(version[mask], chosen[mask])
        sigmas = BLUR_SIGMAS if plan.distortion == "blur" else NOISE_SIGMAS
        change = {
            folder: rms_change(
                read_rgb(root / "Dist.Images" / kind / folder / f"{ref_id}.png"), reference, mask
            )
            for folder in sigmas
        }
        ordered = sorted(change, key=change.get)
        third = ["minor", "moderate", "severe"].index(plan.severity)
        assert ordered.index(plan.isp_folder) == third  # three folders: one per third
        severities.add(plan.severity)
    assert severities == {"minor", "moderate", "severe"}
    outside = ~np.logical_or.reduce([decode_rle(r.mask) for r in records[0].regions])
    version = read_rgb(build.layout.version_image("blur", records[0].split, records[0].tag))
    assert np.array_equal(version[outside], read_rgb(records[0].image_path)[outside])


@pytest.mark.parametrize("n", [1, 2, 3, 7, 20])
def test_each_severity_takes_its_third_of_the_folders(n: int) -> None:
    ordered = [f"Blur_{k}" for k in range(n)]  # already in measured order
    chosen = {
        severity: {isp_folder(ordered, severity, seed) for seed in range(200)}
        for severity in ("minor", "moderate", "severe")
    }
    rank = {
        severity: sorted(ordered.index(f) for f in folders) for severity, folders in chosen.items()
    }
    assert set().union(*chosen.values()) == set(ordered)  # every folder serves a severity
    assert rank["minor"][-1] <= rank["moderate"][0] and rank["moderate"][-1] <= rank["severe"][0]
    if n >= 3:
        assert max(len(v) for v in rank.values()) - min(len(v) for v in rank.values()) <= 1
        assert not (chosen["minor"] & chosen["moderate"] or chosen["moderate"] & chosen["severe"])
