"""build.json records the recipe; another recipe is refused unless --restart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import lock_held_elsewhere, write_recipe

from pandaset_build import __version__
from pandaset_build.config.recipe import load_recipe
from pandaset_build.errors import BuildError
from pandaset_build.store.build import open_build


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


def _contents(root: Path) -> list[tuple[str, bytes]]:
    """Every file under root with its bytes (the lock file excepted)."""
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != ".lock")
    return [(str(p.relative_to(root)), p.read_bytes()) for p in files]


def _built_with_other_recipe(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "b"
    open_build(root, "quickstart")
    for entry in ("sources", "versions", "_done"):
        (root / entry).mkdir()
        (root / entry / "x.parquet").write_bytes(b"data")
    return root, write_recipe(tmp_path / "other.yaml", seed=7)


def test_restart_refuses_a_folder_with_foreign_entries_and_deletes_nothing(tmp_path: Path) -> None:
    root, other = _built_with_other_recipe(tmp_path)
    (root / ".git").mkdir()
    (root / "thesis.tex").write_text("years of work")
    before = _contents(root)
    with pytest.raises(BuildError, match=r"\.git, thesis\.tex.*--force"):
        open_build(root, other, restart=True)
    assert _contents(root) == before


def test_restart_with_force_deletes_only_the_builds_own_entries(tmp_path: Path) -> None:
    root, other = _built_with_other_recipe(tmp_path)
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref")
    (root / "thesis.tex").write_text("years of work")
    build = open_build(root, other, restart=True, force=True)
    assert build.recipe.seed == 7
    assert (root / "thesis.tex").read_text() == "years of work"
    assert (root / ".git" / "HEAD").read_text() == "ref"
    assert not any((root / entry).exists() for entry in ("sources", "versions", "_done"))


def test_restart_never_follows_a_symlink_out_of_the_build(tmp_path: Path) -> None:
    root, other = _built_with_other_recipe(tmp_path)
    outside = tmp_path / "dataset"
    outside.mkdir()
    (outside / "image.png").write_bytes(b"png")
    (root / "export").symlink_to(outside, target_is_directory=True)
    open_build(root, other, restart=True)
    assert not (root / "export").exists()
    assert (outside / "image.png").read_bytes() == b"png"


def test_restart_while_a_stage_holds_the_lock_is_refused(tmp_path: Path) -> None:
    root, other = _built_with_other_recipe(tmp_path)
    with lock_held_elsewhere(root), pytest.raises(BuildError, match="in use by pid"):
        open_build(root, other, restart=True)
    assert (root / "sources" / "x.parquet").exists()
    assert json.loads((root / "build.json").read_text())["recipe"]["name"] == "quickstart"


def test_a_build_json_of_another_tool_is_refused(tmp_path: Path) -> None:
    (tmp_path / "build.json").write_text('{"name": "my-web-app"}')
    with pytest.raises(BuildError, match="not written by pandaset-build"):
        open_build(tmp_path, "quickstart", restart=True)
    assert (tmp_path / "build.json").read_text() == '{"name": "my-web-app"}'
