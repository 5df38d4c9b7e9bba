"""Misuse gets an answer: options a source does not take, empty bench splits, vocabularies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import make_folder_dataset, run_cli, write_recipe
from scored_build import make_scored_build
from test_sources_psg import PREDICATES
from test_sources_psg import build as build_psg

from pandaset_build.engine.executors import LocalExecutor
from pandaset_build.errors import UsageError
from pandaset_build.stages.bench import split_bench
from pandaset_build.stages.ingest import check_reader_options, ingest
from pandaset_build.store.build import open_build
from pandaset_build.store.predicates import predicate_vocabulary


@pytest.mark.parametrize(
    ("source", "options", "named", "takes"),
    [
        ("psg", {"masks": "m"}, "--masks", "--root, --annotations, --depth"),
        ("folder", {"split": "val"}, "--split", "--images, --masks, --mask-encoding"),
        ("seagull", {"images": "i", "masks": "m"}, "--images, --masks", "--annotations"),
        ("demo", {"annotations": "a"}, "--annotations", "only --depth"),
    ],
)
def test_an_option_the_source_does_not_take_names_the_ones_it_does(
    source: str, options: dict, named: str, takes: str
) -> None:
    with pytest.raises(UsageError) as info:
        check_reader_options(source, options)
    message = str(info.value)
    assert message.startswith(named) and f"--source {source} does not take" in message
    assert takes in message and f"drop {named}" in message


def test_the_cli_refuses_before_creating_a_build(tmp_path: Path) -> None:
    dataset = make_folder_dataset(tmp_path / "data", count=1)
    build = tmp_path / "b"
    result = run_cli(
        "ingest", "--source", "folder", "--root", str(dataset), "--split", "val",
        "--build", str(build), check=False,
    )  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--split" in result.stderr and "--source folder does not take" in result.stderr
    assert not build.exists()


@pytest.mark.slow
def test_run_dry_run_reads_the_source_with_its_options(tmp_path: Path) -> None:
    dataset = make_folder_dataset(tmp_path / "data", count=2)
    args = ["run", "--dry-run", "--json", "--recipe", "quickstart", "--source", "folder", "--root"]
    args.append(str(dataset))
    refused = run_cli(*args, "--split", "val", "--build", str(tmp_path / "b"), check=False)
    assert refused.returncode == 2 and "--source folder does not take" in refused.stderr
    (dataset / "masks").rename(dataset / "ids")
    found = run_cli(*args, "--masks", str(dataset / "ids"), "--build", str(tmp_path / "b"))
    assert json.loads(found.stdout)["images"] == 2


def test_demo_with_a_root_is_refused(tmp_path: Path) -> None:
    result = run_cli(
        "ingest", "--source", "demo", "--root", str(tmp_path), "--build", str(tmp_path / "b"),
        check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert f"--root {tmp_path}" in result.stderr and "drop --root" in result.stderr


def test_duplicate_tags_name_both_files_and_both_sources(tmp_path: Path) -> None:
    build = open_build(tmp_path / "b", write_recipe(tmp_path / "r.yaml"))
    assert ingest(build, "demo", Path("."), LocalExecutor(1)).ok
    dataset = make_folder_dataset(tmp_path / "data", count=2)
    (dataset / "images" / "img0000.png").rename(dataset / "images" / "coffee.png")
    (dataset / "masks" / "img0000.png").rename(dataset / "masks" / "coffee.png")
    report = ingest(build, "folder", dataset, LocalExecutor(1))
    (failure,) = report.extra_failures
    demo_coffee = Path(__file__).parents[1] / "pandaset_build" / "demo" / "demo" / "coffee.png"
    assert failure.file == str((dataset / "images" / "coffee.png").resolve())
    assert "duplicate tag coffee.png" in failure.reason and str(demo_coffee) in failure.reason
    assert "source folder" in failure.reason and "source demo" in failure.reason
    assert "another --build" in failure.reason


def test_predicate_classes_are_the_sources_own(tmp_path: Path) -> None:
    root = tmp_path / "psg_data"
    build_psg(root)
    doc = json.loads((root / "psg" / "psg.json").read_text())
    vocabulary = [*PREDICATES, "beside", "under"]
    doc["predicate_classes"] = vocabulary
    for record in doc["data"]:
        record["relations"] = [[0, 1, 2]] if record["relations"] else []  # only "holding"
    (root / "psg" / "psg.json").write_text(json.dumps(doc))
    build = open_build(tmp_path / "b", write_recipe(tmp_path / "r.yaml"))
    ingest(build, "psg", root, LocalExecutor(1))
    assert predicate_vocabulary(build) == vocabulary  # not unused_0, unused_1, holding


def test_an_empty_test_split_stops_split_bench_and_writes_nothing(tmp_path: Path) -> None:
    build = make_scored_build(tmp_path, {"train": ["a.png", "b.png"]})
    with pytest.raises(UsageError) as info:
        split_bench(build)
    message = str(info.value)
    assert str(build.root) in message and "test split is empty" in message
    assert "train 2" in message and "splits" in message and "--restart" in message
    assert not build.layout.bench.exists()
    assert info.value.exit_code == 2


def test_bench_kinds_without_pairs_are_not_written(tmp_path: Path) -> None:
    build = make_scored_build(tmp_path, {"test": ["a.png"]}, versions=["blur", "noise"])
    summary = split_bench(build)
    assert list(summary.pairs) == ["easy"]
    assert sorted(p.name for p in build.layout.bench.iterdir()) == ["easy"]
    (tmp_path / "one").mkdir()
    single = make_scored_build(tmp_path / "one", {"test": ["a.png"]}, versions=["blur"])
    with pytest.raises(UsageError, match=r"versions \(blur\) make no bench pair"):
        split_bench(single)
