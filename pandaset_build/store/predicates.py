"""The predicate vocabulary of a build: the ids the sources give, then the names without one."""

from __future__ import annotations

import json

import pyarrow.parquet as pq

from pandaset_build.store.build import Build
from pandaset_build.store.records import Relation
from pandaset_build.store.tables import parquet_files

PREDICATE_FILE = "predicate_classes.json"


def recorded_predicates(build: Build) -> dict[int, str]:
    """Predicate names by id as ingest recorded them for sources that number them (PSG)."""
    by_id: dict[int, str] = {}
    for folder in sorted(p for p in build.layout.sources.iterdir() if p.is_dir()):
        path = build.layout.source_predicates(folder.name)
        if path.is_file():
            names = json.loads(path.read_text(encoding="utf-8"))
            by_id.update((i, str(name)) for i, name in enumerate(names) if i not in by_id)
    return by_id


def predicate_vocabulary(build: Build) -> list[str]:
    """Predicate names by id: the source's own ids and names (PSG's `predicate_classes`, all
    of them, as ingest recorded them) where the source has them, then any names without an id,
    sorted, after the largest id; an id no source names is `unused_<id>`."""
    by_id = recorded_predicates(build)
    unnumbered: set[str] = set()
    for path in parquet_files(build.layout.sources):
        for relations in pq.read_table(path, columns=["relations"]).column(0).to_pylist():
            for relation in map(Relation.from_row, relations or []):
                if relation.predicate_id >= 0:
                    by_id.setdefault(relation.predicate_id, relation.predicate)
                else:
                    unnumbered.add(relation.predicate)
    size = max(by_id, default=-1) + 1
    names = [by_id.get(i, f"unused_{i}") for i in range(size)]
    return names + sorted(unnumbered - set(names))
