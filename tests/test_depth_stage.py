"""The depth stage: the model tier's maps computed once per image into the build, resumable,
the same bytes for any worker count, read by distort (which refuses to run before it)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import make_folder_dataset, run_cli, tree_bytes, write_recipe
from depth_models import random_estimator

from pandaset_build.distortions import estimate_depth, load_depth_model
from pandaset_build.store.images import read_rgb


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4-layer Depth Anything with random weights, saved as a local model folder."""
    folder = tmp_path_factory.mktemp("model")
    estimator = random_estimator(tiny=True)
    estimator.model.save_pretrained(folder)
    estimator.processor.save_pretrained(folder)
    return folder


def ingested(tmp_path: Path, name: str, **recipe: object) -> tuple[Path, Path]:
    data = tmp_path / "data"
    if not data.exists():
        make_folder_dataset(data, count=3, size=64)
    path = write_recipe(tmp_path / f"{name}.yaml", shard_size=1, versions=["haze", "mixed"],
                        **recipe)  # fmt: skip
    build = tmp_path / name
    run_cli("ingest", "--source", "folder", "--root", str(data), "--build", str(build),
            "--recipe", str(path))  # fmt: skip
    return build, data


def plan_rows(build: Path) -> list[dict]:
    return [
        row
        for path in sorted((build / "plans").glob("*.parquet"))
        for row in pq.read_table(path).to_pylist()
    ]


@pytest.mark.slow
def test_model_maps_once_per_image_resumable_and_read_by_distort(
    tmp_path: Path, tiny_model: Path
) -> None:
    model = {"weather": {"haze": {"depth_source": "model", "depth_model": str(tiny_model)}}}
    build, data = ingested(tmp_path, "one", **model)
    refused = run_cli("distort", "--build", str(build), check=False)
    assert refused.returncode != 0 and "run `depth` first" in refused.stdout + refused.stderr

    run_cli("depth", "--build", str(build))
    maps = sorted((build / "depth").glob("*.npy"))
    assert [p.name for p in maps] == [f"img{i:04d}.png.npy" for i in range(3)]
    estimator = load_depth_model(str(tiny_model))
    for path in maps:
        image = read_rgb(data / "images" / path.name.removesuffix(".npy"))
        expected = estimate_depth(image, estimator).astype(np.float32)
        np.testing.assert_allclose(np.load(path), expected, atol=1e-6)
    status = json.loads(run_cli("status", "--build", str(build), "--json").stdout)
    depth = next(s for s in status["stages"] if s["stage"] == "depth")
    assert (depth["shards_done"], depth["images_done"]) == (3, 3)
    stamps = {p.name: p.stat().st_mtime_ns for p in maps}
    run_cli("depth", "--build", str(build))  # done: nothing is computed again
    assert {p.name: p.stat().st_mtime_ns for p in maps} == stamps

    other, _ = ingested(tmp_path, "two", **model)
    run_cli("depth", "--build", str(other), "--workers", "2")
    assert tree_bytes(other / "depth") == tree_bytes(build / "depth")

    run_cli("distort", "--build", str(build))
    haze = [r for r in plan_rows(build) if r["distortion"] == "haze"]
    assert haze and {r["depth_tier"] for r in haze} == {"model"}

    np.save(maps[0], np.zeros((64, 64), np.float32))  # a changed map is drift for distort
    changed = run_cli("distort", "--build", str(build), check=False)
    assert changed.returncode != 0 and "depth" in changed.stdout + changed.stderr


@pytest.mark.slow
def test_other_tiers_write_no_maps(tmp_path: Path) -> None:
    build, _ = ingested(tmp_path, "layout")
    run_cli("depth", "--build", str(build))
    assert not list((build / "depth").glob("*.npy"))
    run_cli("distort", "--build", str(build))
    haze = [r for r in plan_rows(build) if r["distortion"] == "haze"]
    assert haze and {r["depth_tier"] for r in haze} == {"layout"}
