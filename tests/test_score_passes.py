"""Forward-pass economy: each region's reference goes through the backbone once, each image's
reference frame once, identical crops once; the scores equal one metric call per pair."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import make_folder_dataset, write_recipe

from pandaset_build.engine.executors import LocalExecutor
from pandaset_build.iqa.batching import PairScorer, image_key
from pandaset_build.iqa.metric import load_metric
from pandaset_build.stages.distort import distort
from pandaset_build.stages.ingest import ingest
from pandaset_build.stages.score import add_image, prepare_image
from pandaset_build.store.build import Build, open_build
from pandaset_build.store.catalog import read_sources, source_index

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def check_passes(build: Build, tags: list[str], batch_size: int) -> None:
    torch.set_num_threads(1)
    metric = load_metric("topiq_fr", random_weights=True)
    index = dict(source_index(build))
    sources = read_sources(tuple((tag, index[tag]) for tag in tags))
    prepared = [prepare_image(build, source) for source in sources]
    limit = 0
    for image in prepared:
        # per region, alone: at most its distinct distorted crops (other than the reference) + 1;
        # every fifth score checked against one metric call per pair
        by_region: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
        for _, region_id, distorted, ref in image.crops:
            by_region.setdefault(region_id, []).append((distorted, ref))
        for pairs in by_region.values():
            ref_key = image_key(pairs[0][1])
            distinct = {image_key(d) for d, _ in pairs} - {ref_key}
            scorer = PairScorer(metric, batch_size)
            keys = [scorer.add(distorted, ref) for distorted, ref in pairs]
            before = metric.passes
            scored = scorer.run()
            assert metric.passes - before <= len(distinct) + 1
            for (distorted, ref), key in list(zip(pairs, keys, strict=True))[::5]:
                assert scored[key] == pytest.approx(metric([distorted], [ref])[0], abs=1e-5)
            limit += len(distinct) + 1
        frames = {image_key(f) for f in image.frames.values()} - {image_key(image.reference)}
        limit += len(frames) + 1
    # the stage's way: region-major batches across the images, frames batched per image shape
    regions, frames_scorer = PairScorer(metric, batch_size), PairScorer(metric, 4)
    before = metric.passes
    for image in prepared:
        add_image(image, regions, frames_scorer)
        regions.run(full_only=True)
        frames_scorer.run(full_only=True)
    regions.run()
    frames_scorer.run()
    passes = metric.passes - before
    print(f"backbone passes {passes} (limit {limit})")
    assert passes <= limit
    assert metric.memo is not None and not metric.memo.cache  # every reference forgotten


@pytest.mark.slow
def test_passes_per_region_within_distinct_crops_plus_one_reference(tmp_path: Path) -> None:
    dataset = make_folder_dataset(tmp_path / "data", count=2, size=48)
    build = open_build(tmp_path / "b", write_recipe(tmp_path / "r.yaml", shard_size=2))
    ingest(build, "folder", dataset, LocalExecutor(1))
    distort(build, LocalExecutor(1))
    check_passes(build, [tag for tag, _ in source_index(build)], batch_size=5)


@pytest.mark.slow
def test_passes_on_the_quickstart_demo_image(tmp_path: Path) -> None:
    build = open_build(tmp_path / "b", "quickstart")
    ingest(build, "demo", Path("."), LocalExecutor(1))
    distort(build, LocalExecutor(1))
    check_passes(build, ["coffee.png"], batch_size=16)
