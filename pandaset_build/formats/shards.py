"""Streaming parquet shards `<split>-XXXXX-of-YYYYY.parquet` with HF feature metadata."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from datasets import Features

ROW_GROUP_BYTES = 32 * 2**20


def shard_count(rows: int, rows_per_shard: int) -> int:
    return max(1, math.ceil(rows / rows_per_shard))


def _size(value: Any) -> int:
    """Rough in-memory size of a row, dominated by embedded image bytes."""
    if isinstance(value, bytes | str):
        return len(value)
    if isinstance(value, dict):
        return sum(_size(v) for v in value.values())
    if isinstance(value, list):
        return sum(_size(v) for v in value) + 8
    return 8


class ShardWriter:
    """Writes one split of one configuration as shards, inside a staged export folder.

    Rows come already encoded for the features: ClassLabel ids, Image `{bytes, path}` dicts.
    """

    def __init__(
        self, folder: Path, split: str, features: Features, total_rows: int, rows_per_shard: int
    ) -> None:
        self.folder = folder
        self.split = split
        self.schema = features.arrow_schema
        self.total_rows = total_rows
        self.rows_per_shard = rows_per_shard
        self.shards = shard_count(total_rows, rows_per_shard)
        self.written = 0
        self.buffer: list[dict[str, Any]] = []
        self.buffer_bytes = 0
        self.writer: pq.ParquetWriter | None = None
        self.files: list[Path] = []
        folder.mkdir(parents=True, exist_ok=True)

    def _final(self, index: int) -> Path:
        return self.folder / f"{self.split}-{index:05d}-of-{self.shards:05d}.parquet"

    def write(self, row: dict[str, Any]) -> None:
        if self.written + len(self.buffer) >= self.total_rows:
            raise RuntimeError(f"{self.folder}/{self.split}: more rows than the expected count")
        self.buffer.append(row)
        self.buffer_bytes += _size(row)
        shard_full = (self.written + len(self.buffer)) % self.rows_per_shard == 0
        if shard_full or self.buffer_bytes >= ROW_GROUP_BYTES:
            self._flush(close=shard_full)

    def _flush(self, close: bool) -> None:
        index = self.written // self.rows_per_shard
        if self.buffer:
            if self.writer is None:
                self.writer = pq.ParquetWriter(self._final(index), self.schema)
            self.writer.write_table(pa.Table.from_pylist(self.buffer, schema=self.schema))
            self.written += len(self.buffer)
            self.buffer, self.buffer_bytes = [], 0
        if close and self.writer is not None:
            self.writer.close()
            self.writer = None
            self.files.append(self._final(index))

    def close(self) -> list[Path]:
        """Finish the last shard; an empty split still gets one empty shard."""
        self._flush(close=True)
        if self.written != self.total_rows:
            raise RuntimeError(
                f"{self.folder}/{self.split}: wrote {self.written} rows, expected {self.total_rows}"
            )
        if not self.files:
            pq.write_table(self.schema.empty_table(), self._final(0))
            self.files.append(self._final(0))
        return self.files
