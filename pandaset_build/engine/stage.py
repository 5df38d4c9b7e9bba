"""Shard engine: shards in sorted tag order, completion records, local process-pool executor."""

from __future__ import annotations

import json
import multiprocessing
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pandaset_build.store.build import Build, build_lock, write_json_atomic


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


@dataclass
class Failure:
    file: str
    reason: str


@dataclass
class ShardOutcome:
    """What a shard function reports: item counts by kind and per-item failures."""

    counts: dict[str, int] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)

    def add(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n


@dataclass
class ShardRecord:
    stage: str
    shard: str
    tags: list[str]
    counts: dict[str, int]
    failures: list[dict[str, str]]
    seconds: float
    fingerprint: str = ""
    skipped: bool = False
    error: str | None = None


ShardFunction = Callable[[Build, Shard, dict[str, Any]], ShardOutcome]


@dataclass(frozen=True)
class ShardTask:
    """Everything a worker needs to run one shard; picklable for processes and Ray."""

    function: ShardFunction
    build: Build
    shard: Shard
    options: dict[str, Any]
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


def record_path(build: Build, stage: str, shard: str) -> Path:
    return build.done_dir / stage / f"{shard}.json"


def read_record(build: Build, shard: Shard, fingerprint: str = "") -> ShardRecord | None:
    """The completion record of a shard, if it covers the same tags with the same settings."""
    path = record_path(build, shard.stage, shard.name)
    if not path.exists():
        return None
    record = ShardRecord(**json.loads(path.read_text()))
    same = tuple(record.tags) == shard.tags and record.fingerprint == fingerprint
    return record if same else None


def run_shard_task(task: ShardTask) -> ShardRecord:
    """Run one shard and write its completion record last; the same function on every executor."""
    start = time.perf_counter()
    try:
        outcome = task.function(task.build, task.shard, task.options)
    except Exception as err:
        error = f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=4)}"
        return lost_record(task, error, time.perf_counter() - start)
    record = ShardRecord(
        stage=task.shard.stage,
        shard=task.shard.name,
        tags=list(task.shard.tags),
        counts=outcome.counts,
        failures=[asdict(f) for f in outcome.failures],
        seconds=round(time.perf_counter() - start, 4),
        fingerprint=task.fingerprint,
    )
    write_json_atomic(record_path(task.build, record.stage, record.shard), asdict(record))
    return record


def lost_record(task: ShardTask, error: str, seconds: float = 0.0) -> ShardRecord:
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


class Executor(Protocol):
    def run(self, tasks: list[ShardTask]) -> Iterator[ShardRecord]: ...


class LocalExecutor:
    """Runs shard tasks in this process (workers=1) or in a spawn-started process pool."""

    def __init__(self, workers: int = 1) -> None:
        if workers < 1:
            raise ValueError(f"--workers must be at least 1, got {workers}")
        self.workers = workers

    def run(self, tasks: list[ShardTask]) -> Iterator[ShardRecord]:
        if self.workers == 1 or len(tasks) <= 1:
            yield from map(run_shard_task, tasks)
            return
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(self.workers, mp_context=context) as pool:
            futures = {pool.submit(run_shard_task, task): task for task in tasks}
            for future in as_completed(futures):
                try:
                    yield future.result()
                except BrokenProcessPool as err:
                    yield lost_record(futures[future], f"worker process died: {err}")


@dataclass
class StageReport:
    stage: str
    records: list[ShardRecord]
    seconds: float
    extra_failures: list[Failure] = field(default_factory=list)

    @property
    def failures(self) -> list[dict[str, str]]:
        listed = [asdict(f) for f in self.extra_failures]
        return listed + [f for r in self.records for f in r.failures]

    @property
    def errors(self) -> list[ShardRecord]:
        return [r for r in self.records if r.error]

    @property
    def ok(self) -> bool:
        return not self.failures and not self.errors

    def totals(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for record in self.records:
            for key, n in record.counts.items():
                totals[key] = totals.get(key, 0) + n
        return totals


def run_stage(
    build: Build,
    stage: str,
    shards: Iterable[Shard],
    function: ShardFunction,
    options: dict[str, Any],
    executor: Executor,
    console: Console | None = None,
    fingerprint: str = "",
) -> StageReport:
    """Run every shard without a valid completion record; completed shards are skipped.

    `fingerprint` names the settings that change a stage's outputs (e.g. the metric): a shard
    completed with other settings is run again.
    """
    start = time.perf_counter()
    records: list[ShardRecord] = []
    tasks: list[ShardTask] = []
    for shard in shards:
        done = read_record(build, shard, fingerprint)
        if done is None:
            tasks.append(ShardTask(function, build, shard, options, fingerprint))
        else:
            done.skipped = True
            records.append(done)
    console = console or Console(stderr=True, soft_wrap=True)
    progress = Progress(
        TextColumn(f"[bold]{stage}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("shards"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    with build_lock(build.root), progress:
        bar = progress.add_task(stage, total=len(tasks))
        for record in executor.run(tasks):
            records.append(record)
            progress.advance(bar)
    records.sort(key=lambda r: r.shard)
    return StageReport(stage, records, time.perf_counter() - start)
