"""A pipeline stage as the engine runs it: skip finished shards, run the rest, report."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pandaset_build.engine.executors import Executor
from pandaset_build.engine.shards import (
    Failure,
    OptionsT,
    Shard,
    ShardFunction,
    ShardRecord,
    ShardTask,
    read_record,
)
from pandaset_build.store.build import Build, build_lock


@dataclass
class StageReport:
    """Every shard's record of one stage run, and failures found before the shards ran."""

    stage: str
    records: list[ShardRecord]
    seconds: float
    extra_failures: list[Failure] = field(default_factory=list)

    @property
    def failures(self) -> list[Failure]:
        return [*self.extra_failures, *(f for r in self.records for f in r.failures)]

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


@dataclass(frozen=True)
class Stage(Generic[OptionsT]):
    """A named stage and the module-level function that does one shard of its work."""

    name: str
    shard_function: ShardFunction[OptionsT]

    def run(
        self,
        build: Build,
        shards: Iterable[Shard],
        options: OptionsT,
        executor: Executor,
        *,
        fingerprint: str = "",
        console: Console | None = None,
    ) -> StageReport:
        """Run every shard without a valid completion record; completed shards are skipped.

        `fingerprint` names the settings that change the stage's outputs (e.g. the metric): a
        shard completed with other settings is run again.
        """
        start = time.perf_counter()
        records: list[ShardRecord] = []
        tasks: list[ShardTask[OptionsT]] = []
        for shard in shards:
            done = read_record(build, shard, fingerprint)
            if done is None:
                tasks.append(ShardTask(self.shard_function, build, shard, options, fingerprint))
            else:
                done.skipped = True
                records.append(done)
        progress = Progress(
            TextColumn(f"[bold]{self.name}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("shards"),
            TimeElapsedColumn(),
            console=console or Console(stderr=True, soft_wrap=True),
            transient=True,
        )
        with build_lock(build.root), progress:
            bar = progress.add_task(self.name, total=len(tasks))
            for record in executor.run(tasks):
                records.append(record)
                progress.advance(bar)
        records.sort(key=lambda r: r.shard)
        return StageReport(self.name, records, time.perf_counter() - start)
