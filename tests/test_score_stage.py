"""The score stage: stored scores equal an independent pyiqa computation; errors are clear."""

from __future__ import annotations

import itertools
import math
import os
from pathlib import Path

import cv2
import numpy as np
import pyarrow.parquet as pq
import pyiqa
import pytest
import torch
from conftest import make_folder_dataset, run_cli, write_recipe
from PIL import Image
from pycocotools import mask as mask_utils

from pandaset_build import distortions
from pandaset_build.config.recipe import load_recipe
from pandaset_build.engine.executors import LocalExecutor
from pandaset_build.iqa.batching import PairScorer
from pandaset_build.iqa.metric import load_metric
from pandaset_build.stages.distort import distort
from pandaset_build.stages.ingest import ingest
from pandaset_build.stages.preview import preview
from pandaset_build.stages.score import score
from pandaset_build.store.build import open_build

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def small_build(tmp_path: Path, count: int, size: int) -> Path:
    dataset = make_folder_dataset(tmp_path / "data", count=count, size=size)
    build = open_build(tmp_path / "b", write_recipe(tmp_path / "r.yaml", shard_size=2))
    ingest(build, "folder", dataset, LocalExecutor(1))
    distort(build, LocalExecutor(1))
    return tmp_path / "b"


def rows(build: Path) -> list[dict]:
    return [
        r
        for p in sorted((build / "scores").glob("*.parquet"))
        for r in pq.read_table(p).to_pylist()
    ]


def sources(build: Path) -> dict[str, dict]:
    return {
        r["tag"]: r
        for p in (build / "sources").rglob("*.parquet")
        for r in pq.read_table(p).to_pylist()
    }


def independent_region_score(metric, build: Path, source: dict, row: dict) -> float:
    """Crop the box from the saved PNGs, reference pixels outside the mask, bucket, score."""
    region = source["regions"][row["region_id"]]
    version = np.asarray(
        Image.open(
            build / "versions" / row["version"] / source["split"] / f"{source['tag']}.png"
        ).convert("RGB")
    )
    reference = np.asarray(Image.open(source["image_path"]).convert("RGB"))
    rle = {"size": region["mask"]["size"], "counts": region["mask"]["counts"].encode()}
    mask = mask_utils.decode(rle).astype(bool)
    x, y, w, h = (int(v) for v in region["bbox"])
    ref = reference[y : y + h, x : x + w]
    dist = np.where(mask[y : y + h, x : x + w, None], version[y : y + h, x : x + w], ref)
    long_side = 128 if max(h, w) <= 128 else 224 if max(h, w) <= 224 else 384
    short = max(32, min(long_side, math.ceil(min(h, w) / max(h, w) * 4) * long_side / 4))
    shape = (long_side, round(short)) if h >= w else (round(short), long_side)
    tensors = []
    for image in (dist, ref):
        if image.shape[:2] != shape:
            mode = cv2.INTER_AREA if shape[0] * shape[1] < h * w else cv2.INTER_LINEAR
            image = cv2.resize(image, (shape[1], shape[0]), interpolation=mode)
        tensors.append(torch.from_numpy(image.copy()).permute(2, 0, 1)[None].float() / 255)
    with torch.no_grad():
        return float(metric(tensors[0], tensors[1]).reshape(-1)[0])


@pytest.mark.slow
def test_ssim_scores_match_pyiqa_and_clean_regions_score_as_identical_inputs(
    tmp_path: Path,
) -> None:
    build = small_build(tmp_path, count=3, size=64)
    score(open_build(build), LocalExecutor(1), metric="ssim")
    stored = rows(build)
    assert {r["metric"] for r in stored} == {"ssim"}
    metric = pyiqa.create_metric("ssim", device="cpu")
    by_tag = sources(build)
    plans = {
        (p["tag"], p["version"], p["region_id"]): p
        for f in (build / "plans").glob("*.parquet")
        for p in pq.read_table(f).to_pylist()
    }
    sampled = [r for r in stored if r["region_id"] is not None][::7]
    assert len(sampled) > 10
    for row in sampled:
        expected = independent_region_score(metric, build, by_tag[row["tag"]], row)
        assert abs(row["score"] - expected) < 1e-4
        if plans[(row["tag"], row["version"], row["region_id"])]["distortion"] == "clean":
            assert row["score"] == pytest.approx(1.0, abs=1e-6)
    images = [r for r in stored if r["region_id"] is None]
    assert len(images) == 3 * 16


