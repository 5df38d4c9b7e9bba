"""The depth stage: the depth model's haze distance of every image whose depth tier is `model`,
computed once per image and written to `depth/<tag>.npy` before distort; resumable like every
stage. Images of other tiers (a depth file, the layout prior) need nothing here."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from pandaset_build.config import vocab
from pandaset_build.config.recipe import Recipe
from pandaset_build.distortions import estimate_depth, load_depth_model
from pandaset_build.engine.executors import Executor
from pandaset_build.engine.shards import Shard, ShardOutcome, make_shards
from pandaset_build.engine.stage import Stage, StageReport
from pandaset_build.errors import MissingStageOutputs
from pandaset_build.render.plan import record_depth_tier
from pandaset_build.store.atomic import write_bytes_atomic
from pandaset_build.store.build import Build
from pandaset_build.store.catalog import read_sources, source_index
from pandaset_build.store.images import read_rgb
from pandaset_build.store.records import SourceRecord


@dataclass(frozen=True)
class DepthOptions:
    device: str = "cpu"  # where the depth model runs: cpu, cuda or cuda:N


def uses_model(recipe: Recipe, source: SourceRecord) -> bool:
    """Whether a record's haze distance comes from the depth model (and so from this stage)."""
    if record_depth_tier(recipe, source) != "model":
        return False
    return any(v == "haze" or v in vocab.MIXED_VERSIONS for v in recipe.versions)


def npy_bytes(distance: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, distance.astype(np.float32), allow_pickle=False)
    return buffer.getvalue()


def depth_shard(build: Build, shard: Shard, options: DepthOptions) -> ShardOutcome:
    """Estimate and write the distance map of every image of a shard that uses the model."""
    outcome = ShardOutcome()
    outcome.read(*sorted({path for _, path in shard.items}))
    name = str(build.recipe.weather.haze.depth_model)
    for source in read_sources(shard.items):
        outcome.add("images")
        if not uses_model(build.recipe, source):
            continue
        if options.device == "cpu":
            import torch

            torch.set_num_threads(build.recipe.scoring.cpu_threads)  # fixed: same bytes anywhere
        outcome.read(source.image_path)
        distance = estimate_depth(
            read_rgb(source.image_path), load_depth_model(name, options.device)
        )
        path = build.layout.depth_map(source.tag)
        write_bytes_atomic(path, npy_bytes(distance))
        outcome.wrote(path)
        outcome.add("maps")
    return outcome


STAGE = Stage("depth", depth_shard, reads=("ingest",))


def depth(
    build: Build, executor: Executor, device: str = "cpu", retry_failed: bool = False
) -> StageReport:
    """Write the model tier's distance maps; rerunning skips completed shards. The fingerprint
    is the model's name, so another `haze.depth_model` is another setting."""
    index = source_index(build)
    if not index:
        raise MissingStageOutputs(f"{build.layout.sources}: no ingested images: run `ingest` first")
    shards = make_shards(STAGE.name, [tag for tag, _ in index], index, build.recipe.shard_size)
    return STAGE.run(
        build,
        shards,
        DepthOptions(device),
        executor,
        fingerprint=fingerprint(build.recipe),
        retry_failed=retry_failed,
    )


def fingerprint(recipe: Recipe) -> str:
    """The setting that changes the maps: the depth model (its name or local path)."""
    return str(recipe.weather.haze.depth_model)
