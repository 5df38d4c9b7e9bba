"""Pairs of one split of an `export --layout hf`: images and labels from `versions`, regions from
`references`, and the comparison labels the build wrote from `pairs`."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from pandaset_build.errors import InputNotFound
from pandaset_build.pairsets.record import PairRecord, PairRegion, SideLabels
from pandaset_build.store.records import Row
from pandaset_build.store.tables import parquet_files

PairKey = tuple[str, str, str]  # (tag, anchor version, target version)


def _split_rows(folder: Path, split: str) -> list[Row]:
    files = [p for p in parquet_files(folder) if p.name.startswith(f"{split}-")]
    return [row for path in files for row in pq.read_table(path).to_pylist()]


class PairLabels:
    """The `pairs` table of one split: per ordered pair its image and region comparisons."""

    def __init__(self, folder: Path, split: str) -> None:
        files = [p for p in parquet_files(folder) if p.name.startswith(f"{split}-")]
        columns = ["tag", "anchor_version", "target_version", "image_comparison", "regions"]
        tables = [pq.read_table(p, columns=columns) for p in files]
        self.rows: dict[PairKey, int] = {}
        self.image: list[int] = []
        self.regions: list[list[int]] = []
        for table in tables:
            keys = zip(
                table.column("tag").to_pylist(),
                table.column("anchor_version").to_pylist(),
                table.column("target_version").to_pylist(),
                strict=True,
            )
            for key in keys:
                self.rows[key] = len(self.rows)
            self.image += table.column("image_comparison").to_pylist()
            per_region = pc.list_flatten(table.column("regions")).combine_chunks()
            offsets = pc.list_value_length(table.column("regions")).to_pylist()
            values = per_region.field("comparison").to_pylist()
            start = 0
            for length in offsets:
                self.regions.append(values[start : start + length])
                start += length

    def of(self, key: PairKey) -> tuple[int, list[int]]:
        """(image comparison, region comparisons) of one ordered pair."""
        row = self.rows.get(key)
        if row is None:
            raise InputNotFound(f"pairs table: no row for {key}; export the build again")
        return self.image[row], self.regions[row]


def numbered_predicates(references: Iterable[Row]) -> list[str] | None:
    """Predicate names by id from the references' relations (None when no relation has an id);
    an id no relation names is `unused_<id>`, as in the build's vocabulary."""
    by_id = {
        r["predicate_id"]: r["predicate"]
        for row in references
        for r in row["relations"] or []
        if r["predicate_id"] >= 0
    }
    if not by_id:
        return None
    return [by_id.get(i, f"unused_{i}") for i in range(max(by_id) + 1)]


class HFExportSource:
    """Every ordered pair of versions of each image of one split of an `export --layout hf`.

    Holds the split's version rows (encoded images, labels) in memory; for builds too large for
    that, train on `export --layout pandabench`, which `PandaBenchSource` reads file by file.
    """

    def __init__(self, export_dir: str | Path, split: str) -> None:
        root = Path(export_dir) / "data"
        self.references = {row["tag"]: row for row in _split_rows(root / "references", split)}
        self.versions: dict[str, dict[str, Row]] = {}
        for row in _split_rows(root / "versions", split):
            self.versions.setdefault(row["tag"], {})[row["version"]] = row
        if not self.versions:
            raise InputNotFound(f"{root / 'versions'}: no rows for split {split!r}")
        self.labels = PairLabels(root / "pairs", split)
        self.predicate_classes = numbered_predicates(self.references.values())
        self.pairs = [
            (tag, anchor, target)
            for tag in sorted(self.versions)
            for anchor, target in itertools.permutations(sorted(self.versions[tag]), 2)
        ]

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> PairRecord:
        tag, anchor, target = self.pairs[index]
        reference, sides = self.references[tag], self.versions[tag]
        image_comparison, comparisons = self.labels.of((tag, anchor, target))
        regions = [
            PairRegion(
                index=i,
                name=region["name"],
                bbox=tuple(region["bbox"]),  # type: ignore[arg-type]
                mask=region["mask"],
                anchor=SideLabels(a["distortion"], a["severity"], a["score"]),
                target=SideLabels(t["distortion"], t["severity"], t["score"]),
                comparison=comparison,
                description=region.get("description") or "",
                category_id=region["category_id"],
            )
            for i, (region, a, t, comparison) in enumerate(
                zip(
                    reference["regions"],
                    sides[anchor]["regions"],
                    sides[target]["regions"],
                    comparisons,
                    strict=True,
                )
            )
        ]
        return PairRecord(
            tag=tag,
            anchor_version=anchor,
            target_version=target,
            anchor_image=sides[anchor]["image"]["bytes"],
            target_image=sides[target]["image"]["bytes"],
            anchor_score=sides[anchor]["image_score"],
            target_score=sides[target]["image_score"],
            image_comparison=image_comparison,
            regions=regions,
            relations=[
                [r["subject"], r["object"], r["predicate_id"]] for r in reference["relations"] or []
            ],
        )
