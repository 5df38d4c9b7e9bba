"""Seagull's JSON Lines manifest (other ISP-style data) on generated lines, good and bad."""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from sources_data import (
    Segment,
    check_regions,
    decode_rle,
    expect_bad,
    make_segments,
    spoil_image,
    write_image,
)

from pandaset_build.errors import BadInput
from pandaset_build.sources import seagull
from pandaset_build.sources.rle import string_runs
from pandaset_build.store.images import read_rgb

RESOLVED = ("overlap", "empty", "sizeless")
LOAD_BAD = (
    "rle_size",
    "short_runs",
    "bad_string",
    "truncated",
    "distorted_size",
    "bad_bbox",
    "declared_size",
)


def compressed(mask: np.ndarray) -> dict:
    """Compressed COCO RLE with string counts."""
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": list(mask.shape), "counts": rle["counts"].decode()}


def uncompressed(mask: np.ndarray) -> dict:
    """Uncompressed COCO RLE: column-major run lengths, zeros first."""
    flat = mask.flatten(order="F").astype(np.int8)
    bounds = [0, *(np.flatnonzero(np.diff(flat)) + 1).tolist(), flat.size]
    runs = np.diff(bounds).tolist()
    return {"size": list(mask.shape), "counts": [0, *runs] if flat[0] else runs}


def entry(root: Path, name: str, rng: np.random.Generator, case: str) -> tuple[dict, list]:
    """Write reference and distorted images; returns the manifest entry and its segments."""
    height, width = int(rng.integers(20, 31)), int(rng.integers(24, 40))
    segments = make_segments(rng, height, width, 4)
    write_image(root / "ref" / name, rng, height, width)
    write_image(root / "dist" / name, rng, height + (case == "distorted_size"), width)
    spoil_image(root / "ref" / name, "truncated" if case == "truncated" else None)
    encode = uncompressed if case == "good_uncompressed" else compressed
    regions = [{"mask": encode(s.mask), "name": f"roi{i}"} for i, s in enumerate(segments)]
    e = {
        "file_name": name,
        "reference": f"ref/{name}",
        "distorted": f"dist/{name}",
        "degradations": ["noise"],
        "regions": regions,
    }
    spoil_entry(e, case, segments)
    return e, segments


def spoil_entry(e: dict, case: str, segments: list[Segment]) -> None:
    """Apply a manifest-level corruption to an entry."""
    height, width = segments[0].mask.shape
    first = e["regions"][0]
    if case == "rle_size":
        first["mask"]["size"] = [height + 1, width]
    elif case == "overlap":
        e["regions"][1]["mask"] = compressed(segments[1].mask | segments[0].mask)
    elif case == "empty":
        first["mask"] = compressed(np.zeros((height, width), dtype=bool))
    elif case == "sizeless":
        for region in e["regions"]:
            del region["mask"]["size"]
        e["degradations"] = ["Noise", "Blur"]  # folder-style names
    elif case == "short_runs":
        first["mask"] = {"size": [height, width], "counts": [3, 2]}
    elif case == "bad_string":
        first["mask"]["counts"] = "!!"
    elif case == "bad_bbox":
        first["bbox"] = [0, 0, 1, 1]
    elif case == "declared_size":
        e["width"] = width + 5


