"""Finding and reading a build's source records: which file holds each tag."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

import pyarrow.compute as pc
import pyarrow.parquet as pq

from pandaset_build.store.build import Build
from pandaset_build.store.records import SourceRecord
from pandaset_build.store.tables import parquet_files

SourceEntry = tuple[str, str]  # (tag, parquet file holding its source record)


def source_index(build: Build) -> list[SourceEntry]:
    """(tag, parquet file) of every ingested image."""
    index = []
    for path in parquet_files(build.layout.sources):
        tags = pq.read_table(path, columns=["tag"]).column("tag").to_pylist()
        index.extend((tag, str(path)) for tag in tags)
    return index


def read_sources(entries: tuple[SourceEntry, ...]) -> list[SourceRecord]:
    """Source records of a shard's tags in tag order, reading only the files and rows needed."""
    by_file: dict[str, list[str]] = defaultdict(list)
    for tag, path in entries:
        by_file[path].append(tag)
    records = [
        SourceRecord.from_row(row)
        for path, tags in by_file.items()
        for row in pq.read_table(path, filters=[("tag", "in", tags)]).to_pylist()
    ]
    return sorted(records, key=lambda record: record.tag)


def region_crops_total(index: list[SourceEntry], groups: Iterable[Sequence[str]]) -> int:
    """Regions of the images of `groups` of tags (each shard's), read from the index's files."""
    wanted = {tag for group in groups for tag in group}
    if not wanted:
        return 0
    total = 0
    for path in sorted({file for tag, file in index if tag in wanted}):
        table = pq.read_table(path, columns=["tag", "regions"])
        lengths = pc.list_value_length(table.column("regions")).to_pylist()
        tags = table.column("tag").to_pylist()
        total += sum(n for tag, n in zip(tags, lengths, strict=True) if tag in wanted)
    return total
