"""Running a big build: `status`, `--retry-failed`, `--limit` / `--tags`, `run --dry-run`."""

from __future__ import annotations

import hashlib
import io
import json
import math
import statistics
import threading
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import kill_after, make_folder_dataset, run_cli, start_cli, tree_bytes, write_recipe
from PIL import Image
from rich.console import Console

from pandaset_build.config.recipe import load_recipe
from pandaset_build.engine.executors import LocalExecutor
from pandaset_build.engine.shards import ShardTask, make_shards
from pandaset_build.engine.stage import ItemBars
from pandaset_build.stages.distort import DistortOptions, distort_shard
from pandaset_build.store.build import open_build
from pandaset_build.store.catalog import source_index

VERSIONS = len(load_recipe("quickstart").versions)


def ingest_args(data: Path, build: Path, *extra: str) -> list[str]:
    return ["ingest", "--source", "folder", "--root", str(data), "--build", str(build), *extra]


def status_json(build: Path) -> dict:
    return json.loads(run_cli("status", "--build", str(build), "--json").stdout)


def records(build: Path, stage: str) -> list[dict]:
    folder = build / "_done" / stage
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def disk_bytes(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file())


def stage_of(found: dict, name: str) -> dict:
    return next(s for s in found["stages"] if s["stage"] == name)


def check_screen_matches(build: Path, found: dict) -> None:
    """The screen shows what --json says: per stage shards, images, failures."""
    screen = run_cli("status", "--build", str(build)).stdout
    for s in found["stages"]:
        row = next(line for line in screen.splitlines() if line.lstrip().startswith(s["stage"]))
        assert f"{s['shards_done']}/{s['shards_total']}" in row
        assert f"{s['images_done']}/{s['images_total']}" in row
        for group in s["failures"]:
            assert f"{s['stage']}: {group['count']} x {group['reason']}" in screen
    assert f"{found['images']} images ingested" in screen
    assert found["recipe_hash"][:12] in screen


@pytest.mark.slow
def test_status_of_a_build_killed_mid_distort(tmp_path: Path) -> None:
    data = make_folder_dataset(tmp_path / "data", count=12, size=48)
    build = tmp_path / "b"
    run_cli(*ingest_args(data, build, "--recipe", str(write_recipe(tmp_path / "r.yaml",
                                                                   shard_size=1))))  # fmt: skip
    process = start_cli("distort", "--build", str(build))
    assert kill_after(process, build / "_done" / "distort", records=3)
    found = status_json(build)
    distort = stage_of(found, "distort")
    done = records(build, "distort")
    assert distort["shards_done"] == len(done) and distort["shards_total"] == 12
    assert distort["images_done"] == sum(len(r["tags"]) for r in done)
    assert distort["items"]["versions"] == sum(r["counts"]["versions"] for r in done)
    median = statistics.median(r["seconds"] for r in done)
    assert distort["seconds_per_shard"] == pytest.approx(median)
    assert distort["seconds_left"] == pytest.approx(median * (12 - len(done)))
    assert distort["next"] == "distort"
    assert stage_of(found, "score")["shards_done"] == 0
    assert found["disk"]["versions"] == disk_bytes(build / "versions")
    assert found["disk"]["sources"] == disk_bytes(build / "sources")
    assert found["estimate"] is None  # work has begun
    check_screen_matches(build, found)


