"""Shards, per-item outcomes and completion records: the unit of work of every stage.

A shard's completion record `_done/<stage>/<shard>.json` is written last, by the task that did
the work; it is the only thing a rerun trusts (`read_record`). It keeps the stamp (size, mtime,
SHA-256) of every file the shard read and wrote, so a later change is noticed (`engine.drift`).
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pandaset_build.engine import progress
from pandaset_build.store.atomic import write_json_atomic
from pandaset_build.store.build import Build
from pandaset_build.store.fingerprints import Stamp, stamp
from pandaset_build.store.oserrors import error_number, explain

OptionsT = TypeVar("OptionsT")


@dataclass(frozen=True)
class Shard:
    """One unit of scheduling: a stage's work for a contiguous run of sorted tags."""

    stage: str
    index: int
    tags: tuple[str, ...]
    items: tuple[Any, ...]

    @property
    def name(self) -> str:
        return f"{self.index:05d}"


@dataclass(frozen=True)
class Failure:
    """One item that could not be used: its file and why."""

    file: str
    reason: str


@dataclass
class ShardOutcome:
    """What a shard function reports: item counts, per-item failures, files read and written."""

    counts: dict[str, int] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)

    def add(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n
        progress.emit(key, n)

    def fail(self, file: str, reason: str) -> None:
        """Record a failed item (counted as `failed`)."""
        self.failures.append(Failure(file, reason))
        self.add("failed")

    def read(self, *paths: str | Path | None) -> None:
        """Note input files (absent ones too): their stamps go into the completion record."""
        self.inputs.extend(str(p) for p in paths if p is not None)

    def wrote(self, *paths: str | Path) -> None:
        """Note output files: their stamps go into the completion record."""
        self.outputs.extend(str(p) for p in paths)


@dataclass
class ShardRecord:
    """A shard's completion record (written) or the outcome of a shard that raised (not)."""

    stage: str
    shard: str
    tags: list[str]
    counts: dict[str, int]
    failures: list[Failure]
    seconds: float
    fingerprint: str = ""
    skipped: bool = False
    error: str | None = None
    fault_errno: int | None = None  # a file-system error of a shard that raised (never written)
    fault_path: str | None = None
    inputs: dict[str, Stamp | None] = field(default_factory=dict)
    outputs: dict[str, Stamp | None] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ShardRecord:
        failures = [Failure(**f) for f in data.get("failures", [])]
        return cls(**{**data, "failures": failures})

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("fault_errno", "fault_path"):
            if data[key] is None:
                del data[key]
        return data

    @property
    def images(self) -> int:
        return self.counts.get("images", 0)


def stamp_key(build: Build, path: str | Path, root: Path | None = None) -> str:
    """How a file is named in a record: relative to the build inside it, else absolute."""
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(root or build.root.resolve()).as_posix()
    except ValueError:
        return str(resolved)


def stamp_path(build: Build, key: str) -> Path:
    """The file a record's key names (the inverse of `stamp_key`)."""
    path = Path(key)
    return path if path.is_absolute() else build.root / path


def stamps(build: Build, paths: Sequence[str]) -> dict[str, Stamp | None]:
    """Key -> stamp of every file, in sorted key order."""
    root = build.root.resolve()
    keys = {stamp_key(build, p, root): p for p in paths}
    return {key: stamp(keys[key]) for key in sorted(keys)}


ShardFunction = Callable[[Build, Shard, OptionsT], ShardOutcome]


@dataclass(frozen=True)
class ShardTask(Generic[OptionsT]):
    """Everything a worker needs to run one shard; picklable for processes and Ray."""

    function: ShardFunction[OptionsT]
    build: Build
    shard: Shard
    options: OptionsT
    fingerprint: str = ""


def make_shards(stage: str, tags: Sequence[str], items: Sequence[Any], size: int) -> list[Shard]:
    """Group items into shards of `size` in sorted tag order."""
    order = sorted(range(len(tags)), key=lambda i: tags[i])
    return [
        Shard(
            stage=stage,
            index=start // size,
            tags=tuple(tags[i] for i in order[start : start + size]),
            items=tuple(items[i] for i in order[start : start + size]),
        )
        for start in range(0, len(order), size)
    ]


def read_record(build: Build, shard: Shard, fingerprint: str | None = "") -> ShardRecord | None:
    """The completion record of a shard, if it covers the same tags with the same settings.

    With `fingerprint` None the settings are not compared (the caller does).
    """
    path = build.layout.done_record(shard.stage, shard.name)
    if not path.exists():
        return None
    record = ShardRecord.from_json(json.loads(path.read_text()))
    same = tuple(record.tags) == shard.tags
    if fingerprint is not None:
        same = same and record.fingerprint == fingerprint
    return record if same else None


def run_shard_task(task: ShardTask[Any]) -> ShardRecord:
    """Run one shard and write its completion record last; the same function on every executor."""
    start = time.perf_counter()
    progress.begin(task.shard.stage, task.shard.name)
    try:
        return _run_and_record(task, start)
    except OSError as err:
        explained = explain(err, task.build.root)
        if explained is None:
            return lost_record(task, _with_traceback(err), time.perf_counter() - start)
        record = lost_record(task, str(explained), time.perf_counter() - start)
        record.fault_errno = error_number(err)
        record.fault_path = err.filename if err.filename is not None else str(task.build.root)
        return record
    except Exception as err:
        return lost_record(task, _with_traceback(err), time.perf_counter() - start)


def _with_traceback(err: Exception) -> str:
    return f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=4)}"


def _run_and_record(task: ShardTask[Any], start: float) -> ShardRecord:
    outcome = task.function(task.build, task.shard, task.options)
    record = ShardRecord(
        stage=task.shard.stage,
        shard=task.shard.name,
        tags=list(task.shard.tags),
        counts=outcome.counts,
        failures=list(outcome.failures),
        seconds=round(time.perf_counter() - start, 4),
        fingerprint=task.fingerprint,
        inputs=stamps(task.build, outcome.inputs),
        outputs=stamps(task.build, outcome.outputs),
    )
    path = task.build.layout.done_record(record.stage, record.shard)
    write_json_atomic(path, record.to_json())
    return record


def lost_record(task: ShardTask[Any], error: str, seconds: float = 0.0) -> ShardRecord:
    """The (unwritten) record of a shard that raised or whose worker died: a rerun redoes it."""
    return ShardRecord(
        stage=task.shard.stage,
        shard=task.shard.name,
        tags=list(task.shard.tags),
        counts={},
        failures=[],
        seconds=seconds,
        error=error,
    )
