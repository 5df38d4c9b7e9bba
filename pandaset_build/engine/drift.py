"""Inputs that cannot drift: completion records checked against the files they stamped.

Every completion record keeps the stamp of each file its shard read and wrote
(`engine.shards`). Before a stage runs, the records of the stages it reads from are checked
against the disk (`check_upstream`), and so are its own (`engine.stage`): a changed file is an
error that names it and the rerun that redoes the shards that used it, never a silent mix.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pyarrow.parquet as pq

from pandaset_build.engine.shards import ShardRecord, make_shards, stamp_path
from pandaset_build.errors import InputsChanged, MissingStageOutputs
from pandaset_build.store.build import Build
from pandaset_build.store.fingerprints import unchanged
from pandaset_build.store.tables import parquet_files

INGEST = "ingest"
PIPELINE = (INGEST, "depth", "distort", "score")  # the sharded stages, in order
RETRY = "--retry-failed"
SHOWN = 5


def name_some(items: Sequence[str]) -> str:
    """The first few items, and how many more there are."""
    more = f" and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return ", ".join(items[:SHOWN]) + more


def load_records(build: Build, stage: str) -> list[ShardRecord]:
    """Every completion record of a stage, by shard name."""
    folder = build.layout.done_dir(stage)
    if not folder.is_dir():
        return []
    return [
        ShardRecord.from_json(json.loads(path.read_text()))
        for path in sorted(folder.glob("*.json"))
    ]


def expand(build: Build, stages: Iterable[str]) -> list[str]:
    """Stage names with `ingest` replaced by the build's ingest parts (`ingest-<part>`)."""
    names: list[str] = []
    for stage in stages:
        if stage != INGEST:
            names.append(stage)
            continue
        done = build.layout.root / "_done"
        if done.is_dir():
            names.extend(sorted(p.name for p in done.iterdir() if p.name.startswith("ingest-")))
    return names


def stage_command(build: Build, stage: str) -> str:
    """The command that runs a stage (an ingest part: with the options it was read with)."""
    if stage.startswith(f"{INGEST}-"):
        part = build.layout.source_part(stage.removeprefix(f"{INGEST}-"))
        if part.is_file():
            return str(json.loads(part.read_text())["command"])
        return INGEST
    return stage


@dataclass
class FileCheck:
    """Checks stamps against the disk, each file once (many records read the same file)."""

    build: Build
    seen: dict[tuple[str, str], bool] = field(default_factory=dict)

    def changed(self, record: ShardRecord) -> list[str]:
        """Keys of the files the record stamped that are not what they were."""
        out = []
        for key, recorded in (*record.inputs.items(), *record.outputs.items()):
            token = (key, json.dumps(recorded))
            if token not in self.seen:
                self.seen[token] = unchanged(stamp_path(self.build, key), recorded)
            if not self.seen[token]:
                out.append(key)
        return sorted(set(out))


def changed_message(stage: str, command: str, files: list[str], shards: list[str]) -> str:
    return (
        f"{name_some(files)}: changed since `{stage}` read or wrote them (shards "
        f"{name_some(shards)}); rerun `{command} {RETRY}` to redo those shards"
    )


def check_upstream(build: Build, stages: Sequence[str], current: str | None = None) -> None:
    """Raise InputsChanged when a file recorded by one of `stages` changed since.

    The message names the rerun of the stage that used the files, then of each later stage up
    to `current` (the stage about to run; None for a command that only reads the stages)."""
    check = FileCheck(build)
    for stage in expand(build, stages):
        files: set[str] = set()
        shards = []
        for record in load_records(build, stage):
            changed = check.changed(record)
            if changed:
                files.update(changed)
                shards.append(record.shard)
        if files:
            base = INGEST if stage.startswith(f"{INGEST}-") else stage
            later = [s for s in PIPELINE[PIPELINE.index(base) + 1 :] if s in (*stages, current)]
            then = "".join(f", then `{s} {RETRY}`" for s in later)
            message = changed_message(stage, stage_command(build, stage), sorted(files), shards)
            raise InputsChanged(message + then)


def require_finished(
    build: Build, stage: str, tags: Sequence[str], then: str, fingerprint: str = ""
) -> None:
    """Raise MissingStageOutputs (nothing recorded) unless every shard of `stage` is done."""
    shards = make_shards(stage, list(tags), list(tags), build.recipe.shard_size)
    by_name = {r.shard: r for r in load_records(build, stage)}
    missing = [
        s
        for s in shards
        if s.name not in by_name
        or tuple(by_name[s.name].tags) != s.tags
        or by_name[s.name].fingerprint != fingerprint
    ]
    if missing:
        images = sum(len(s.tags) for s in missing)
        raise MissingStageOutputs(
            f"{build.root}: `{stage}` has not finished ({len(missing)} of {len(shards)} shards, "
            f"{images} images, not done): run `{stage}` first (it resumes), then `{then}`"
        )


def check_one_metric(build: Build) -> None:
    """Raise InputsChanged when the build's scores come from more than one metric setting."""
    by_setting: dict[str, list[str]] = {}
    for record in load_records(build, "score"):
        by_setting.setdefault(record.fingerprint, []).append(f"scores/{record.shard}.parquet")
    if len(by_setting) <= 1:
        by_setting = {}
        for path in parquet_files(build.layout.scores):
            table = pq.read_table(path, columns=["metric", "weights"])
            for metric, weights in set(zip(*table.to_pydict().values(), strict=True)):
                by_setting.setdefault(f"{metric} ({weights})", []).append(path.name)
    if len(by_setting) > 1:
        made = "; ".join(f"{setting}: {name_some(files)}" for setting, files in by_setting.items())
        raise InputsChanged(
            f"{build.layout.scores}: scored with more than one metric setting ({made}); every "
            f"score of a build must come from one metric: rerun `score --metric NAME {RETRY}` "
            "to rescore the other shards with it"
        )