@pytest.mark.slow
def test_status_of_a_finished_build_and_its_stale_exports(tmp_path: Path) -> None:
    data = make_folder_dataset(tmp_path / "data", count=4, size=40)
    build = tmp_path / "b"
    b = ["--build", str(build)]
    run_cli(*ingest_args(data, build, "--recipe", str(write_recipe(tmp_path / "r.yaml"))))
    run_cli("distort", *b)
    run_cli("score", "--metric", "ssim", *b)
    run_cli("export", *b)
    found = status_json(build)
    regions = sum(len(r["regions"]) for r in pq.read_table(build / "sources").to_pylist())
    for stage in found["stages"]:
        assert stage["shards_done"] == stage["shards_total"] == 2
        assert stage["images_done"] == stage["images_total"] == 4
        assert stage["failures"] == [] and stage["next"] == ""
    assert stage_of(found, "ingest-folder")["items"]["regions"] == regions
    assert stage_of(found, "score")["items"]["regions scored"] == regions * VERSIONS
    scores = pq.read_table(build / "scores")
    assert scores.num_rows == (regions + 4) * VERSIONS
    (hf,) = found["outputs"]
    files = [p for p in (build / "export" / "hf").rglob("*") if p.is_file()]
    assert hf["name"] == "export/hf" and hf["current"] and hf["files"] == len(files)
    assert hf["bytes"] == disk_bytes(build / "export" / "hf") == found["disk"]["export/hf"]
    check_screen_matches(build, found)
    # a changed image, redone up to the scores: the export is now stale
    image = data / "images" / "img0000.png"
    pixels = np.asarray(Image.open(image)).copy()
    pixels[:8] = 0
    Image.fromarray(pixels).save(image)
    assert stage_of(status_json(build), "ingest-folder")["shards_changed"] == 1
    run_cli(*ingest_args(data, build, "--retry-failed"))
    run_cli("distort", "--retry-failed", *b)
    run_cli("score", "--metric", "ssim", "--retry-failed", *b)
    (hf,) = status_json(build)["outputs"]
    assert not hf["current"] and "changed since the export" in hf["why"]


def truncated_dataset(tmp_path: Path) -> tuple[Path, Path, bytes]:
    """A dataset whose img0003.png is cut short; returns it, the image and its good bytes."""
    data = make_folder_dataset(tmp_path / "data", count=8, size=40)
    image = data / "images" / "img0003.png"
    good = image.read_bytes()
    image.write_bytes(good[: len(good) // 2])
    return data, image, good


@pytest.mark.slow
def test_status_of_a_build_with_failed_items(tmp_path: Path) -> None:
    data, _, _ = truncated_dataset(tmp_path)
    (data / "masks" / "img0005.png").write_bytes(b"junk")
    build = tmp_path / "b"
    recipe = write_recipe(tmp_path / "r.yaml", shard_size=2)
    assert run_cli(*ingest_args(data, build, "--recipe", str(recipe)), check=False).returncode == 1
    found = status_json(build)
    ingest = stage_of(found, "ingest-folder")
    failures = [f for r in records(build, "ingest-folder") for f in r["failures"]]
    assert len(failures) == 2
    assert ingest["items"]["failed"] == 2 and ingest["items"]["images"] == 6
    assert ingest["shards_with_failures"] == 2 and ingest["shards_done"] == 4
    assert sorted(g["files"][0] for g in ingest["failures"]) == sorted(f["file"] for f in failures)
    assert sum(g["count"] for g in ingest["failures"]) == 2
    assert ingest["next"].endswith("--retry-failed")
    assert found["images"] == len(pq.read_table(build / "sources").column("tag"))
    assert found["estimate"] is not None  # nothing distorted yet: the estimate before any work
    assert found["estimate"]["images"] == 6
    check_screen_matches(build, found)


@pytest.mark.slow
def test_retry_failed_and_only_it_redoes_exactly_the_shard_of_a_replaced_image(
    tmp_path: Path,
) -> None:
    data, image, good = truncated_dataset(tmp_path)
    build = tmp_path / "b"
    recipe = write_recipe(tmp_path / "r.yaml", shard_size=2)
    first = run_cli(*ingest_args(data, build, "--recipe", str(recipe)), check=False)
    assert first.returncode == 1 and "img0003.png" in first.stderr
    done = build / "_done" / "ingest-folder"
    stamps = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in done.glob("*.json")}

    rerun = run_cli(*ingest_args(data, build), check=False)  # nothing changed: nothing redone
    assert rerun.returncode == 1
    assert "1 shards are done with failures (1 items, not redone by a plain rerun)" in rerun.stderr
    assert "rerun with --retry-failed" in rerun.stderr
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in done.glob("*.json")} == stamps

    image.write_bytes(good)
    refused = run_cli(*ingest_args(data, build), check=False)  # changed: refused, not redone
    assert (
        refused.returncode == 2 and "img0003.png: changed since `ingest-folder`" in refused.stderr
    )
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in done.glob("*.json")} == stamps

    retried = run_cli(*ingest_args(data, build, "--retry-failed"))
    assert "4 shards (3 already done, 1 redone)" in retried.stderr
    now = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in done.glob("*.json")}
    assert [n for n in now if now[n] != stamps[n]] == ["00001.json"]  # img0002, img0003
    clean = tmp_path / "clean"
    run_cli(*ingest_args(data, clean, "--recipe", str(recipe)))
    assert tree_bytes(build / "sources") == tree_bytes(clean / "sources")
    for target in (build, clean):
        run_cli("distort", "--build", str(target))
    for folder in ("versions", "plans"):
        assert tree_bytes(build / folder) == tree_bytes(clean / folder)


