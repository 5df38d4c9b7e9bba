"""The score stage: region and image quality of every version against the clean reference."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pandaset_build.engine.executors import Executor
from pandaset_build.engine.shards import Shard, ShardOutcome, make_shards
from pandaset_build.engine.stage import Stage, StageReport
from pandaset_build.errors import BadInput
from pandaset_build.iqa.batching import PairKey, PairScorer
from pandaset_build.iqa.crops import bucket_shape, region_crops, resize_to
from pandaset_build.iqa.metric import Metric, load_metric
from pandaset_build.store.build import Build, build_lock
from pandaset_build.store.catalog import read_sources, region_crops_total, source_index
from pandaset_build.store.images import read_rgb
from pandaset_build.store.masks import decode_mask
from pandaset_build.store.records import Row, ScoreRow, SourceRecord
from pandaset_build.store.tables import SCORES, write_table


@dataclass(frozen=True)
class ScoreOptions:
    """The metric and how it runs; `metric`, `weights` and `random_weights` change the scores."""

    metric: str
    device: str = "cpu"
    weights: str | None = None
    random_weights: bool = False
    batch_size: int = 16

    @property
    def fingerprint(self) -> str:
        return f"{self.metric}|{self.weights}|{self.random_weights}"


_METRICS: dict[tuple[str, str, str | None, bool], Metric] = {}


def shard_device(device: str, shard_index: int) -> str:
    """`cuda` spreads shards over every visible GPU (one per local worker); others stay as given."""
    if device == "cuda" and torch.cuda.device_count() > 1:
        return f"cuda:{shard_index % torch.cuda.device_count()}"
    return device


def cached_metric(options: ScoreOptions, device: str) -> Metric:
    """The metric of this worker process on a device, loaded once and reused for every shard."""
    key = (options.metric, device, options.weights, options.random_weights)
    if key not in _METRICS:
        _METRICS[key] = load_metric(*key)
    return _METRICS[key]


def score_image(
    build: Build, source: SourceRecord, metric: Metric, batch_size: int
) -> list[ScoreRow]:
    """Rows of one image: per version the full frame, then its regions (bucketed crops)."""
    scoring = build.recipe.scoring
    reference = read_rgb(source.image_path)
    masks = [decode_mask(region.mask) for region in source.regions]
    regions = PairScorer(metric, batch_size)
    frames = PairScorer(metric, 1)
    keys: list[tuple[str, int | None, PairKey, PairScorer]] = []
    images = {}
    for version in build.recipe.versions:
        path = build.layout.version_image(version, source.split, source.tag)
        if not path.exists():
            raise BadInput(path, "version missing: run `distort` first")
        images[version] = read_rgb(path)
        keys.append((version, None, frames.add(images[version], reference), frames))
    for index, region in enumerate(source.regions):
        for version, image in images.items():
            distorted, ref = region_crops(image, reference, masks[index], region.bbox)
            shape = bucket_shape(*ref.shape[:2], scoring.bucket_long_sides, scoring.min_short_side)
            key = regions.add(resize_to(distorted, shape), resize_to(ref, shape))
            keys.append((version, region.region_id, key, regions))
    keys.sort(
        key=lambda entry: (
            build.recipe.versions.index(entry[0]),
            entry[1] is not None,
            entry[1] or 0,
        )
    )
    region_scores, frame_scores = regions.run(), frames.run()
    return [
        ScoreRow(
            tag=source.tag,
            split=source.split,
            version=version,
            region_id=region_id,
            score=(region_scores if scorer is regions else frame_scores)[key],
            metric=metric.name,
            pyiqa_version=metric.pyiqa_version,
            weights=metric.weights,
        )
        for version, region_id, key, scorer in keys
    ]


def score_shard(build: Build, shard: Shard, options: ScoreOptions) -> ShardOutcome:
    """Score every image of a shard and write the shard's rows."""
    torch.set_num_threads(build.recipe.scoring.cpu_threads)
    metric = cached_metric(options, shard_device(options.device, shard.index))
    outcome = ShardOutcome()
    outcome.read(*sorted({path for _, path in shard.items}))
    rows: list[Row] = []
    for source in read_sources(shard.items):
        versions = build.recipe.versions
        outcome.read(source.image_path)
        outcome.read(*(build.layout.version_image(v, source.split, source.tag) for v in versions))
        try:
            image_rows = score_image(build, source, metric, options.batch_size)
        except BadInput as err:
            outcome.fail(err.path, err.problem)
            continue
        rows.extend(row.to_row() for row in image_rows)
        outcome.add("images")
        outcome.add("regions scored", sum(r.region_id is not None for r in image_rows))
    write_table(build.layout.score_shard(shard.name), rows, SCORES)
    outcome.wrote(build.layout.score_shard(shard.name))
    return outcome


STAGE = Stage("score", score_shard, reads=("ingest", "distort"), after="distort")


def score(
    build: Build,
    executor: Executor,
    device: str = "cpu",
    metric: str | None = None,
    weights: str | None = None,
    batch_size: int | None = None,
    random_weights: bool = False,
    retry_failed: bool = False,
) -> StageReport:
    """Score every distorted image; inputs are checked, then the metric is loaded up front (if
    there is work) so errors come before work."""
    options = ScoreOptions(
        metric=metric or build.recipe.scoring.metric,
        device=device,
        weights=weights,
        random_weights=random_weights,
        batch_size=batch_size or build.recipe.scoring.batch_size,
    )
    index = source_index(build)
    shards = make_shards(STAGE.name, [tag for tag, _ in index], index, build.recipe.shard_size)
    with build_lock(build.root):
        plan = STAGE.plan(
            build, shards, options, fingerprint=options.fingerprint, retry_failed=retry_failed
        )
        if plan.tasks:
            cached_metric(options, options.device)
        crops = region_crops_total(index, [task.shard.tags for task in plan.tasks])
        return STAGE.run(
            build, shards, options, executor, fingerprint=options.fingerprint, plan=plan,
            units={"regions scored": crops * len(build.recipe.versions)},
        )  # fmt: skip
