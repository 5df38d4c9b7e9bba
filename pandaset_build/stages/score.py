"""The score stage: region and image quality of every version against the clean reference."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import Any

import numpy as np
import torch

from pandaset_build.engine.stage import (
    Executor,
    Failure,
    Shard,
    ShardOutcome,
    StageReport,
    make_shards,
    run_stage,
)
from pandaset_build.iqa.metric import Metric, bucket_shape, load_metric, region_crops, resize_to
from pandaset_build.store.build import Build
from pandaset_build.store.images import read_rgb
from pandaset_build.store.records import BadInput, decode_mask
from pandaset_build.store.tables import (
    SCORES,
    read_sources,
    source_index,
    version_path,
    write_table,
)

STAGE = "score"


_METRICS: dict[tuple[Any, ...], Metric] = {}


def shard_device(device: str, shard_index: int) -> str:
    """`cuda` spreads shards over every visible GPU (one per local worker); others stay as given."""
    if device == "cuda" and torch.cuda.device_count() > 1:
        return f"cuda:{shard_index % torch.cuda.device_count()}"
    return device


def cached_metric(options: dict[str, Any], device: str) -> Metric:
    """The metric of this worker process on a device, loaded once and reused for every shard."""
    key = (options["metric"], device, options["weights"], options["random_weights"])
    if key not in _METRICS:
        _METRICS[key] = load_metric(*key)
    return _METRICS[key]


def _digest(a: np.ndarray, b: np.ndarray) -> bytes:
    return hashlib.sha256(a.tobytes() + b"|" + b.tobytes() + repr(a.shape).encode()).digest()


class PairScorer:
    """Scores (distorted, reference) pairs in per-shape batches; identical pairs scored once."""

    def __init__(self, metric: Metric, batch_size: int) -> None:
        self.metric = metric
        self.batch_size = batch_size
        self.pending: dict[tuple[int, int], dict[bytes, tuple[np.ndarray, np.ndarray]]] = (
            defaultdict(dict)
        )
        self.scores: dict[bytes, float] = {}

    def add(self, distorted: np.ndarray, reference: np.ndarray) -> bytes:
        key = _digest(distorted, reference)
        if key not in self.scores:
            self.pending[distorted.shape[:2]].setdefault(key, (distorted, reference))
        return key

    def run(self) -> dict[bytes, float]:
        for pairs in self.pending.values():
            keys = list(pairs)
            for start in range(0, len(keys), self.batch_size):
                batch = keys[start : start + self.batch_size]
                values = self.metric([pairs[k][0] for k in batch], [pairs[k][1] for k in batch])
                self.scores.update(zip(batch, values.tolist(), strict=True))
        self.pending.clear()
        return self.scores


def score_image(
    build: Build, source: dict[str, Any], metric: Metric, batch_size: int
) -> list[dict[str, Any]]:
    """Rows of one image: per version its regions (bucketed crops) and the full frame."""
    scoring = build.recipe.scoring
    reference = read_rgb(source["image_path"])
    masks = [decode_mask(region["mask"]) for region in source["regions"]]
    regions = PairScorer(metric, batch_size)
    frames = PairScorer(metric, 1)
    keys: list[tuple[str, int | None, bytes, PairScorer]] = []
    images = {}
    for version in build.recipe.versions:
        path = version_path(build, version, source["split"], source["tag"])
        if not path.exists():
            raise BadInput(path, "version missing: run `distort` first")
        images[version] = read_rgb(path)
        keys.append((version, None, frames.add(images[version], reference), frames))
    for index, region in enumerate(source["regions"]):
        for version, image in images.items():
            distorted, ref = region_crops(image, reference, masks[index], region["bbox"])
            shape = bucket_shape(*ref.shape[:2], scoring.bucket_long_sides, scoring.min_short_side)
            key = regions.add(resize_to(distorted, shape), resize_to(ref, shape))
            keys.append((version, region["region_id"], key, regions))
    keys.sort(
        key=lambda entry: (
            build.recipe.versions.index(entry[0]),
            entry[1] is not None,
            entry[1] or 0,
        )
    )
    region_scores, frame_scores = regions.run(), frames.run()
    return [
        {
            "tag": source["tag"],
            "split": source["split"],
            "version": version,
            "region_id": region_id,
            "score": (region_scores if scorer is regions else frame_scores)[key],
            "metric": metric.name,
            "pyiqa_version": metric.pyiqa_version,
            "weights": metric.weights,
        }
        for version, region_id, key, scorer in keys
    ]


def score_shard(build: Build, shard: Shard, options: dict[str, Any]) -> ShardOutcome:
    """Score every image of a shard and write the shard's rows."""
    torch.set_num_threads(build.recipe.scoring.cpu_threads)
    metric = cached_metric(options, shard_device(options["device"], shard.index))
    outcome = ShardOutcome()
    rows: list[dict[str, Any]] = []
    for source in read_sources(shard.items):
        try:
            image_rows = score_image(build, source, metric, options["batch_size"])
        except BadInput as err:
            outcome.failures.append(Failure(err.path, err.problem))
            outcome.add("failed")
            continue
        rows.extend(image_rows)
        outcome.add("images")
        outcome.add("regions scored", sum(r["region_id"] is not None for r in image_rows))
    write_table(build.path("scores", f"{shard.name}.parquet"), rows, SCORES)
    return outcome


def score(
    build: Build,
    executor: Executor,
    device: str = "cpu",
    metric: str | None = None,
    weights: str | None = None,
    batch_size: int | None = None,
    random_weights: bool = False,
) -> StageReport:
    """Score every distorted image; the metric is loaded up front so errors come before work."""
    options = {
        "metric": metric or build.recipe.scoring.metric,
        "device": device,
        "weights": weights,
        "random_weights": random_weights,
        "batch_size": batch_size or build.recipe.scoring.batch_size,
    }
    cached_metric(options, options["device"])
    index = source_index(build)
    shards = make_shards(STAGE, [tag for tag, _ in index], index, build.recipe.shard_size)
    fingerprint = f"{options['metric']}|{options['weights']}|{options['random_weights']}"
    return run_stage(build, STAGE, shards, score_shard, options, executor, fingerprint=fingerprint)