def subset(seed: int, tags: list[str], n: int) -> list[str]:
    """The first n tags by sha256("subset:<seed>:<tag>"), computed here on its own."""
    return sorted(tags, key=lambda t: hashlib.sha256(f"subset:{seed}:{t}".encode()).digest())[:n]


@pytest.mark.slow
def test_limit_gives_the_same_subset_on_reruns_and_after_adding_images(tmp_path: Path) -> None:
    data = make_folder_dataset(tmp_path / "data", count=20, size=40)
    recipe = write_recipe(tmp_path / "r.yaml", shard_size=2)
    names = sorted(p.name for p in (data / "images").iterdir())
    first = tmp_path / "first"
    run_cli(*ingest_args(data, first, "--recipe", str(recipe), "--limit", "5"))
    chosen = tags_of(first)
    assert chosen == sorted(subset(0, names, 5))
    before = tree_bytes(first)
    run_cli(*ingest_args(data, first, "--limit", "5"))
    assert tree_bytes(first) == before
    again = tmp_path / "again"
    run_cli(*ingest_args(data, again, "--recipe", str(recipe), "--limit", "5"))
    assert tags_of(again) == chosen
    assert tree_bytes(again / "sources") == tree_bytes(first / "sources")

    more = make_folder_dataset(tmp_path / "more", count=30, size=40, seed=9)
    for kind in ("images", "masks"):
        for path in sorted((more / kind).iterdir())[20:]:
            path.rename(data / kind / path.name)
    names = sorted(p.name for p in (data / "images").iterdir())
    later = tmp_path / "later"
    run_cli(*ingest_args(data, later, "--recipe", str(recipe), "--limit", "5"))
    now = tags_of(later)
    assert now == sorted(subset(0, names, 5))
    new = [t for t in now if t not in chosen]
    assert all(int(t[3:7]) >= 20 for t in new)  # only added images displace old ones
    assert sorted(set(chosen) & set(now)) == sorted(subset(0, chosen, 5 - len(new)))
    run_cli(*ingest_args(data, first, "--limit", "5"))  # an ingested part keeps its images
    assert tags_of(first) == sorted(set(chosen) | set(now))


@pytest.mark.slow
def test_tags_file_selects_those_tags_and_names_the_unknown(tmp_path: Path) -> None:
    data = make_folder_dataset(tmp_path / "data", count=6, size=40)
    listed = tmp_path / "tags.txt"
    listed.write_text("# my subset\nimg0004.png\nimg0001.png\n\nnot-there.png\n")
    build = tmp_path / "b"
    result = run_cli(*ingest_args(data, build, "--tags", str(listed)), check=False)
    assert result.returncode == 1
    assert "not-there.png: listed in --tags but not in the source" in result.stderr
    assert tags_of(build) == ["img0001.png", "img0004.png"]


