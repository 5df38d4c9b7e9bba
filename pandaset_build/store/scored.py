"""Reading a scored build back, one image at a time: source record, plans and scores per version.

Plans and scores are joined by tag, never by file name, so the two stages may shard alike or not.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from itertools import groupby
from pathlib import Path

import pyarrow.parquet as pq

from pandaset_build.errors import MissingStageOutputs
from pandaset_build.store.build import Build
from pandaset_build.store.catalog import read_sources, source_index
from pandaset_build.store.predicates import predicate_vocabulary
from pandaset_build.store.records import (
    RegionPlan,
    Row,
    ScoreProvenance,
    ScoreRow,
    SourceRecord,
)
from pandaset_build.store.tables import parquet_files

MAX_NAMED = 10


def name_some(items: list[str]) -> str:
    """The first few items and the total count, for error messages."""
    shown = ", ".join(items[:MAX_NAMED])
    more = f" and {len(items) - MAX_NAMED} more" if len(items) > MAX_NAMED else ""
    return f"{shown}{more} ({len(items)} in all)"


@dataclass(frozen=True)
class ScoredImage:
    """One image with, per version, its region plans and scores (region order = index)."""

    source: SourceRecord
    plans: dict[str, list[RegionPlan]]
    region_scores: dict[str, list[float]]
    image_scores: dict[str, float]
    provenance: dict[str, ScoreProvenance]  # per version, as its image score records it

    @property
    def tag(self) -> str:
        return self.source.tag

    @property
    def split(self) -> str:
        return self.source.split


def _files_by_tag(folder: Path) -> dict[str, Path]:
    """Tag -> the parquet file of `folder` holding its rows."""
    found: dict[str, Path] = {}
    for path in parquet_files(folder):
        for tag in pq.read_table(path, columns=["tag"]).column("tag").unique().to_pylist():
            found[tag] = path
    return found


def _rows(path: Path, tags: list[str]) -> list[Row]:
    return pq.read_table(path, filters=[("tag", "in", tags)]).to_pylist()


class ScoredBuild:
    """Index of a build's sources, plans and scores by tag; streams or fetches images."""

    def __init__(self, build: Build) -> None:
        self.build = build
        self.versions = list(build.recipe.versions)
        self.source_file = dict(source_index(build))
        self.plan_file = _files_by_tag(build.layout.plans)
        self.score_file = _files_by_tag(build.layout.scores)
        self.split_of: dict[str, str] = {}
        for path in sorted(set(self.score_file.values())):
            table = pq.read_table(path, columns=["tag", "split"])
            unique = table.group_by(["tag", "split"]).aggregate([])
            tags, splits = unique.column("tag").to_pylist(), unique.column("split").to_pylist()
            self.split_of.update(zip(tags, splits, strict=True))

    @cached_property
    def predicates(self) -> list[str]:
        """The build's predicate names by id (`store.predicates.predicate_vocabulary`)."""
        return predicate_vocabulary(self.build)

    @cached_property
    def predicate_id(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.predicates)}

    def check(self) -> None:
        """Raise MissingStageOutputs naming the images that have plans but no scores."""
        root = self.build.root
        if not self.plan_file:
            raise MissingStageOutputs(f"{root}: no plans yet: run `distort`, then `score`")
        unscored = sorted(tag for tag in self.plan_file if tag not in self.split_of)
        if unscored:
            raise MissingStageOutputs(
                f"{root}: scores are missing for images {name_some(unscored)}; run `score`"
            )

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
        """Every scored image in tag order, one run of tags sharing files in memory at a time."""
        tags = [t for t in sorted(self.plan_file) if split is None or self.split_of.get(t) == split]
        files = lambda tag: (self.plan_file[tag], self.score_file.get(tag))  # noqa: E731
        for _, run in groupby(tags, key=files):
            yield from self._load(list(run))

    def image(self, tag: str) -> ScoredImage:
        """One image, reading only its rows."""
        return self._load([tag])[0]

    def _load(self, tags: list[str]) -> list[ScoredImage]:
        """Images of tags whose plans share one file and whose scores share one file."""
        score_file = self.score_file.get(tags[0])
        if score_file is None:
            self.check()
        plans: dict[str, list[RegionPlan]] = defaultdict(list)
        for row in _rows(self.plan_file[tags[0]], tags):
            plans[row["tag"]].append(RegionPlan.from_row(row))
        scores: dict[str, list[ScoreRow]] = defaultdict(list)
        for row in _rows(score_file, tags):
            scores[row["tag"]].append(ScoreRow.from_row(row))
        sources = {
            s.tag: s for s in read_sources(tuple((t, str(self.source_file[t])) for t in tags))
        }
        return [self._assemble(sources[t], plans[t], scores[t]) for t in tags]

    def _assemble(
        self, source: SourceRecord, plans: list[RegionPlan], scores: list[ScoreRow]
    ) -> ScoredImage:
        source.split = self.split_of[source.tag]
        n = len(source.regions)
        by_version: dict[str, list[RegionPlan | None]] = {v: [None] * n for v in self.versions}
        region_scores: dict[str, list[float]] = {v: [math.nan] * n for v in self.versions}
        image_scores: dict[str, float] = {}
        provenance: dict[str, ScoreProvenance] = {}
        for plan in plans:
            by_version[plan.version][plan.region_id] = plan
        for row in scores:
            if row.region_id is None:
                image_scores[row.version] = row.score
                provenance[row.version] = row.provenance
            else:
                region_scores[row.version][row.region_id] = row.score
        missing = [f"{v}/image" for v in self.versions if v not in image_scores]
        missing += [
            f"{v}/{i}"
            for v in self.versions
            for i in range(n)
            if by_version[v][i] is None or math.isnan(region_scores[v][i])
        ]
        if missing:
            raise MissingStageOutputs(
                f"{source.tag}: plans or scores missing for {name_some(missing)}; "
                "run `distort` and `score` again"
            )
        complete = {v: [p for p in plans if p is not None] for v, plans in by_version.items()}
        return ScoredImage(source, complete, region_scores, image_scores, provenance)

    def score_identity(self) -> dict[str, list[str]]:
        """Distinct values of each provenance column recorded with the scores."""
        found: dict[str, set[str]] = {name: set() for name in ScoreProvenance.__dataclass_fields__}
        for path in sorted(set(self.score_file.values())):
            names = set(pq.read_schema(path).names)  # builds scored before provenance lack some
            table = pq.read_table(path, columns=[c for c in found if c in names])
            for column in table.column_names:
                found[column].update(
                    str(v) for v in table.column(column).unique().to_pylist() if v is not None
                )
        return {column: sorted(values) for column, values in found.items()}
