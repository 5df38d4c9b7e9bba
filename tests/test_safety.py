"""Never lose a user's data: one lock for every command that writes, workers that die with
their driver, ingest that adds, inputs that cannot drift, no dead ends."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import numpy as np
import psutil
import pyarrow.parquet as pq
import pytest
from conftest import (
    lock_held_elsewhere,
    make_folder_dataset,
    patience,
    run_cli,
    start_cli,
    tree_bytes,
    write_recipe,
)
from PIL import Image

from pandaset_build.engine.executors import LocalExecutor
from pandaset_build.engine.shards import make_shards
from pandaset_build.stages import score as score_stage
from pandaset_build.store.build import open_build
from pandaset_build.store.catalog import source_index

WRITERS = (
    ["ingest", "--source", "demo"],
    ["distort"],
    ["score", "--metric", "topiq_fr"],  # refused before its weights are looked for
    ["export"],
    ["split-bench"],
    ["report"],
    ["preview"],
    ["gallery"],
    ["publish", "--repo", "me/data", "--dry-run"],
    ["train-panda", "--random-backbone"],
    ["ingest", "--source", "demo", "--restart", "--recipe", "default"],
)


def built(tmp_path: Path, count: int = 4, size: int = 40, shard_size: int = 2) -> Path:
    """A folder dataset ingested into tmp_path/b."""
    data = make_folder_dataset(tmp_path / "data", count=count, size=size)
    recipe = write_recipe(tmp_path / "r.yaml", shard_size=shard_size)
    build = tmp_path / "b"
    run_cli("ingest", "--source", "folder", "--root", str(data), "--build", str(build),
            "--recipe", str(recipe))  # fmt: skip
    return build


@pytest.mark.slow
def test_every_writing_command_is_refused_while_another_holds_the_lock(tmp_path: Path) -> None:
    build = built(tmp_path)
    before = tree_bytes(build)
    with lock_held_elsewhere(build) as holder:
        for command in WRITERS:
            result = run_cli(*command, "--build", str(build), check=False)
            assert result.returncode == 2, (command, result.stderr)
            assert f"in use by pid {holder.pid}" in result.stderr, (command, result.stderr)
    assert tree_bytes(build) == before


@pytest.mark.slow
def test_restart_while_a_stage_runs_deletes_nothing(tmp_path: Path) -> None:
    build = built(tmp_path)
    other = write_recipe(tmp_path / "other.yaml", seed=5)
    before = tree_bytes(build)
    with lock_held_elsewhere(build):
        result = run_cli("ingest", "--source", "demo", "--build", str(build), "--recipe",
                         str(other), "--restart", check=False)  # fmt: skip
    assert result.returncode == 2 and "in use by pid" in result.stderr
    assert tree_bytes(build) == before


def write_coco(root: Path, split: str, names: list[str], seed: int) -> None:
    """A COCO panoptic split: `<root>/<split>/*.jpg`, its PNG masks and annotation JSON."""
    rng = np.random.default_rng(seed)
    images, annotations = [], []
    for number, name in enumerate(names, 1):
        (root / split).mkdir(parents=True, exist_ok=True)
        masks = root / "annotations" / f"panoptic_{split}"
        masks.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / split / f"{name}.jpg")
        ids = np.zeros((40, 48, 3), np.uint8)
        ids[:20, :, 0] = 1
        ids[20:, :30, 0] = 2
        Image.fromarray(ids).save(masks / f"{name}.png")
        images.append({"id": number, "file_name": f"{name}.jpg", "width": 48, "height": 40})
        segments = [{"id": 1, "category_id": 1}, {"id": 2, "category_id": 2}]
        annotations.append(
            {"image_id": number, "file_name": f"{name}.png", "segments_info": segments}
        )
    categories = [{"id": 1, "name": "thing", "isthing": 1}, {"id": 2, "name": "sky", "isthing": 0}]
    document = {"images": images, "annotations": annotations, "categories": categories}
    (root / "annotations" / f"panoptic_{split}.json").write_text(json.dumps(document))


def tags_of(build: Path) -> list[str]:
    return sorted(pq.read_table(build / "sources", columns=["tag"]).column("tag").to_pylist())


@pytest.mark.slow
def test_two_ingests_of_one_source_with_other_splits_keep_both(tmp_path: Path) -> None:
    root = tmp_path / "coco"
    write_coco(root, "train2017", ["t1", "t2", "t3"], seed=1)
    write_coco(root, "val2017", ["v1", "v2"], seed=2)
    build = tmp_path / "b"
    for split in ("train2017", "val2017"):
        run_cli("ingest", "--source", "coco-panoptic", "--root", str(root), "--split", split,
                "--build", str(build), "--recipe", "quickstart")  # fmt: skip
    want = ["t1.jpg", "t2.jpg", "t3.jpg", "v1.jpg", "v2.jpg"]
    assert tags_of(build) == want
    splits = json.loads((build / "splits.json").read_text())
    assert sorted(t for tags in splits.values() for t in tags) == want
    parts = {p.parent.name: json.loads(p.read_text()) for p in build.glob("sources/*/_part.json")}
    assert sorted(part["identity"]["options"]["split"] for part in parts.values()) == [
        "train2017",
        "val2017",
    ]
    # the same split again resumes its own part; a clash with another part is named
    before = tree_bytes(build / "sources")
    run_cli("ingest", "--source", "coco-panoptic", "--root", str(root), "--split", "train2017",
            "--build", str(build))  # fmt: skip
    assert tree_bytes(build / "sources") == before
    clash = run_cli("ingest", "--source", "coco-panoptic", "--root", str(root), "--split",
                    "train2017", "--images", str(root / "val2017"), "--build", str(build),
                    check=False)  # fmt: skip
    assert clash.returncode == 1
    assert "already ingested it for" in clash.stderr
    assert "into sources/coco-panoptic;" in clash.stderr


@pytest.mark.slow
def test_failed_usage_checks_create_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    build = tmp_path / "b"
    for args in (
        ["ingest", "--source", "folder", "--root", str(empty)],  # no images/ in it
        ["ingest", "--source", "demo", "--tags", str(tmp_path / "missing.txt")],
        ["distort"],
        ["score"],
        ["export"],
    ):
        result = run_cli(*args, "--build", str(build), check=False)
        assert result.returncode == 2, (args, result.stderr)
        assert not build.exists(), args
    missing = run_cli("ingest", "--source", "folder", "--root", str(empty), "--build", str(build),
                      check=False)  # fmt: skip
    assert "empty/images: image folder not found" in missing.stderr
    refused = run_cli("distort", "--build", str(build), check=False)
    assert "no build here (no build.json): run `ingest` first" in refused.stderr


@pytest.mark.slow
def test_a_stage_before_its_inputs_records_nothing_and_names_the_command(tmp_path: Path) -> None:
    build = built(tmp_path)
    result = run_cli("score", "--metric", "ssim", "--build", str(build), check=False)
    assert result.returncode == 2
    assert "`distort` has not finished (2 of 2 shards, 4 images, not done)" in result.stderr
    assert "run `distort` first (it resumes), then `score`" in result.stderr
    assert not (build / "_done" / "score").exists() and not (build / "scores").exists()
    run_cli("distort", "--build", str(build))
    run_cli("score", "--metric", "ssim", "--build", str(build))


def repaint(path: Path) -> None:
    """Change one pixel of an image file (same size, other content)."""
    pixels = np.asarray(Image.open(path)).copy()
    pixels[0, 0] = 255 - pixels[0, 0]
    Image.fromarray(pixels).save(path)


@pytest.mark.slow
def test_a_changed_source_image_is_refused_naming_it_and_the_reruns(tmp_path: Path) -> None:
    build = built(tmp_path)
    b = ["--build", str(build)]
    run_cli("distort", *b)
    image = tmp_path / "data" / "images" / "img0001.png"
    repaint(image)
    scores_before = (build / "scores").exists()
    result = run_cli("score", "--metric", "ssim", *b, check=False)
    assert result.returncode == 2
    assert f"{image}: changed since `ingest-folder` read or wrote them" in result.stderr
    assert (
        f"rerun `ingest --source folder --root {tmp_path / 'data'} --retry-failed` to redo "
        "those shards, then `distort --retry-failed`, then `score --retry-failed`"
    ) in result.stderr
    assert (build / "scores").exists() == scores_before
    # touching a file without changing it is no change
    other = tmp_path / "data" / "images" / "img0002.png"
    other.write_bytes(other.read_bytes())
    run_cli("ingest", "--source", "folder", "--root", str(tmp_path / "data"), *b,
            "--retry-failed")  # fmt: skip
    refused = run_cli("distort", *b, check=False)
    assert refused.returncode == 2 and "changed since `distort`" in refused.stderr
    run_cli("distort", "--retry-failed", *b)
    run_cli("score", "--metric", "ssim", *b)


@pytest.mark.slow
def test_mixed_metrics_are_refused_by_score_and_by_the_readers(tmp_path: Path) -> None:
    build = built(tmp_path)
    b = ["--build", str(build)]
    run_cli("distort", *b)
    run_cli("score", "--metric", "ssim", *b)
    refused = run_cli("score", "--metric", "psnr", *b, check=False)
    assert refused.returncode == 2
    made = "were made with other settings than this run's (psnr|None|False|fp32|cpu)"
    assert made in refused.stderr
    assert "rerun with --retry-failed" in refused.stderr
    # a build scored partly with one metric, partly with another (an older tool could do it)
    opened = open_build(build)
    index = source_index(opened)
    shards = make_shards("score", [t for t, _ in index], index, opened.recipe.shard_size)
    options = score_stage.ScoreOptions(metric="psnr")
    score_stage.STAGE.run(opened, shards[:1], options, LocalExecutor(1),
                          fingerprint=options.fingerprint, retry_failed=True)  # fmt: skip
    for command in (["export"], ["split-bench"], ["report"]):
        result = run_cli(*command, *b, check=False)
        assert result.returncode == 2, command
        assert "scored with more than one metric setting" in result.stderr
        assert "ssim|None|False|fp32|cpu: scores/00001.parquet" in result.stderr
        assert "psnr|None|False|fp32|cpu: scores/00000.parquet" in result.stderr
        assert "rerun `score --metric NAME --retry-failed`" in result.stderr
    assert not (build / "export").exists()
    run_cli("score", "--metric", "ssim", "--retry-failed", *b)
    run_cli("export", *b)


def workers_of(driver: psutil.Process) -> list[psutil.Process]:
    return [
        c for c in driver.children(recursive=True) if "multiprocessing" in " ".join(c.cmdline())
    ]


@pytest.mark.slow
def test_killing_the_driver_leaves_no_worker_running(tmp_path: Path) -> None:
    build = built(tmp_path, count=24, size=48, shard_size=1)
    process = start_cli("distort", "--workers", "2", "--build", str(build))
    driver = psutil.Process(process.pid)
    deadline = time.monotonic() + patience(120)
    workers: list[psutil.Process] = []
    while len(workers) < 2 and time.monotonic() < deadline and process.poll() is None:
        workers = workers_of(driver)
        time.sleep(0.05)
    assert len(workers) >= 2, "the pool did not start"
    process.send_signal(signal.SIGKILL)
    process.wait()
    _, alive = psutil.wait_procs(workers, timeout=patience(60))
    assert not alive, [w.pid for w in alive]
    assert len(list((build / "_done" / "distort").glob("*.json"))) < 24
    run_cli("distort", "--workers", "2", "--build", str(build))