def tags_of(build: Path) -> list[str]:
    return sorted(pq.read_table(build / "sources", columns=["tag"]).column("tag").to_pylist())


@pytest.mark.slow
def test_dry_run_counts_what_each_stage_writes_and_writes_nothing(tmp_path: Path) -> None:
    data = make_folder_dataset(tmp_path / "data", count=6, size=40)
    recipe = write_recipe(tmp_path / "r.yaml", shard_size=4, scoring={"metric": "ssim"})
    build = tmp_path / "b"
    args = ["run", "--dry-run", "--source", "folder", "--root", str(data), "--build", str(build),
            "--recipe", str(recipe), "--limit", "5"]  # fmt: skip
    v = VERSIONS
    before = " ".join(run_cli(*args).stdout.split())
    assert not build.exists()
    assert "5 images (0 ingested), about " in before  # a folder lists no regions
    assert f"{5 * v} versions" in before and f"{5 * v * (v - 1)} pairs" in before
    run_cli(*ingest_args(data, build, "--recipe", str(recipe), "--limit", "5"))
    before = tree_bytes(build)
    found = json.loads(run_cli(*args, "--json").stdout)
    assert tree_bytes(build) == before
    ids = [np.asarray(Image.open(data / "masks" / tag)) for tag in tags_of(build)]
    regions = sum(len(np.unique(m)) - 1 for m in ids)
    assert (found["images"], found["images_ingested"], found["regions"]) == (5, 5, regions)
    assert not found["regions_estimated"]
    assert found["versions"] == 5 * v and found["region_crops"] == regions * v
    assert found["pairs"] == 5 * v * (v - 1)
    assert found["region_comparisons"] == regions * v * (v - 1)
    stages = {s["stage"]: s for s in found["stages"]}
    assert stages["ingest"]["images"] == 0 and stages["ingest"]["seconds"] == 0
    assert stages["distort"]["files"] == 5 * v + math.ceil(5 / 4)
    assert stages["score"]["files"] == math.ceil(5 / 4)
    assert all(s["seconds"] > 0 for name, s in stages.items() if name != "ingest")
    assert found["seconds"] == pytest.approx(sum(s["seconds"] for s in found["stages"]))


@pytest.mark.slow
def test_item_counts_reach_the_driver_from_pool_workers_and_fill_the_bars(tmp_path: Path) -> None:
    data = make_folder_dataset(tmp_path / "data", count=6, size=40)
    build_path = tmp_path / "b"
    run_cli(*ingest_args(data, build_path, "--recipe", str(write_recipe(tmp_path / "r.yaml"))))
    build = open_build(build_path)
    index = source_index(build)
    shards = make_shards("distort", [t for t, _ in index], index, build.recipe.shard_size)
    tasks = [ShardTask(distort_shard, build, s, DistortOptions()) for s in shards]
    seen: dict[tuple[str, str], int] = defaultdict(int)
    guard = threading.Lock()

    def sink(shard: str, key: str, n: int) -> None:
        with guard:
            seen[shard, key] += n

    done = list(LocalExecutor(2).run(tasks, progress=sink))
    assert len(done) == 3
    for record in done:
        for key, n in record.counts.items():
            assert seen[f"distort/{record.shard}", key] == n
    bars = ItemBars("distort", tasks, {"versions": 6 * VERSIONS}, Console(file=io.StringIO()))
    with bars:
        bars.tick("distort/00000", "images", 1)  # counted as it happens
        for record in done:
            bars.finish(record)  # the rest from the records, nothing twice
        bars.tick("distort/00000", "images", 1)  # late: ignored
    completed = {t.description: (t.completed, t.total) for t in bars.progress.tasks}
    assert completed == {"images": (6, 6), "versions": (6 * VERSIONS, 6 * VERSIONS)}
