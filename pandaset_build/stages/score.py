"""The score stage: region and image quality of every version against the clean reference.

A shard's images are decoded, cropped and resized on a CPU thread ahead of the forward pass
(`iqa.prefetch`); their pairs go into one region scorer and one frame scorer whose batches span
the shard's images (region-major: the 16 versions of a region are added together, so they
share their reference's backbone pass). Batches depend only on the shard's contents and the
recipe, never on timing, so the bytes are the same for any executor and worker count.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

import numpy as np
import torch

from pandaset_build.engine import drift
from pandaset_build.engine.executors import Executor
from pandaset_build.engine.shards import Shard, ShardOutcome, make_shards
from pandaset_build.engine.stage import Stage, StageReport
from pandaset_build.engine.worker import assigned_device
from pandaset_build.errors import BadInput, ScoreSettingsChanged
from pandaset_build.iqa.batching import PairKey, PairScorer
from pandaset_build.iqa.crops import bucket_shape, region_crops, resize_to
from pandaset_build.iqa.metric import Metric, load_metric
from pandaset_build.iqa.prefetch import prefetch
from pandaset_build.store.build import Build, build_lock
from pandaset_build.store.catalog import read_sources, region_crops_total, source_index
from pandaset_build.store.images import read_rgb
from pandaset_build.store.masks import decode_mask
from pandaset_build.store.records import Row, ScoreRow, SourceRecord
from pandaset_build.store.tables import SCORES, write_table


def device_kind(device: str) -> str:
    """`cuda` for any CUDA device, else the device as given (`cpu`)."""
    return "cuda" if device.startswith("cuda") else device


@dataclass(frozen=True)
class ScoreOptions:
    """The metric and how it runs. `metric`, `weights`, `random_weights`, `precision` and the
    device kind change the scores (the fingerprint); batch sizes are recorded with each row."""

    metric: str
    device: str = "cpu"
    weights: str | None = None
    random_weights: bool = False
    batch_size: int = 16
    frame_batch_size: int = 4
    precision: str = "fp32"
    prefetch_images: int = 2

    @property
    def fingerprint(self) -> str:
        return (
            f"{self.metric}|{self.weights}|{self.random_weights}|{self.precision}|"
            f"{device_kind(self.device)}"
        )


def regime(fingerprint: str) -> str:
    """`PRECISION on DEVICE-KIND` of a score fingerprint (older ones recorded neither)."""
    parts = fingerprint.split("|")
    return f"{parts[3]} on {parts[4]}" if len(parts) >= 5 else "unrecorded precision and device"


def check_regime(build: Build, options: ScoreOptions) -> None:
    """Refuse to resume scores made at another precision or on another kind of device."""
    ours = regime(options.fingerprint)
    other = sorted(
        {
            regime(record.fingerprint)
            for record in drift.load_records(build, STAGE.name)
            if record.fingerprint.split("|")[:3] == options.fingerprint.split("|")[:3]
            and regime(record.fingerprint) != ours
        }
    )
    if other:
        raise ScoreSettingsChanged(
            f"{build.layout.scores}: scores were made at {', '.join(other)}; this run is {ours}: "
            "one build's scores come from one arithmetic. Rerun with --restart to rescore every "
            f"shard at {ours}, or with the --precision and --device they were made with to resume"
        )


_METRICS: dict[tuple[str, str, str | None, bool, str], Metric] = {}


def cached_metric(options: ScoreOptions, device: str) -> Metric:
    """The metric of this worker process on a device, loaded once and reused for every shard
    (a local pool worker, or a resident Ray actor, keeps it for its whole life)."""
    key = (options.metric, device, options.weights, options.random_weights, options.precision)
    if key not in _METRICS:
        _METRICS[key] = load_metric(*key)
    return _METRICS[key]


@dataclass(frozen=True)
class PreparedImage:
    """One image ready for the metric: per version the frame, then every region's crop pair."""

    source: SourceRecord
    reference: np.ndarray
    frames: dict[str, np.ndarray]
    crops: list[tuple[str, int, np.ndarray, np.ndarray]]  # version, region id, distorted, ref


def prepare_image(build: Build, source: SourceRecord) -> PreparedImage:
    """Decode the reference and the versions, crop and resize every region (CPU work)."""
    scoring = build.recipe.scoring
    reference = read_rgb(source.image_path)
    frames = {}
    for version in build.recipe.versions:
        path = build.layout.version_image(version, source.split, source.tag)
        if not path.exists():
            raise BadInput(path, "version missing: run `distort` first")
        frames[version] = read_rgb(path)
    crops = []
    for region in source.regions:
        mask = decode_mask(region.mask)
        for version, image in frames.items():
            distorted, ref = region_crops(image, reference, mask, region.bbox)
            shape = bucket_shape(*ref.shape[:2], scoring.bucket_long_sides, scoring.min_short_side)
            pair = (resize_to(distorted, shape), resize_to(ref, shape))
            crops.append((version, region.region_id, *pair))
    return PreparedImage(source, reference, frames, crops)


