"""The ingest stage: read a dataset on disk into `sources/<source>/` parquet shards."""

from __future__ import annotations

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
from pandaset_build.store.tables import SOURCES, parquet_files, write_table


@dataclass(frozen=True)
class IngestOptions:
    """What every ingest shard needs besides its items."""

    source: str
    depth: str | None = None


def existing_tags(build: Build, exclude_source: str) -> set[str]:
    """Tags already ingested from other sources of this build."""
    tags: set[str] = set()
    for path in parquet_files(build.layout.sources):
        if path.parent.name != exclude_source:
            tags.update(pq.read_table(path, columns=["tag"]).column("tag").to_pylist())
    return tags


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
        outcome.add("images")
        outcome.add("regions", len(record.regions))
        outcome.add(f"split:{record.split}")
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
    if source not in READERS:
        raise UsageError(f"--source {source}: unknown; known: {', '.join(sorted(READERS))}")
    if depth is not None and not depth.is_dir():
        raise BadInput(depth, "--depth must be a folder of depth maps")
    stage = Stage(f"ingest-{source}", ingest_shard)
    items, listing_failures = READERS[source].list_items(root, **(reader_options or {}))
    taken = existing_tags(build, exclude_source=source)
    kept = []
    for item in items:
        if item.tag in taken:
            listing_failures.append(BadInput(item.tag, "duplicate tag: already in this build"))
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
