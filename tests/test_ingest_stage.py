"""The ingest stage end to end: resume after SIGKILL, worker counts, failures, several sources."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import kill_after, make_folder_dataset, run_cli, start_cli, tree_bytes, write_recipe


def ingest_args(dataset: Path, build: Path, recipe: Path, workers: int = 1) -> list[str]:
    return [
        "ingest", "--source", "folder", "--root", str(dataset), "--build", str(build),
        "--recipe", str(recipe), "--workers", str(workers),
    ]  # fmt: skip


@pytest.mark.slow
def test_killed_ingest_resumes_to_the_bytes_of_an_uninterrupted_run(tmp_path: Path) -> None:
    dataset = make_folder_dataset(tmp_path / "data", count=160, size=96)
    recipe = write_recipe(tmp_path / "r.yaml", shard_size=2)
    whole = tmp_path / "whole"
    run_cli(*ingest_args(dataset, whole, recipe, workers=2))

    killed = tmp_path / "killed"
    process = start_cli(*ingest_args(dataset, killed, recipe))
    assert kill_after(process, killed / "_done" / "ingest-folder", records=10)
    partial = len(list((killed / "_done" / "ingest-folder").glob("*.json")))
    assert partial < 80
    run_cli(*ingest_args(dataset, killed, recipe))
    assert tree_bytes(killed / "sources") == tree_bytes(whole / "sources")
    assert (killed / "splits.json").read_bytes() == (whole / "splits.json").read_bytes()


@pytest.mark.slow
def test_one_and_two_workers_give_identical_bytes(tmp_path: Path) -> None:
    dataset = make_folder_dataset(tmp_path / "data", count=20)
    recipe = write_recipe(tmp_path / "r.yaml", shard_size=3)
    run_cli(*ingest_args(dataset, tmp_path / "one", recipe, workers=1))
    run_cli(*ingest_args(dataset, tmp_path / "two", recipe, workers=2))
    assert tree_bytes(tmp_path / "one" / "sources") == tree_bytes(tmp_path / "two" / "sources")


@pytest.mark.slow
def test_bad_image_is_counted_and_the_rest_ingested(tmp_path: Path) -> None:
    dataset = make_folder_dataset(tmp_path / "data", count=6)
    broken = dataset / "images" / "img0002.png"
    broken.write_bytes(broken.read_bytes()[:100])
    build = tmp_path / "b"
    result = run_cli(*ingest_args(dataset, build, write_recipe(tmp_path / "r.yaml")), check=False)
    assert result.returncode == 1
    assert "img0002.png" in result.stderr
    tags = [
        t
        for p in (build / "sources").rglob("*.parquet")
        for t in pq.read_table(p)["tag"].to_pylist()
    ]
    assert sorted(tags) == [f"img{i:04d}.png" for i in (0, 1, 3, 4, 5)]
    records = [
        json.loads(p.read_text()) for p in (build / "_done" / "ingest-folder").glob("*.json")
    ]
    failures = [f for r in records for f in r["failures"]]
    assert len(failures) == 1 and failures[0]["file"].endswith("img0002.png")


@pytest.mark.slow
def test_second_source_adds_to_the_build_and_duplicate_tags_are_refused(tmp_path: Path) -> None:
    build = tmp_path / "b"
    recipe = write_recipe(tmp_path / "r.yaml")
    run_cli("ingest", "--source", "demo", "--build", str(build), "--recipe", str(recipe))
    dataset = make_folder_dataset(tmp_path / "data", count=3)
    (dataset / "images" / "img0000.png").rename(dataset / "images" / "coffee.png")
    (dataset / "masks" / "img0000.png").rename(dataset / "masks" / "coffee.png")
    result = run_cli(*ingest_args(dataset, build, recipe), check=False)
    assert result.returncode == 1 and "duplicate tag" in result.stderr
    splits = json.loads((build / "splits.json").read_text())
    tags = sorted(t for tags in splits.values() for t in tags)
    assert "img0001.png" in tags and tags.count("coffee.png") == 1 and len(tags) == 4 + 2


def test_broken_recipe_stops_before_any_work(tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path / "r.yaml", shard_size=0)
    result = run_cli("ingest", "--source", "demo", "--build", str(tmp_path / "b"),
                     "--recipe", str(recipe), check=False)  # fmt: skip
    assert result.returncode == 2
    assert "r.yaml" in result.stderr and "shard_size" in result.stderr
    assert not (tmp_path / "b").exists()


def test_a_build_inside_the_dataset_folder_is_refused_and_creates_nothing(tmp_path: Path) -> None:
    dataset = make_folder_dataset(tmp_path / "data", count=2)
    before = tree_bytes(dataset)
    for build in (dataset, dataset / "build"):
        result = run_cli(
            "ingest", "--source", "folder", "--root", str(dataset), "--build", str(build),
            check=False,
        )  # fmt: skip
        assert result.returncode == 2
        assert "inside the dataset folder" in result.stderr
    assert tree_bytes(dataset) == before
    assert not (dataset / "build").exists()


def test_a_mistyped_root_creates_no_build(tmp_path: Path) -> None:
    result = run_cli(
        "ingest", "--source", "folder", "--root", str(tmp_path / "typo"),
        "--build", str(tmp_path / "b"), check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "typo: no such folder" in result.stderr
    assert not (tmp_path / "b").exists()