ImageKeys = list[tuple[str, int | None, PairKey, bool]]  # version, region id, pair, is a frame


def add_image(prepared: PreparedImage, regions: PairScorer, frames: PairScorer) -> ImageKeys:
    """Queue an image's pairs; its keys in row order: per version the frame, then its regions."""
    keys: ImageKeys = [
        (version, None, frames.add(frame, prepared.reference), True)
        for version, frame in prepared.frames.items()
    ]
    keys += [
        (version, region_id, regions.add(distorted, ref), False)
        for version, region_id, distorted, ref in prepared.crops
    ]
    order = list(prepared.frames)
    keys.sort(key=lambda k: (order.index(k[0]), k[1] is not None, k[1] or 0))
    return keys


def score_shard(build: Build, shard: Shard, options: ScoreOptions) -> ShardOutcome:
    """Score every image of a shard and write the shard's rows."""
    torch.set_num_threads(build.recipe.scoring.cpu_threads)
    metric = cached_metric(options, assigned_device() or options.device)
    provenance = metric.provenance(options.batch_size)
    outcome = ShardOutcome()
    outcome.read(*sorted({path for _, path in shard.items}))
    regions = PairScorer(metric, options.batch_size)
    frames = PairScorer(metric, options.frame_batch_size)
    queued: list[tuple[SourceRecord, ImageKeys]] = []
    sources = read_sources(shard.items)
    for source, future in prefetch(
        lambda s: prepare_image(build, s), sources, options.prefetch_images
    ):
        versions = build.recipe.versions
        outcome.read(source.image_path)
        outcome.read(*(build.layout.version_image(v, source.split, source.tag) for v in versions))
        try:
            prepared = future.result()
        except BadInput as err:
            outcome.fail(err.path, err.problem)
            continue
        queued.append((source, add_image(prepared, regions, frames)))
        regions.run(full_only=True)
        frames.run(full_only=True)
    region_scores, frame_scores = regions.run(), frames.run()
    rows: list[Row] = []
    for source, keys in queued:
        rows.extend(
            ScoreRow(
                tag=source.tag,
                split=source.split,
                version=version,
                region_id=region_id,
                score=(frame_scores if is_frame else region_scores)[key],
                provenance=provenance,
            ).to_row()
            for version, region_id, key, is_frame in keys
        )
        outcome.add("images")
        outcome.add("regions scored", sum(region_id is not None for _, region_id, _, _ in keys))
    write_table(build.layout.score_shard(shard.name), rows, SCORES)
    outcome.wrote(build.layout.score_shard(shard.name))
    return outcome


STAGE = Stage("score", score_shard, reads=("ingest", "distort"), after="distort")


def clear_scores(build: Build) -> None:
    """Delete the score stage's shards and completion records (`score --restart`)."""
    for folder in (build.layout.scores, build.layout.done_dir(STAGE.name)):
        if folder.is_dir() and not folder.is_symlink():
            shutil.rmtree(folder)


def score(
    build: Build,
    executor: Executor,
    device: str = "cpu",
    metric: str | None = None,
    weights: str | None = None,
    batch_size: int | None = None,
    random_weights: bool = False,
    retry_failed: bool = False,
    precision: str = "fp32",
    restart: bool = False,
) -> StageReport:
    """Score every distorted image; inputs are checked, then the metric is loaded up front (if
    there is work) so errors come before work. `restart` rescores every shard."""
    scoring = build.recipe.scoring
    options = ScoreOptions(
        metric=metric or scoring.metric,
        device=device,
        weights=weights,
        random_weights=random_weights,
        batch_size=batch_size or scoring.batch_size,
        frame_batch_size=scoring.frame_batch_size,
        precision=precision,
        prefetch_images=scoring.prefetch_images,
    )
    index = source_index(build)
    shards = make_shards(STAGE.name, [tag for tag, _ in index], index, build.recipe.shard_size)
    with build_lock(build.root):
        if restart:
            clear_scores(build)
        elif not retry_failed:
            check_regime(build, options)
        plan = STAGE.plan(
            build, shards, options, fingerprint=options.fingerprint, retry_failed=retry_failed
        )
        notes = []
        if plan.tasks:
            loaded = cached_metric(options, options.device)
            notes.append(f"scores: {loaded.provenance(options.batch_size).describe()}")
        crops = region_crops_total(index, [task.shard.tags for task in plan.tasks])
        report = STAGE.run(
            build, shards, options, executor, fingerprint=options.fingerprint, plan=plan,
            units={"regions scored": crops * len(build.recipe.versions)},
        )  # fmt: skip
        report.notes.extend(notes)
        return report
