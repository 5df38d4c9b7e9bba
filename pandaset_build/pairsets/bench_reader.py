"""Pairs of a `split-bench` folder (`bench/easy|medium|hard`): one parquet row per pair."""

from __future__ import annotations

import bisect
from pathlib import Path

import pyarrow.parquet as pq

from pandaset_build.config import vocab
from pandaset_build.errors import InputNotFound
from pandaset_build.pairsets.record import (
    PairRecord,
    PairRegion,
    SideLabels,
    read_predicate_classes,
)
from pandaset_build.store.predicates import PREDICATE_FILE
from pandaset_build.store.records import Row
from pandaset_build.store.tables import parquet_files


def _label(value: int | str, names: tuple[str, ...]) -> int:
    """A vocabulary id from a stored id or name."""
    return names.index(value) if isinstance(value, str) else int(value)


def _image_bytes(cell: Row | bytes) -> bytes:
    """Bytes of an HF `Image()` cell ({bytes, path}) or of a raw binary cell."""
    if isinstance(cell, dict):
        if cell.get("bytes") is not None:
            return cell["bytes"]
        return Path(cell["path"]).read_bytes()
    return bytes(cell)


def _side(region: Row, side: str) -> SideLabels:
    return SideLabels(
        distortion=_label(region[f"{side}_distortion"], vocab.DISTORTIONS),
        severity=_label(region[f"{side}_severity"], vocab.SEVERITIES),
        score=float(region[f"{side}_score"]),
    )


def pair_from_bench_row(row: Row) -> PairRecord:
    """One bench row (the `BENCH` features of the export) as a pair record."""
    regions = [
        PairRegion(
            index=i,
            name=str(r["name"]),
            bbox=tuple(float(v) for v in r["bbox"]),  # type: ignore[arg-type]
            mask=r.get("mask"),
            anchor=_side(r, "anchor"),
            target=_side(r, "target"),
            comparison=_label(r["comparison"], vocab.COMPARISONS),
            description=str(r.get("description") or ""),
            category_id=int(r.get("category_id", vocab.NO_CATEGORY)),
        )
        for i, r in enumerate(row["regions"])
    ]
    relations = [[r["subject"], r["object"], r["predicate_id"]] for r in row.get("relations") or []]
    return PairRecord(
        tag=row["tag"],
        anchor_version=row["anchor_version"],
        target_version=row["target_version"],
        anchor_image=_image_bytes(row["anchor_image"]),
        target_image=_image_bytes(row["target_image"]),
        anchor_score=float(row["anchor_image_score"]),
        target_score=float(row["target_image_score"]),
        image_comparison=_label(row["image_comparison"], vocab.COMPARISONS),
        regions=regions,
        relations=relations,
    )


class BenchSource:
    """Random access to a bench folder's pairs, reading one parquet row group at a time."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.files = parquet_files(self.folder)
        if not self.files:
            raise InputNotFound(f"{self.folder}: no parquet files (expected data/*.parquet)")
        self.groups: list[tuple[Path, int]] = []
        self.starts: list[int] = []
        total = 0
        for path in self.files:
            metadata = pq.ParquetFile(path).metadata
            for group in range(metadata.num_row_groups):
                self.groups.append((path, group))
                self.starts.append(total)
                total += metadata.row_group(group).num_rows
        self.total = total
        self.predicate_classes = read_predicate_classes(self.folder / PREDICATE_FILE)
        self._kept: tuple[int, list[Row]] = (-1, [])

    def _rows(self, position: int) -> list[Row]:
        """The rows of one row group; the last one read is kept (pairs are read in order)."""
        if self._kept[0] != position:
            path, group = self.groups[position]
            self._kept = (position, pq.ParquetFile(path).read_row_group(group).to_pylist())
        return self._kept[1]

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, index: int) -> PairRecord:
        if not 0 <= index < self.total:
            raise IndexError(f"{self.folder}: pair {index} of {self.total}")
        position = bisect.bisect_right(self.starts, index) - 1
        return pair_from_bench_row(self._rows(position)[index - self.starts[position]])
