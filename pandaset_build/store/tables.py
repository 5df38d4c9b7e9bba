"""Parquet schemas of the build's tables and deterministic, atomic parquet I/O."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pandaset_build.store.build import Build, atomic_path

RLE = pa.struct([("size", pa.list_(pa.int32())), ("counts", pa.string())])

REGION = pa.struct(
    [
        ("region_id", pa.int32()),
        ("name", pa.string()),
        ("category_id", pa.int32()),
        ("isthing", pa.bool_()),
        ("bbox", pa.list_(pa.float32())),
        ("mask", RLE),
        ("area", pa.int64()),
        ("description", pa.string()),
    ]
)

SOURCES = pa.schema(
    [
        ("tag", pa.string()),
        ("source", pa.string()),
        ("split", pa.string()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("image_path", pa.string()),
        ("depth_path", pa.string()),
        ("isp_path", pa.string()),
        ("isp_degradations", pa.list_(pa.string())),
        ("isp_flags", pa.list_(pa.struct([("noise", pa.bool_()), ("blur", pa.bool_())]))),
        ("regions", pa.list_(REGION)),
        (
            "relations",
            pa.list_(
                pa.struct(
                    [
                        ("subject", pa.int32()),
                        ("object", pa.int32()),
                        ("predicate", pa.string()),
                        ("predicate_id", pa.int32()),
                    ]
                )
            ),
        ),
    ]
)


PLANS = pa.schema(
    [
        ("tag", pa.string()),
        ("version", pa.string()),
        ("region_id", pa.int32()),
        ("distortion", pa.string()),
        ("subtype", pa.string()),
        ("severity", pa.string()),
        ("level", pa.int8()),
        ("params", pa.string()),
        ("seed", pa.int64()),
        ("isp", pa.bool_()),
    ]
)

SCORES = pa.schema(
    [
        ("tag", pa.string()),
        ("split", pa.string()),
        ("version", pa.string()),
        ("region_id", pa.int32()),
        ("score", pa.float64()),
        ("metric", pa.string()),
        ("pyiqa_version", pa.string()),
        ("weights", pa.string()),
    ]
)


def version_path(build: Build, version: str, split: str, tag: str) -> Path:
    """Where the distort stage stores a rendered version (lossless PNG)."""
    return build.path("versions", version, split, f"{tag}.png")


def source_index(build: Build) -> list[tuple[str, str]]:
    """(tag, parquet file) of every ingested image."""
    index = []
    for path in parquet_files(build.path("sources")):
        tags = pq.read_table(path, columns=["tag"]).column("tag").to_pylist()
        index.extend((tag, str(path)) for tag in tags)
    return index


def read_sources(items: tuple[tuple[str, str], ...]) -> list[dict[str, Any]]:
    """Source rows of a shard's tags, reading only the files and rows it needs."""
    by_file: dict[str, list[str]] = defaultdict(list)
    for tag, path in items:
        by_file[path].append(tag)
    rows = []
    for path, tags in by_file.items():
        rows.extend(pq.read_table(path, filters=[("tag", "in", tags)]).to_pylist())
    return sorted(rows, key=lambda row: row["tag"])


def write_table(path: Path, rows: list[dict[str, Any]], schema: pa.Schema) -> None:
    """Write rows as one parquet file under a temporary name, then rename it into place."""
    table = pa.Table.from_pylist(rows, schema=schema)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", write_statistics=False)


def parquet_files(folder: Path) -> list[Path]:
    """Completed parquet shards under a folder, sorted (temporary files are hidden)."""
    if not folder.exists():
        return []
    return sorted(p for p in folder.rglob("*.parquet") if not p.name.startswith("."))


def read_rows(folder: Path, columns: list[str] | None = None) -> Iterator[dict[str, Any]]:
    """Rows of every parquet shard under a folder, one shard in memory at a time."""
    for path in parquet_files(folder):
        yield from pq.read_table(path, columns=columns).to_pylist()
