"""The distort stage: label statistics, region confinement, fast == reference, resume, workers."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import kill_after, make_folder_dataset, run_cli, start_cli, tree_bytes, write_recipe

from pandaset_build import distortions
from pandaset_build.config import vocab
from pandaset_build.config.recipe import default_recipe
from pandaset_build.engine.executors import LocalExecutor
from pandaset_build.render.frame import load_frame
from pandaset_build.render.plan import plan_image
from pandaset_build.render.renderer import render_fast, render_reference
from pandaset_build.stages.ingest import ingest
from pandaset_build.store.build import open_build
from pandaset_build.store.catalog import read_sources, source_index
from pandaset_build.store.records import RegionPlan


def distort_args(build: Path, workers: int = 1) -> list[str]:
    return ["distort", "--build", str(build), "--workers", str(workers)]


def ingested(
    tmp_path: Path, count: int, size: int, shard_size: int, **recipe_overrides: object
) -> Path:
    dataset = make_folder_dataset(tmp_path / "data", count=count, size=size)
    build = tmp_path / "b"
    recipe = write_recipe(tmp_path / "r.yaml", shard_size=shard_size, **recipe_overrides)
    run_cli("ingest", "--source", "folder", "--root", str(dataset), "--build", str(build),
            "--recipe", str(recipe))  # fmt: skip
    return build


@pytest.mark.slow
def test_label_statistics_follow_the_recipe(tmp_path: Path) -> None:
    build_dir = ingested(tmp_path, count=200, size=40, shard_size=25)
    run_cli(*distort_args(build_dir, workers=2))
    plans = [row for p in sorted((build_dir / "plans").glob("*.parquet"))
             for row in pq.read_table(p).to_pylist()]  # fmt: skip
    assert len({row["tag"] for row in plans}) == 200
    assert len(plans) > 200 * 16 * 2
    clean = sum(row["distortion"] == "clean" for row in plans) / len(plans)
    assert abs(clean - 0.2) < 0.02
    degraded = [row for row in plans if row["distortion"] != "clean"]
    severities = Counter(row["severity"] for row in degraded)
    for name in ("minor", "moderate", "severe"):
        assert abs(severities[name] / len(degraded) - 1 / 3) < 0.02
    mixed = [row for row in degraded if row["version"] in vocab.MIXED_VERSIONS]
    families = Counter(row["distortion"] for row in mixed)
    assert set(families) == set(vocab.FAMILIES)
    for family in vocab.FAMILIES:
        assert abs(families[family] / len(mixed) - 1 / 14) < 0.02
    single = [row for row in degraded if row["version"] not in vocab.MIXED_VERSIONS]
    assert all(row["distortion"] == row["version"] for row in single)
    levels = {(row["severity"], row["level"]) for row in single if row["distortion"] == "blur"}
    assert levels == {("minor", 1), ("moderate", 3), ("severe", 5)}


@pytest.fixture(scope="module")
def demo_frame(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("demo")
    build = open_build(root / "b", "quickstart")
    ingest(build, "demo", Path("."), LocalExecutor(1))
    index = dict(source_index(build))
    source = read_sources((("coffee.png", index["coffee.png"]),))[0]
    return build, source, load_frame(build.recipe, source, plan_image(build.recipe, source))


def all_regions(frame, key: str, level: int) -> list[RegionPlan]:
    family, subtype = key.split("/")
    params = json.dumps(default_recipe().distortion_params(key, level), sort_keys=True)
    return [
        RegionPlan("t", "mixed", i, family, subtype, "minor", level, params, 1000 + i, False)
        for i in range(0, len(frame.masks), 2)
    ]


@pytest.mark.parametrize("key", distortions.names())
def test_fast_path_equals_reference_and_stays_inside_regions(demo_frame, key: str) -> None:
    _, _, frame = demo_frame
    plans = all_regions(frame, key, 3)
    fast = render_fast(frame, plans)
    reference = render_reference(frame, plans)
    union = np.zeros(frame.shape, dtype=bool)
    for plan in plans:
        union |= frame.masks[plan.region_id]
    assert np.array_equal(fast[~union], frame.image[~union])
    assert np.array_equal(reference[~union], frame.image[~union])
    np.testing.assert_array_equal(fast, reference, key)


@pytest.mark.slow
def test_killed_distort_resumes_and_worker_count_does_not_matter(tmp_path: Path) -> None:
    """With a visibility minimum that many first draws miss, so the redraws and relabels of the
    audit run too: 2 workers, 1 worker killed and rerun, same bytes."""
    build = ingested(
        tmp_path, count=24, size=48, shard_size=1, visibility={"min_mean_change": 25.0}
    )
    whole = tmp_path / "whole"
    whole.mkdir()
    run_cli("ingest", "--source", "folder", "--root", str(tmp_path / "data"), "--build",
            str(whole), "--recipe", str(tmp_path / "r.yaml"))  # fmt: skip
    run_cli(*distort_args(whole, workers=2))
    process = start_cli(*distort_args(build))
    assert kill_after(process, build / "_done" / "distort", records=3)
    assert len(list((build / "_done" / "distort").glob("*.json"))) < 24
    run_cli(*distort_args(build))
    for folder in ("versions", "plans"):
        assert tree_bytes(build / folder) == tree_bytes(whole / folder)
    rows = [row for p in sorted((build / "plans").glob("*.parquet"))
            for row in pq.read_table(p).to_pylist()]  # fmt: skip
    outcomes = Counter(row["audit"] for row in rows)
    assert outcomes["visible"] and outcomes["redrawn"] and outcomes["relabelled"]
    assert all(row["mean_change"] >= 25.0 for row in rows if row["distortion"] != "clean")


@pytest.mark.slow
def test_a_source_spoiled_after_ingest_is_refused_then_counted_at_ingest(tmp_path: Path) -> None:
    build = ingested(tmp_path, count=4, size=40, shard_size=2)
    (tmp_path / "data" / "images" / "img0001.png").write_bytes(b"not a png")
    result = run_cli(*distort_args(build), check=False)
    assert result.returncode == 2 and "img0001.png: changed since `ingest-folder`" in result.stderr
    assert not (build / "versions").exists()
    retried = run_cli("ingest", "--source", "folder", "--root", str(tmp_path / "data"),
                      "--build", str(build), "--retry-failed", check=False)  # fmt: skip
    assert retried.returncode == 1 and "img0001.png" in retried.stderr
    run_cli(*distort_args(build))
    versions = list((build / "versions").rglob("*.png"))
    assert len(versions) == 3 * 16
