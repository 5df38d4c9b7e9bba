"""PandaBench pairs read from the `bench/<difficulty>` parquet datasets of `split-bench`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from pandaset_build.config import vocab
from pandaset_build.errors import InputNotFound

SIDES = ("anchor", "target")


@dataclass(frozen=True)
class Side:
    """One side's labels of a region: vocabulary ids and the region score."""

    distortion: int
    severity: int
    score: float


@dataclass(frozen=True)
class BenchRegion:
    """A region of a pair, matched by index between anchor and target."""

    index: int
    name: str
    bbox: tuple[float, float, float, float]  # x, y, w, h in pixels
    mask: dict[str, Any] | None  # COCO RLE, or None
    anchor: Side
    target: Side
    comparison: int
    description: str = ""

    @property
    def label(self) -> str:
        """The name, with the description where there is one (`person (astronaut's face)`)."""
        return f"{self.name} ({self.description})" if self.description else self.name

    def fields(self) -> dict[str, Any]:
        """Flat `comparison`, `anchor_distortion`, ... labels, as parsed answers are laid out."""
        flat: dict[str, Any] = {"comparison": self.comparison}
        for side in SIDES:
            labels = getattr(self, side)
            flat |= {f"{side}_{k}": getattr(labels, k) for k in ("distortion", "severity", "score")}
        return flat


@dataclass(frozen=True)
class BenchPair:
    """An ordered (anchor, target) pair of versions of one image with its region labels."""

    tag: str
    anchor_version: str
    target_version: str
    anchor_image: bytes  # encoded image file (PNG in exported benches)
    target_image: bytes
    regions: list[BenchRegion]

    @property
    def key(self) -> str:
        """`{tag}_{anchor}_{target}`, the middle of the published graph file names."""
        return f"{self.tag}_{self.anchor_version}_{self.target_version}"

    def image(self, side: str) -> bytes:
        """The encoded image of `anchor` or `target`."""
        return self.anchor_image if side == "anchor" else self.target_image


def _label(value: Any, names: Sequence[str]) -> int:
    """A vocabulary id from a stored id or name."""
    return names.index(value) if isinstance(value, str) else int(value)


def _side(region: dict[str, Any], side: str) -> Side:
    return Side(
        distortion=_label(region[f"{side}_distortion"], vocab.DISTORTIONS),
        severity=_label(region[f"{side}_severity"], vocab.SEVERITIES),
        score=float(region[f"{side}_score"]),
    )


def _image_bytes(value: Any) -> bytes:
    """Bytes of an HF `Image()` cell ({bytes, path}) or of a raw binary cell."""
    if isinstance(value, dict):
        if value.get("bytes") is not None:
            return value["bytes"]
        return Path(value["path"]).read_bytes()
    return bytes(value)


def pair_from_row(row: dict[str, Any]) -> BenchPair:
    """One bench row (the exporter's `BENCH` features) as a BenchPair."""
    regions = [
        BenchRegion(
            index=i,
            name=str(r["name"]),
            bbox=tuple(float(v) for v in r["bbox"]),  # type: ignore[arg-type]
            mask=r.get("mask"),
            anchor=_side(r, "anchor"),
            target=_side(r, "target"),
            comparison=_label(r["comparison"], vocab.COMPARISONS),
            description=str(r.get("description") or ""),
        )
        for i, r in enumerate(row["regions"])
    ]
    return BenchPair(
        tag=row["tag"],
        anchor_version=row["anchor_version"],
        target_version=row["target_version"],
        anchor_image=_image_bytes(row["anchor_image"]),
        target_image=_image_bytes(row["target_image"]),
        regions=regions,
    )


def parquet_files(path: Path) -> list[Path]:
    """A parquet file, or the sorted shards of a bench folder (`data/*.parquet` or `*.parquet`)."""
    if path.is_file():
        return [path]
    files = sorted(path.glob("data/*.parquet")) or sorted(path.glob("*.parquet"))
    if not files:
        raise InputNotFound(f"{path}: no parquet files (expected data/*.parquet)")
    return files


def iter_bench(path: Path) -> Iterator[BenchPair]:
    """Pairs of a bench dataset in file and row order, read one record batch at a time."""
    for file in parquet_files(Path(path)):
        for batch in pq.ParquetFile(file).iter_batches(batch_size=16):
            for row in batch.to_pylist():
                yield pair_from_row(row)


def load_bench(path: Path, limit: int | None = None) -> list[BenchPair]:
    """The first `limit` (or all) pairs of a bench dataset."""
    pairs = []
    for pair in iter_bench(path):
        if limit is not None and len(pairs) >= limit:
            break
        pairs.append(pair)
    return pairs