def build(root: Path) -> dict[str, tuple[dict, list[Segment]]]:
    """Write images and root/manifest.jsonl; returns {case: (entry, segments)}."""
    rng = np.random.default_rng(3)
    cases = ["good_compressed", "good_uncompressed", *LOAD_BAD, *RESOLVED]
    out = {c: entry(root, f"r{n:03d}t.png", rng, c) for n, c in enumerate(cases)}
    good, segments = out["good_compressed"]
    good.update(split="train", id="up1", width=segments[0].mask.shape[1])
    good["regions"][0].update(flags={"noise": False}, description="sky, flat")
    good["regions"][1]["flags"] = {"blur": True}
    plain, segments = out["good_uncompressed"]
    plain["degradations"] = ["blur", "exposure"]
    plain["regions"][2]["bbox"] = segments[2].bbox
    unknown = dict(good, file_name="u.png", degradations=["sparkle"])
    missing = {k: v for k, v in good.items() if k != "reference"} | {"file_name": "m.png"}
    lines = [json.dumps(e) for e, _ in out.values()]
    lines += ["", "{not json", json.dumps(unknown), json.dumps(missing), json.dumps(good)]
    (root / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    return out


def test_good_entries(tmp_path: Path) -> None:
    cases = build(tmp_path)
    items, _ = seagull.list_items(tmp_path)
    by_tag = {item.tag: item for item in items}
    assert [i.tag for i in items] == sorted(by_tag)
    assert pickle.loads(pickle.dumps(items)) == items
    good = seagull.load_item(by_tag["seagull_r000t.png"])
    segments = cases["good_compressed"][1]
    expect = [{"name": f"roi{i}", "category_id": -1, "isthing": True} for i in range(4)]
    check_regions(good, segments, [dict(expect[0], description="sky, flat"), *expect[1:]])
    assert good.image_path == str((tmp_path / "ref" / "r000t.png").resolve())
    assert good.isp_path == str((tmp_path / "dist" / "r000t.png").resolve())
    assert (good.source, good.split, good.isp_degradations) == ("seagull", "train", ["noise"])
    assert good.isp_flags == [
        {"noise": False, "blur": False},
        {"noise": True, "blur": True},
        {"noise": True, "blur": False},
        {"noise": True, "blur": False},
    ]
    plain = seagull.load_item(by_tag["seagull_r001t.png"])
    check_regions(plain, cases["good_uncompressed"][1], expect)
    assert plain.split == "" and plain.isp_flags == [{"noise": False, "blur": True}] * 4


def test_listing_failures_name_the_file(tmp_path: Path) -> None:
    build(tmp_path)
    items, failures = seagull.list_items(tmp_path)
    assert len(items) == 2 + len(LOAD_BAD) + len(RESOLVED)
    messages = [str(f) for f in failures]
    manifest = str(tmp_path / "manifest.jsonl")
    assert len(messages) == 4 and all(manifest in m for m in messages)
    assert any("not valid JSON" in m for m in messages)
    assert any("sparkle" in m and "blur, colorfulness" in m for m in messages)
    assert any("reference" in m for m in messages)
    assert any("duplicate tag seagull_r000t.png" in m for m in messages)


def test_load_failures_name_the_file(tmp_path: Path) -> None:
    build(tmp_path)
    by_tag = {item.tag: item for item in seagull.list_items(tmp_path)[0]}
    for n, case in enumerate(LOAD_BAD, start=2):
        name = f"r{n:03d}t.png"
        files = {"truncated": tmp_path / "ref" / name, "distorted_size": tmp_path / "dist" / name}
        culprit = files.get(case, tmp_path / "manifest.jsonl")
        expect_bad(seagull.load_item, by_tag[f"seagull_{name}"], culprit.resolve())


def test_annotations_option(tmp_path: Path) -> None:
    build(tmp_path)
    with pytest.raises(BadInput, match=re.escape(str(tmp_path / "other.jsonl"))):
        seagull.list_items(tmp_path, annotations=tmp_path / "other.jsonl")
    (tmp_path / "meta").mkdir()
    text = (tmp_path / "manifest.jsonl").read_text().replace('"ref/', '"../ref/')
    (tmp_path / "meta" / "m.jsonl").write_text(text.replace('"dist/', '"../dist/'))
    items, _ = seagull.list_items(tmp_path / "x", annotations=tmp_path / "meta" / "m.jsonl")
    record = seagull.load_item(items[0])
    assert record.image_path == str((tmp_path / "ref" / "r000t.png").resolve())


def test_string_runs_match_pycocotools() -> None:
    rng = np.random.default_rng(5)
    for _ in range(20):
        mask = rng.random((int(rng.integers(1, 40)), int(rng.integers(1, 40)))) < rng.random()
        assert string_runs(compressed(mask)["counts"]) == uncompressed(mask)["counts"]


def test_overlaps_go_to_the_smaller_mask_and_empty_masks_are_dropped(tmp_path: Path) -> None:
    cases = build(tmp_path)
    by_tag = {item.tag: item for item in seagull.list_items(tmp_path)[0]}
    start = 2 + len(LOAD_BAD)
    overlap = seagull.load_item(by_tag[f"seagull_r{start:03d}t.png"])
    segments = cases["overlap"][1]
    big = segments[1].mask | segments[0].mask  # region 1 as listed: larger than region 0
    assert np.array_equal(decode_rle(overlap.regions[1].mask), big & ~segments[0].mask)
    assert np.array_equal(decode_rle(overlap.regions[0].mask), segments[0].mask)
    given = sum(int(s.mask.sum()) for s in segments) + int(segments[0].mask.sum())
    assert overlap.overlap_share == pytest.approx(int(segments[0].mask.sum()) / given)
    empty = seagull.load_item(by_tag[f"seagull_r{start + 1:03d}t.png"])
    assert empty.dropped_regions == 1 and len(empty.regions) == 3
    assert [r.name for r in empty.regions] == ["roi1", "roi2", "roi3"]
    assert len(empty.isp_flags) == 3


def test_sizeless_rle_and_folder_style_degradations(tmp_path: Path) -> None:
    cases = build(tmp_path)
    tag = f"seagull_r{2 + len(LOAD_BAD) + 2:03d}t.png"
    item = {i.tag: i for i in seagull.list_items(tmp_path)[0]}[tag]
    record = seagull.load_item(item)
    expect = [{"name": f"roi{i}", "category_id": -1} for i in range(4)]
    check_regions(record, cases["sizeless"][1], expect)
    assert record.isp_degradations == ["noise", "blur"]
    families = [(i["family"], i["folder"]) for i in record.isp_images]
    assert families == [("noise", "distorted"), ("blur", "distorted")]
    reference, distorted = read_rgb(record.image_path), read_rgb(record.isp_path)
    for image in record.isp_images:
        for region, change in zip(record.regions, image["change"], strict=True):
            mask = decode_rle(region.mask)
            diff = distorted[mask].astype(float) - reference[mask]
            assert change == pytest.approx(float(np.sqrt(np.mean(diff**2))))


def test_tags_select_lines(tmp_path: Path) -> None:
    build(tmp_path)
    items, failures = seagull.list_items(tmp_path, tags={"seagull_r001t.png", "r000t.png", "x"})
    assert [i.tag for i in items] == ["seagull_r000t.png", "seagull_r001t.png"]
    assert any("seagull_x.png" in str(f) and "not in the manifest" in str(f) for f in failures)
