"""`PairSource`s over this tool's parquet outputs: a `bench/<split>` folder and the `hf` export."""

from __future__ import annotations

import io
import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from PIL import Image

from pandaset_build.errors import InputNotFound
from pandaset_build.panda.records import PairRecord, RegionLabels
from pandaset_build.store.tables import parquet_files


def parquet_rows(folder: Path) -> list[dict[str, Any]]:
    """Every row of the parquet files under a folder, in file order."""
    files = parquet_files(folder)
    if not files:
        raise InputNotFound(f"{folder}: no parquet files")
    return [row for path in files for row in pq.read_table(path).to_pylist()]


def decode_image(cell: dict[str, Any]) -> np.ndarray:
    """H x W x 3 uint8 pixels of an embedded `datasets.Image` cell."""
    with Image.open(io.BytesIO(cell["bytes"])) as image:
        return np.asarray(image.convert("RGB"))


def relation_triples(relations: list[dict[str, Any]] | None) -> list[list[int]]:
    return [[r["subject"], r["object"], r["predicate_id"]] for r in relations or []]


class BenchSource:
    """The pairs of one `split-bench` folder (`bench/easy`, `bench/medium`, `bench/hard`)."""

    def __init__(self, folder: str | Path) -> None:
        self.rows = parquet_rows(Path(folder))

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> PairRecord:
        row = self.rows[index]
        sides = {}
        for side in ("anchor", "target"):
            sides[side] = [
                RegionLabels(
                    mask=region["mask"],
                    bbox=region["bbox"],
                    distortion=region[f"{side}_distortion"],
                    severity=region[f"{side}_severity"],
                    score=region[f"{side}_score"],
                )
                for region in row["regions"]
            ]
        return PairRecord(
            tag=row["tag"],
            anchor_version=row["anchor_version"],
            target_version=row["target_version"],
            anchor_image=decode_image(row["anchor_image"]),
            target_image=decode_image(row["target_image"]),
            anchor_score=row["anchor_image_score"],
            target_score=row["target_image_score"],
            anchor_regions=sides["anchor"],
            target_regions=sides["target"],
            names=[region["name"] for region in row["regions"]],
            descriptions=[region.get("description") or "" for region in row["regions"]],
        )


class HFExportSource:
    """Every ordered pair of versions of each image of one split of an `export --layout hf`.

    Holds the split's version rows (encoded images, labels) in memory; for builds too large for
    that, train on `export --layout pandabench`, which `PandaBenchSource` reads file by file.
    """

    def __init__(self, export_dir: str | Path, split: str) -> None:
        root = Path(export_dir) / "data"
        self.references = {
            row["tag"]: row for row in parquet_rows(root / "references") if row["split"] == split
        }
        self.versions: dict[str, dict[str, dict[str, Any]]] = {}
        for path in sorted((root / "versions").glob(f"{split}-*.parquet")):
            for row in pq.read_table(path).to_pylist():
                self.versions.setdefault(row["tag"], {})[row["version"]] = row
        if not self.versions:
            raise InputNotFound(f"{root / 'versions'}: no rows for split {split!r}")
        self.pairs = [
            (tag, anchor, target)
            for tag in sorted(self.versions)
            for anchor, target in itertools.permutations(sorted(self.versions[tag]), 2)
        ]

    def __len__(self) -> int:
        return len(self.pairs)

    def _side(self, tag: str, version: str) -> list[RegionLabels]:
        regions = self.references[tag]["regions"]
        labels = self.versions[tag][version]["regions"]
        return [
            RegionLabels(
                mask=region["mask"],
                bbox=region["bbox"],
                distortion=label["distortion"],
                severity=label["severity"],
                score=label["score"],
            )
            for region, label in zip(regions, labels, strict=True)
        ]

    def __getitem__(self, index: int) -> PairRecord:
        tag, anchor, target = self.pairs[index]
        reference = self.references[tag]
        return PairRecord(
            tag=tag,
            anchor_version=anchor,
            target_version=target,
            anchor_image=decode_image(self.versions[tag][anchor]["image"]),
            target_image=decode_image(self.versions[tag][target]["image"]),
            anchor_score=self.versions[tag][anchor]["image_score"],
            target_score=self.versions[tag][target]["image_score"],
            anchor_regions=self._side(tag, anchor),
            target_regions=self._side(tag, target),
            names=[region["name"] for region in reference["regions"]],
            descriptions=[region.get("description") or "" for region in reference["regions"]],
            relations=relation_triples(reference["relations"]),
        )


class SubsetSource:
    """A seeded random subset of another source's pairs, in the source's order."""

    def __init__(self, source: Any, size: int, seed: int) -> None:
        picked = np.random.default_rng(seed).permutation(len(source))[:size]
        self.source = source
        self.indices = sorted(int(i) for i in picked)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> PairRecord:
        return self.source[self.indices[index]]


def open_pairs(path: str | Path, split: str, mode: str = "all") -> Any:
    """The pairs under `path`: a bench folder, an `hf` export, or a PandaBench layout."""
    from pandaset_build.panda.pandabench import PandaBenchSource

    root = Path(path)
    if (root / "stats").is_dir():
        return PandaBenchSource(root, split, mode)
    if (root / "data" / "versions").is_dir():
        return HFExportSource(root, split)
    if any(root.rglob("*.parquet")):
        return BenchSource(root)
    raise InputNotFound(
        f"{root}: not a bench folder, an `export --layout hf` or an `export --layout pandabench`"
    )
