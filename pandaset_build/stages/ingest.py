"""The ingest stage: read a dataset on disk into `sources/<source>/` parquet shards."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from pandaset_build.engine.executors import Executor
from pandaset_build.engine.shards import Failure, Shard, ShardOutcome, make_shards
from pandaset_build.engine.stage import Stage, StageReport
from pandaset_build.errors import BadInput, UsageError
from pandaset_build.labels.splits import SplitRule
from pandaset_build.sources import READERS
from pandaset_build.sources.common import Item
from pandaset_build.sources.depth_files import find_depth
from pandaset_build.store.atomic import write_json_atomic
from pandaset_build.store.build import Build
from pandaset_build.store.records import SourceRecord
from pandaset_build.store.tables import SOURCES, parquet_files, write_table


@dataclass(frozen=True)
class IngestOptions:
    """What every ingest shard needs besides its items."""

    source: str
    depth: str | None = None


def existing_tags(build: Build, exclude_source: str) -> dict[str, tuple[str, str]]:
    """Tag -> (source, image file) of the images already ingested from other sources."""
    tags: dict[str, tuple[str, str]] = {}
    for path in parquet_files(build.layout.sources):
        if path.parent.name != exclude_source:
            table = pq.read_table(path, columns=["tag", "image_path"]).to_pydict()
            for tag, image in zip(table["tag"], table["image_path"], strict=True):
                tags[tag] = (path.parent.name, image)
    return tags


def check_reader_options(source: str, options: dict[str, Any]) -> None:
    """Refuse an unknown source, or an option its reader does not take (naming the ones it
    takes); nothing is done."""
    if source not in READERS:
        raise UsageError(f"--source {source}: unknown; known: {', '.join(sorted(READERS))}")
    reader = READERS[source]
    accepted = {
        name
        for name, p in inspect.signature(reader.list_items).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }
    unknown = [key for key in options if key not in accepted]
    if unknown:
        flags = ", ".join(f"--{key.replace('_', '-')}" for key in unknown)
        takes = [f"--{o.replace('_', '-')}" for o in reader.OPTIONS]
        raise UsageError(
            f"{flags}: --source {source} does not take "
            f"{'this option' if len(unknown) == 1 else 'these options'}; it takes "
            f"{', '.join(['--root', *takes, '--depth']) if takes else 'only --depth'}: "
            f"drop {flags}"
        )


def record_counts(outcome: ShardOutcome, record: SourceRecord) -> None:
    """Counts of an ingested record: images, regions, split, what the overlap rule changed."""
    outcome.add("images")
    outcome.add("regions", len(record.regions))
    outcome.add(f"split:{record.split}")
    if record.dropped_regions:
        outcome.add("regions dropped (empty)", record.dropped_regions)
    if record.overlap_share:
        outcome.add("images with overlapping masks")


def write_predicates(build: Build, source: str, items: list[Item]) -> None:
    """Record the source's predicate vocabulary (PSG's `predicate_classes`) where it has one."""
    names = next((i.payload.get("predicate_classes") for i in items), None)
    if names is not None:
        write_json_atomic(build.layout.source_predicates(source), list(names))


def ingest_shard(build: Build, shard: Shard, options: IngestOptions) -> ShardOutcome:
    """Load, validate and write one shard of source records."""
    reader = READERS[options.source]
    split_of = SplitRule(build.recipe)
    depth_dir = Path(options.depth) if options.depth else None
    outcome = ShardOutcome()
    rows = []
    item: Item
    for item in shard.items:
        try:
            record = reader.load_item(item)
        except BadInput as err:
            outcome.fail(err.path, err.problem)
            continue
        record.source = options.source
        record.split = split_of(record.tag, record.split)
        if depth_dir is not None:
            record.depth_path = find_depth(depth_dir, record.tag, record.image_path)
        rows.append(record.to_row())
        record_counts(outcome, record)
    write_table(build.layout.source_shard(options.source, shard.name), rows, SOURCES)
    return outcome


def ingest(
    build: Build,
    source: str,
    root: Path,
    executor: Executor,
    depth: Path | None = None,
    reader_options: dict[str, Any] | None = None,
) -> StageReport:
    """Ingest one source into the build; rerunning resumes, another source adds to the build."""
    check_reader_options(source, reader_options or {})
    if depth is not None and not depth.is_dir():
        raise BadInput(depth, "--depth must be a folder of depth maps")
    stage = Stage(f"ingest-{source}", ingest_shard)
    items, listing_failures = READERS[source].list_items(root, **(reader_options or {}))
    write_predicates(build, source, items)
    taken = existing_tags(build, exclude_source=source)
    kept = []
    for item in items:
        if item.tag in taken:
            other, image = taken[item.tag]
            listing_failures.append(
                BadInput(
                    item.file,
                    f"duplicate tag {item.tag}: source {source} gives it to this file, and source "
                    f"{other} already ingested it for {image}; tags must be unique in a build: "
                    "ingest one of them into another --build",
                )
            )
        else:
            kept.append(item)
    shards = make_shards(stage.name, [i.tag for i in kept], kept, build.recipe.shard_size)
    options = IngestOptions(source, str(depth) if depth else None)
    report = stage.run(build, shards, options, executor)
    report.extra_failures = [Failure(f.path, f.problem) for f in listing_failures]
    write_split_lists(build)
    return report


def write_split_lists(build: Build) -> dict[str, list[str]]:
    """Write `splits.json`: the sorted tag list of every split over all sources."""
    splits: dict[str, list[str]] = {name: [] for name in build.recipe.splits}
    for path in parquet_files(build.layout.sources):
        table = pq.read_table(path, columns=["tag", "split"]).to_pydict()
        for tag, split in zip(table["tag"], table["split"], strict=True):
            splits.setdefault(split, []).append(tag)
    splits = {name: sorted(tags) for name, tags in splits.items()}
    write_json_atomic(build.layout.splits_file, splits)
    return splits