@pytest.mark.slow
def test_topiq_random_weights_scores_match_pyiqa(tmp_path: Path) -> None:
    build = small_build(tmp_path, count=1, size=48)
    score(open_build(build), LocalExecutor(1), metric="topiq_fr", random_weights=True)
    torch.manual_seed(0)
    metric = pyiqa.create_metric(
        "topiq_fr", device="cpu", pretrained=False, backbone_pretrain=False
    )
    metric.eval()
    by_tag = sources(build)
    sampled = [r for r in rows(build) if r["region_id"] is not None][::9]
    for row in sampled:
        expected = independent_region_score(metric, build, by_tag[row["tag"]], row)
        assert abs(row["score"] - expected) < 1e-4


def test_more_severe_levels_score_lower(tmp_path: Path) -> None:

    image = np.asarray(
        Image.open(
            Path(__file__).parent.parent / "pandaset_build" / "demo" / "demo" / "coffee.png"
        ).convert("RGB")
    )[:128, :128]
    metric = load_metric("ssim")
    recipe = load_recipe("default")
    scores = [
        metric(
            [
                distortions.apply(
                    image, "blur/gaussian", level, np.random.default_rng(0), recipe=recipe
                )
            ],
            [image],
        )[0]
        for level in range(1, 6)
    ]
    assert all(a > b for a, b in itertools.pairwise(scores))


@pytest.mark.slow
def test_cuda_without_gpu_and_missing_weights_are_clear_errors(tmp_path: Path) -> None:
    build = small_build(tmp_path, count=1, size=40)
    result = run_cli(
        "score", "--build", str(build), "--device", "cuda", "--metric", "ssim", check=False
    )
    assert result.returncode == 2 and "no CUDA GPU" in result.stderr
    env_offline = run_cli("score", "--build", str(build), "--metric", "topiq_fr", check=False)
    assert env_offline.returncode == 2
    assert "--weights" in env_offline.stderr and "download" in env_offline.stderr
    missing = run_cli(
        "score", "--build", str(build), "--weights", str(tmp_path / "none.pth"), check=False
    )
    assert missing.returncode == 2 and "none.pth" in missing.stderr
    assert not (build / "scores").exists()


@pytest.mark.slow
def test_reuse_and_batching_equal_the_naive_per_crop_call() -> None:
    metric = load_metric("topiq_fr", random_weights=True)
    rng = np.random.default_rng(3)
    references = [rng.integers(0, 256, (64, 96, 3), dtype=np.uint8) for _ in range(3)]
    pairs = []
    for reference in references:
        for level in (1, 3, 5):
            distorted = distortions.apply(reference, "noise/gaussian_rgb", level, rng)
            pairs.append((distorted, reference))
        pairs.append((reference, reference))
    scorer = PairScorer(metric, batch_size=8)
    keys = [scorer.add(d, r) for d, r in pairs]
    batched = scorer.run()
    assert len(batched) == len(pairs)
    for key, (distorted, reference) in zip(keys, pairs, strict=True):
        assert abs(batched[key] - metric([distorted], [reference])[0]) < 1e-5


def test_preview_writes_both_contact_sheets(tmp_path: Path) -> None:
    build = small_build(tmp_path, count=2, size=48)
    paths = preview(open_build(build))
    sheets = [np.asarray(Image.open(p)) for p in paths]
    assert [p.name for p in paths] == ["img0000.png_subtypes.png", "img0000.png_versions.png"]
    assert sheets[0].shape[0] > sheets[1].shape[0] > 0
