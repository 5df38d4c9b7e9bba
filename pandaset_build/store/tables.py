"""Parquet schemas of the build's tables and deterministic, atomic parquet I/O."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pandaset_build.store.atomic import atomic_path
from pandaset_build.store.records import Row

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
        ("iscrowd", pa.bool_()),
    ]
)

ISP_IMAGE = pa.struct(
    [
        ("family", pa.string()),
        ("folder", pa.string()),
        ("path", pa.string()),
        ("change", pa.list_(pa.float64())),
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
        ("isp_images", pa.list_(ISP_IMAGE)),
        ("overlap_share", pa.float64()),
        ("dropped_regions", pa.int32()),
        ("original_path", pa.string()),
        ("bit_depth", pa.int8()),
        ("colour_mode", pa.string()),
        ("orientation", pa.int8()),
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
        ("isp_folder", pa.string()),
        ("depth_tier", pa.string()),
        ("mean_change", pa.float64()),
        ("changed_share", pa.float64()),
        ("attempts", pa.int16()),
        ("audit", pa.string()),
        ("relabelled_from", pa.string()),
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
        ("precision", pa.string()),
        ("device", pa.string()),
        ("torch_version", pa.string()),
        ("cuda_version", pa.string()),
        ("cudnn_version", pa.string()),
        ("weights_sha256", pa.string()),
        ("batch_size", pa.int32()),
    ]
)


def write_table(path: Path, rows: list[Row], schema: pa.Schema) -> None:
    """Write rows as one parquet file under a temporary name, then rename it into place."""
    table = pa.Table.from_pylist(rows, schema=schema)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", write_statistics=False)


def parquet_files(path: Path) -> list[Path]:
    """A parquet file itself, or the completed parquet files under a folder, sorted.

    Hidden names (temporary files, staging folders) are skipped at every level.
    """
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []
    return sorted(
        p
        for p in path.rglob("*.parquet")
        if not any(part.startswith(".") for part in p.relative_to(path).parts)
    )
