"""Streaming parquet shards `<split>-XXXXX-of-YYYYY.parquet` of a target size, with HF metadata."""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from datasets import Features

from pandaset_build.errors import ShardLayoutError
from pandaset_build.store.records import Row

ROW_GROUP_BYTES = 32 * 2**20


def row_size(value: Any) -> int:
    """Rough in-memory size of a row, dominated by embedded image bytes."""
    if isinstance(value, bytes | str):
        return len(value)
    if isinstance(value, dict):
        return sum(row_size(v) for v in value.values())
    if isinstance(value, list):
        return sum(row_size(v) for v in value) + 8
    return 8


@dataclass(frozen=True)
class ShardPlan:
    """The shards the writer makes for `rows` rows of `row_bytes` each (a projection at scale)."""

    rows: int
    row_bytes: int
    shard_bytes: int

    @property
    def rows_per_shard(self) -> int:
        return max(1, self.shard_bytes // max(1, self.row_bytes))

    @property
    def shards(self) -> int:
        return max(1, math.ceil(self.rows / self.rows_per_shard))


def folder_files(plans: Mapping[str, list[ShardPlan]]) -> dict[str, int]:
    """Files per folder of a layout: folder -> the shard plans of the splits it holds."""
    return {folder: sum(plan.shards for plan in splits) for folder, splits in plans.items()}


def check_folder_files(root: Path, limit: int) -> None:
    """Raise ShardLayoutError naming the first folder under `root` with more than `limit` files."""
    counts = Counter(path.parent for path in root.rglob("*") if path.is_file())
    for folder, count in sorted(counts.items()):
        if count > limit:
            raise ShardLayoutError(
                f"{folder.relative_to(root)}: {count} files, more than "
                f"export.max_files_per_folder ({limit}, the Hub's advice); raise "
                "export.shard_bytes in the recipe"
            )


class ShardWriter:
    """Writes one split of one configuration as shards of at most `shard_bytes` each.

    A shard is closed before the row that would take it past `shard_bytes` (a row larger than
    that gets a shard of its own); sizes count the encoded row, dominated by embedded image bytes.
    Shards are written under temporary names and renamed to `-XXXXX-of-YYYYY` by `close`, once
    their count is known. Rows come already encoded for the features: ClassLabel ids, Image
    `{bytes, path}` dicts.
    """

    def __init__(
        self, folder: Path, split: str, features: Features, total_rows: int, shard_bytes: int
    ) -> None:
        self.folder = folder
        self.split = split
        self.schema = features.arrow_schema
        self.total_rows = total_rows
        self.shard_bytes = shard_bytes
        self.written = 0
        self.buffer: list[Row] = []
        self.buffer_bytes = 0
        self.shard_bytes_used = 0
        self.writer: pq.ParquetWriter | None = None
        self.done: list[Path] = []
        folder.mkdir(parents=True, exist_ok=True)

    def _tmp(self, index: int) -> Path:
        return self.folder / f".{self.split}-{index:05d}.tmp"

    def write(self, row: Row) -> None:
        if self.written + len(self.buffer) >= self.total_rows:
            raise RuntimeError(f"{self.folder}/{self.split}: more rows than the expected count")
        size = row_size(row)
        if self.shard_bytes_used and self.shard_bytes_used + size > self.shard_bytes:
            self._flush(close=True)
        self.buffer.append(row)
        self.buffer_bytes += size
        self.shard_bytes_used += size
        if self.buffer_bytes >= ROW_GROUP_BYTES:
            self._flush(close=False)

    def _flush(self, close: bool) -> None:
        if self.buffer:
            if self.writer is None:
                self.writer = pq.ParquetWriter(self._tmp(len(self.done)), self.schema)
            self.writer.write_table(pa.Table.from_pylist(self.buffer, schema=self.schema))
            self.written += len(self.buffer)
            self.buffer, self.buffer_bytes = [], 0
        if close and self.writer is not None:
            self.writer.close()
            self.writer = None
            self.done.append(self._tmp(len(self.done)))
            self.shard_bytes_used = 0

    def close(self) -> list[Path]:
        """Finish the last shard and name them all; an empty split still gets one empty shard."""
        self._flush(close=True)
        if self.written != self.total_rows:
            raise RuntimeError(
                f"{self.folder}/{self.split}: wrote {self.written} rows, expected {self.total_rows}"
            )
        if not self.done:
            pq.write_table(self.schema.empty_table(), self._tmp(0))
            self.done.append(self._tmp(0))
        files = []
        for index, tmp in enumerate(self.done):
            final = self.folder / f"{self.split}-{index:05d}-of-{len(self.done):05d}.parquet"
            os.replace(tmp, final)
            files.append(final)
        return files
