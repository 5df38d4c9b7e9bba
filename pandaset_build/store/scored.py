"""Reading a scored build one image at a time: source row, per-version plans and scores."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from pandaset_build.store.build import Build
from pandaset_build.store.tables import parquet_files

MAX_NAMED = 10


class MissingScores(RuntimeError):
    """The build lacks stage outputs an export needs; the message names shards and tags."""


def name_some(items: list[str]) -> str:
    """The first few items and the total count, for error messages."""
    shown = ", ".join(items[:MAX_NAMED])
    more = f" and {len(items) - MAX_NAMED} more" if len(items) > MAX_NAMED else ""
    return f"{shown}{more} ({len(items)} in all)"


@dataclass(frozen=True)
class ScoredImage:
    """One image with, per version, its region plans and scores (region order = index)."""

    source: dict[str, Any]
    plans: dict[str, list[dict[str, Any]]]
    region_scores: dict[str, list[float]]
    image_scores: dict[str, float]

    @property
    def tag(self) -> str:
        return self.source["tag"]

    @property
    def split(self) -> str:
        return self.source["split"]


class ScoredBuild:
    """Index of a build's sources, plans and scores; streams or fetches images."""

    def __init__(self, build: Build) -> None:
        self.build = build
        self.versions = list(build.recipe.versions)
        self.source_file: dict[str, Path] = {}
        for path in parquet_files(build.path("sources")):
            for tag in pq.read_table(path, columns=["tag"]).column("tag").to_pylist():
                self.source_file[tag] = path
        self.plan_shards = parquet_files(build.path("plans"))
        self.plan_shard: dict[str, Path] = {}
        for path in self.plan_shards:
            for tag in set(pq.read_table(path, columns=["tag"]).column("tag").to_pylist()):
                self.plan_shard[tag] = path
        self.split_of: dict[str, str] = {}
        for path in self.plan_shards:
            scores = self.scores_path(path)
            if scores.exists():
                table = pq.read_table(scores, columns=["tag", "split"])
                unique = table.group_by(["tag", "split"]).aggregate([])
                tags, splits = unique.column("tag").to_pylist(), unique.column("split").to_pylist()
                self.split_of.update(zip(tags, splits, strict=True))

    def scores_path(self, plans: Path) -> Path:
        return self.build.path("scores", plans.name)

    def check(self) -> None:
        """Raise MissingScores naming plan shards without scores and tags without score rows."""
        if not self.plan_shards:
            raise MissingScores(f"{self.build.root}: no plans: run `distort` and `score` first")
        shards = [p for p in self.plan_shards if not self.scores_path(p).exists()]
        tags = sorted(tag for tag in self.plan_shard if tag not in self.split_of)
        if shards or tags:
            lines = [f"{self.build.root}: scores are missing; run `score` first."]
            if shards:
                names = [f"scores/{p.name} (for plans/{p.name})" for p in shards]
                lines.append(f"missing score shards: {name_some(names)}")
            if tags:
                lines.append(f"images without score rows: {name_some(tags)}")
            raise MissingScores("\n".join(lines))

    def tags(self, split: str | None = None) -> list[str]:
        """Sorted tags of scored images, optionally of one split."""
        return sorted(t for t, s in self.split_of.items() if split is None or s == split)

    def count(self, split: str) -> int:
        return sum(s == split for s in self.split_of.values())

    @property
    def splits(self) -> list[str]:
        present = set(self.split_of.values())
        return [s for s in self.build.recipe.splits if s in present]

    def iter_images(self, split: str | None = None) -> Iterator[ScoredImage]:
        """Every scored image in tag order, one plan shard in memory at a time."""
        for path in self.plan_shards:
            tags = sorted(t for t, p in self.plan_shard.items() if p == path)
            tags = [t for t in tags if split is None or self.split_of.get(t) == split]
            if tags:
                yield from self._load(path, tags)

    def image(self, tag: str) -> ScoredImage:
        """One image, reading only its rows."""
        return self._load(self.plan_shard[tag], [tag])[0]

    def _load(self, plans_path: Path, tags: list[str]) -> list[ScoredImage]:
        wanted = [("tag", "in", tags)]
        plans = pq.read_table(plans_path, filters=wanted).to_pylist()
        scores = pq.read_table(self.scores_path(plans_path), filters=wanted).to_pylist()
        sources: dict[str, dict[str, Any]] = {}
        by_file: dict[Path, list[str]] = defaultdict(list)
        for tag in tags:
            by_file[self.source_file[tag]].append(tag)
        for path, file_tags in by_file.items():
            for row in pq.read_table(path, filters=[("tag", "in", file_tags)]).to_pylist():
                sources[row["tag"]] = row
        plans_by: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in plans:
            plans_by[row["tag"]].append(row)
        scores_by: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in scores:
            scores_by[row["tag"]].append(row)
        return [self._assemble(sources[t], plans_by[t], scores_by[t]) for t in tags]

    def _assemble(
        self, source: dict[str, Any], plans: list[dict[str, Any]], scores: list[dict[str, Any]]
    ) -> ScoredImage:
        source = {**source, "split": self.split_of[source["tag"]]}
        n = len(source["regions"])
        by_version: dict[str, list[dict[str, Any]]] = {v: [{}] * n for v in self.versions}
        region_scores: dict[str, list[float]] = {v: [float("nan")] * n for v in self.versions}
        image_scores: dict[str, float] = {}
        for row in plans:
            by_version[row["version"]][row["region_id"]] = row
        for row in scores:
            if row["region_id"] is None:
                image_scores[row["version"]] = row["score"]
            else:
                region_scores[row["version"]][row["region_id"]] = row["score"]
        missing = [f"{v}/image" for v in self.versions if v not in image_scores]
        missing += [
            f"{v}/{i}"
            for v in self.versions
            for i in range(n)
            if not by_version[v][i] or math.isnan(region_scores[v][i])
        ]
        if missing:
            raise MissingScores(
                f"{source['tag']}: plans or scores missing for {name_some(missing)}; "
                "run `distort` and `score` again"
            )
        return ScoredImage(source, by_version, region_scores, image_scores)

    def score_identity(self) -> dict[str, list[str]]:
        """Distinct metric, pyiqa version and weights recorded with the scores."""
        found: dict[str, set[str]] = {"metric": set(), "pyiqa_version": set(), "weights": set()}
        for path in self.plan_shards:
            table = pq.read_table(self.scores_path(path), columns=list(found))
            for column, values in found.items():
                values.update(str(v) for v in table.column(column).unique().to_pylist())
        return {column: sorted(values) for column, values in found.items()}
