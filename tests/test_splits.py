"""Seeded split assignment: fractions respected, stable when images are added, manifests win."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import write_recipe

from pandaset_build.config.recipe import load_recipe
from pandaset_build.labels.splits import SplitRule


def test_split_fractions_and_stability(tmp_path: Path) -> None:
    rule = SplitRule(load_recipe("default"))
    tags = [f"img{i}.jpg" for i in range(4400)]
    splits = [rule(tag) for tag in tags]
    share = {name: splits.count(name) / len(tags) for name in ("train", "val", "test")}
    assert abs(share["train"] - 2000 / 2200) < 0.015
    assert abs(share["test"] - 150 / 2200) < 0.01
    assert 0 < share["val"] < 0.05
    again = SplitRule(load_recipe("default"))
    assert [again(tag) for tag in tags[:100]] == splits[:100]


def test_manifest_wins_and_other_tags_avoid_its_splits(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"splits": {"test": ["a.jpg", "b.jpg"]}}))
    recipe = load_recipe(write_recipe(tmp_path / "r.yaml", split_manifest=str(manifest)))
    rule = SplitRule(recipe)
    assert rule("a.jpg") == rule("b.jpg") == "test"
    assert {rule(f"x{i}.jpg") for i in range(200)} == {"train"}


def test_source_splits_are_used_when_asked(tmp_path: Path) -> None:
    recipe = load_recipe(write_recipe(tmp_path / "r.yaml", use_source_splits=True))
    rule = SplitRule(recipe)
    assert {rule(f"x{i}.jpg", "test") for i in range(50)} == {"test"}
