"""Folder reader on generated images with instance, 16-bit, RGB and palette masks."""

from __future__ import annotations

import json
import logging
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sources_data import (
    Segment,
    check_regions,
    expect_bad,
    id_map,
    make_segments,
    spoil_image,
    write_image,
    write_panoptic,
)

from pandaset_build.errors import BadInput
from pandaset_build.sources import READERS, folder

SIDECAR = {
    "segments": [
        {"id": 3, "name": "dog"},
        {"id": 12, "name": "sofa", "isthing": False, "category_id": 57, "description": "grey"},
        {"id": 99, "name": "ghost"},
    ]
}
IDS = {"a.png": [12, 3, 7], "b.jpg": [65535, 300, 1000], "d.bmp": [5, 1, 2]}


def palette_rgb(index: int) -> tuple[int, int, int]:
    """The colour the test palette gives a palette index (index 0 is black)."""
    return ((index * 37) % 256, (index * 53) % 256, (index * 11) % 256)


def rgb_id(rgb: tuple[int, int, int]) -> int:
    """Panoptic id of a colour: R + 256 G + 65536 B."""
    return rgb[0] + 256 * rgb[1] + 65536 * rgb[2]


def relabel(segments: list[Segment], ids: list[int]) -> list[Segment]:
    """The segments with new ids, in ascending id order."""
    renamed = [Segment(i, s.mask, s.bbox) for s, i in zip(segments, ids, strict=True)]
    return sorted(renamed, key=lambda s: s.seg_id)


def write_mask(path: Path, segments: list[Segment], mode: str) -> None:
    """Save the segments' id map as a PNG of the given Pillow mode."""
    ids = id_map(segments)
    if mode == "RGB":
        write_panoptic(path, ids)
        return
    if mode == "P":
        img = Image.fromarray(ids.astype(np.uint8))
        img.putpalette([c for v in range(256) for c in palette_rgb(v)])
    elif mode == "RGBA":
        img = Image.fromarray(np.dstack([ids.astype(np.uint8)] * 4))
    else:
        img = Image.fromarray(ids.astype(np.uint16 if mode == "I;16" else np.uint8))
    img.save(path)
    assert Image.open(path).mode == mode


def build(root: Path) -> dict[str, list[Segment]]:
    """Write root/images and root/masks; returns the expected segments of each image."""
    rng = np.random.default_rng(5)
    (root / "images").mkdir()
    (root / "masks").mkdir()
    modes = {"a.png": "L", "b.jpg": "I;16", "c.png": "RGB", "d.bmp": "P"}
    modes |= {"f.png": "L", "g.png": "L", "h.png": "RGBA"}
    out = {}
    for name, mode in modes.items():
        height, width = int(rng.integers(20, 31)), int(rng.integers(24, 40))
        segments = make_segments(rng, height, width, 3)
        if mode != "RGB":
            segments = relabel(segments, IDS.get(name, [1, 2, 3]))
        write_image(root / "images" / name, rng, height, width + (name == "g.png"))
        write_mask(root / "masks" / f"{Path(name).stem}.png", segments, mode)
        out[name] = sorted(segments, key=lambda s: s.seg_id)
    spoil_image(root / "images" / "f.png", "truncated")
    write_image(root / "images" / "e.png", rng, 20, 20)
    write_image(root / "images" / "c.tif", rng, 20, 20)
    (root / "images" / "notes.txt").write_text("not an image")
    (root / "masks" / "a.json").write_text(json.dumps(SIDECAR))
    return out


def test_registered() -> None:
    assert READERS["folder"] is folder


def test_good_images(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cases = build(tmp_path)
    items, _ = folder.list_items(tmp_path)
    by_tag = {item.tag: item for item in items}
    assert [i.tag for i in items] == sorted(by_tag) == sorted(cases)
    assert pickle.loads(pickle.dumps(items)) == items
    default = {"name": "", "category_id": -1, "isthing": True, "description": ""}
    named = {
        3: {"name": "dog", "category_id": -1, "isthing": True, "description": ""},
        12: {"name": "sofa", "category_id": 57, "isthing": False, "description": "grey"},
    }
    with caplog.at_level(logging.WARNING):
        for tag in ("a.png", "b.jpg", "c.png", "d.bmp"):
            record = folder.load_item(by_tag[tag])
            segments = cases[tag]
            expect = [named.get(s.seg_id, default) if tag == "a.png" else default for s in segments]
            check_regions(record, segments, expect)
            assert (record.tag, record.source, record.split) == (tag, "folder", "")
            assert record.image_path == str((tmp_path / "images" / tag).resolve())
    assert "99" in caplog.text and "a.json" in caplog.text


def test_failures_name_the_file(tmp_path: Path) -> None:
    build(tmp_path)
    items, failures = folder.list_items(tmp_path)
    messages = [str(f) for f in failures]
    images = (tmp_path / "images").resolve()
    assert len(messages) == 2
    assert any(str(images / "e.png") in m and "no mask" in m for m in messages)
    assert any(str(images / "c.tif") in m and "c.png" in m for m in messages)
    by_tag = {item.tag: item for item in items}
    masks = (tmp_path / "masks").resolve()
    expect_bad(folder.load_item, by_tag["f.png"], images / "f.png")
    expect_bad(folder.load_item, by_tag["g.png"], masks / "g.png")
    assert "RGBA" in str(expect_bad(folder.load_item, by_tag["h.png"], masks / "h.png"))


def test_mask_encodings(tmp_path: Path) -> None:
    cases = build(tmp_path)
    masks = (tmp_path / "masks").resolve()
    by_tag = {i.tag: i for i in folder.list_items(tmp_path, mask_encoding="rgb")[0]}
    by_color = sorted(cases["d.bmp"], key=lambda s: rgb_id(palette_rgb(s.seg_id)))
    check_regions(folder.load_item(by_tag["d.bmp"]), by_color, [{"name": ""}] * 3)
    check_regions(folder.load_item(by_tag["c.png"]), cases["c.png"], [{"name": ""}] * 3)
    expect_bad(folder.load_item, by_tag["a.png"], masks / "a.png")
    by_tag = {i.tag: i for i in folder.list_items(tmp_path, mask_encoding="instance")[0]}
    expect_bad(folder.load_item, by_tag["c.png"], masks / "c.png")
    check_regions(folder.load_item(by_tag["b.jpg"]), cases["b.jpg"], [{"name": ""}] * 3)
    with pytest.raises(ValueError, match="mask_encoding"):
        folder.list_items(tmp_path, mask_encoding="gray")
    with pytest.raises(BadInput, match="folder not found"):
        folder.list_items(tmp_path / "missing")
