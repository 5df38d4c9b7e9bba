"""Prompt rendering: type (a) composites, templates, hint lookup, the bench loader."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import numpy as np
import pytest
from mllm_data import bench_rows, write_bench
from PIL import Image

from pandaset_build.errors import TemplateError
from pandaset_build.mllm.prompts import (
    Templates,
    find_hint,
    pair_prompt,
    prompts_for,
    region_prompts,
)
from pandaset_build.mllm.views import DIM, RED, png, region_views
from pandaset_build.pairsets import load_pairs
from pandaset_build.store.masks import encode_mask


def test_region_views_crop_dim_and_red_box() -> None:
    pixels = np.full((20, 30, 3), 200, dtype=np.uint8)
    crop, context = region_views(png(Image.fromarray(pixels)), (10, 5, 8, 6))
    crop_px = np.asarray(Image.open(io.BytesIO(crop)))
    ctx = np.asarray(Image.open(io.BytesIO(context)))
    assert crop_px.shape == (6, 8, 3) and (crop_px == 200).all()
    assert (ctx[5:11, 10:18] == 200).all()  # the region is untouched, outline included
    assert tuple(ctx[4, 12]) == RED and tuple(ctx[11, 12]) == RED  # outline just outside
    assert tuple(ctx[0, 0]) == (round(200 * DIM),) * 3  # everything else dimmed


def test_region_views_use_the_mask() -> None:
    pixels = np.full((20, 30, 3), 100, dtype=np.uint8)
    mask = np.zeros((20, 30), dtype=bool)
    mask[5:11, 10:14] = True  # left half of the box
    _, context = region_views(png(Image.fromarray(pixels)), (10, 5, 8, 6), encode_mask(mask))
    ctx = np.asarray(Image.open(io.BytesIO(context)))
    assert (ctx[5:11, 10:14] == 100).all()
    assert (ctx[5:11, 14:18] == round(100 * DIM)).all()


def test_loader_reads_shards_in_order_with_labels(tmp_path: Path) -> None:
    rows = bench_rows(5)
    pairs = load_pairs(write_bench(tmp_path / "b", rows, shards=2))
    assert [p.tag for p in pairs] == [r["tag"] for r in rows]
    region, row = pairs[3].regions[1], rows[3]["regions"][1]
    assert region.index == 1 and region.name == row["name"] and region.bbox == tuple(row["bbox"])
    assert region.anchor.distortion == row["anchor_distortion"]
    assert region.target.score == row["target_score"] and region.comparison == row["comparison"]
    assert pairs[0].anchor_image == rows[0]["anchor_image"]["bytes"]
    assert len(load_pairs(tmp_path / "b", limit=2)) == 2


def test_templates_errors(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="no such template folder"):
        Templates.load(tmp_path / "missing")
    (tmp_path / "pair.txt").write_text("$regions $unknown")
    pair = load_pairs(write_bench(tmp_path / "b", bench_rows(1)))[0]
    with pytest.raises(TemplateError, match=r"pair\.txt.*unknown"):
        pair_prompt(Templates.load(tmp_path, "extended"), 0, pair)
    empty = dataclasses.replace(pair, regions=[])
    assert prompts_for(Templates.load(), "pair", 0, empty) == []


def test_find_hint(tmp_path: Path) -> None:
    pair = load_pairs(write_bench(tmp_path / "b", bench_rows(1)))[0]
    hints = tmp_path / "g"
    hints.mkdir()
    (hints / f"3_x{pair.key}_exp.json").write_text("{}")  # another tag ending the same way
    assert find_hint(hints, pair) is None
    (hints / f"7_{pair.key}_exp.json").write_text("{}")
    assert find_hint(hints, pair) == hints / f"7_{pair.key}_exp.json"
    (hints / f"7_{pair.key}_other.json").write_text("{}")
    with pytest.raises(ValueError, match="several graphs"):
        find_hint(hints, pair)


def test_region_descriptions_name_the_region_in_both_prompt_types(tmp_path: Path) -> None:
    rows = bench_rows(1, regions=2)
    rows[0]["regions"][0]["description"] = "astronaut's face"
    pair = load_pairs(write_bench(tmp_path, rows, shards=1))[0]
    name = pair.regions[0].name
    extended = Templates.load(prompt_set="extended")
    text = pair_prompt(extended, 0, pair).text
    assert f"0: {name} (astronaut's face), box" in text
    assert f"1: {pair.regions[1].name}, box" in text
    region_texts = [p.text for p in region_prompts(extended, 0, pair)[:2]]
    assert all(f"{name} (astronaut's face)" in t for t in region_texts)
