"""build.json records the recipe; another recipe is refused unless --restart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import write_recipe

from pandaset_build import __version__
from pandaset_build.builddir import BuildError, open_build
from pandaset_build.recipe import load_recipe


def test_build_json_records_recipe_hash_version_seed(tmp_path: Path) -> None:
    build = open_build(tmp_path / "b", "quickstart")
    record = json.loads((tmp_path / "b" / "build.json").read_text())
    assert record["recipe_hash"] == load_recipe("quickstart").digest()
    assert record["version"] == __version__
    assert record["seed"] == build.recipe.seed
    assert record["recipe"]["name"] == "quickstart"


def test_reopening_without_recipe_uses_the_recorded_one(tmp_path: Path) -> None:
    open_build(tmp_path / "b", "quickstart")
    assert open_build(tmp_path / "b").recipe == load_recipe("quickstart")


def test_other_recipe_is_refused_unless_restart(tmp_path: Path) -> None:
    open_build(tmp_path / "b", "quickstart")
    (tmp_path / "b" / "sources").mkdir()
    other = write_recipe(tmp_path / "other.yaml", seed=7)
    with pytest.raises(BuildError, match="--restart"):
        open_build(tmp_path / "b", other)
    assert (tmp_path / "b" / "sources").exists()
    build = open_build(tmp_path / "b", other, restart=True)
    assert build.recipe.seed == 7
    assert not (tmp_path / "b" / "sources").exists()
