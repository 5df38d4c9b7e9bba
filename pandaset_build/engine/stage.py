"""A pipeline stage as the engine runs it: check inputs, skip finished shards, run the rest."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from pandaset_build.engine import drift
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
from pandaset_build.errors import InputsChanged, MissingStageOutputs
from pandaset_build.store.build import Build, build_lock


@dataclass
class StageReport:
    """Every shard's record of one stage run, and failures found before the shards ran."""

    stage: str
    records: list[ShardRecord]
    seconds: float
    extra_failures: list[Failure] = field(default_factory=list)
    retried: int = 0
    notes: list[str] = field(default_factory=list)  # lines the summary prints (provenance)

    @property
    def done_with_failures(self) -> list[ShardRecord]:
        """Shards kept from an earlier run although their records list failures."""
        return [r for r in self.records if r.skipped and r.failures]

    @property
    def failures(self) -> list[Failure]:
        return [*self.extra_failures, *(f for r in self.records for f in r.failures)]

    @property
    def errors(self) -> list[ShardRecord]:
        return [r for r in self.records if r.error]

    @property
    def ok(self) -> bool:
        return not self.failures and not self.errors

    @property
    def faults(self) -> list[ShardRecord]:
        """Shards that stopped on a file-system error (no space, read-only, ...)."""
        return [r for r in self.records if r.fault_errno is not None]

    def bytes_needed(self) -> int | None:
        """About the bytes the shards that raised still have to write: the bytes per image the
        finished shards wrote, times the images of those that did not (None before any did)."""
        written = images = 0
        for record in self.records:
            if record.error:
                continue
            written += sum(s[0] for s in record.outputs.values() if s is not None)
            images += len(record.tags)
        if not images:
            return None
        left = sum(len(r.tags) for r in self.errors)
        return round(written / images * left)

    def totals(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for record in self.records:
            for key, n in record.counts.items():
                totals[key] = totals.get(key, 0) + n
        return totals


@dataclass
class StagePlan:
    """What a run will do: the tasks to run and the completion records it keeps."""

    tasks: list[ShardTask]
    kept: list[ShardRecord]
    retried: int = 0


@dataclass(frozen=True)
class Stage(Generic[OptionsT]):
    """A named stage, the module-level function that does one shard of its work, its inputs.

    `reads`: the stages whose outputs (and inputs) the shards read; their completion records
    are checked against the disk before anything runs. `after`: the stage that must have
    finished every shard first (nothing is recorded otherwise).
    """

    name: str
    shard_function: ShardFunction[OptionsT]
    reads: tuple[str, ...] = ()
    after: str = ""

    def plan(
        self,
        build: Build,
        shards: Iterable[Shard],
        options: OptionsT,
        *,
        fingerprint: str = "",
        retry_failed: bool = False,
    ) -> StagePlan:
        """Check the inputs and sort the shards into those to run and the records to keep.

        A shard runs when it has no completion record for its tags; with `retry_failed` also
        when its record lists failures, was made with other settings (`fingerprint`) or stamped
        files that changed since. Without it, such a changed or differently made shard is an
        InputsChanged error: nothing runs.
        """
        shards = list(shards)
        drift.check_upstream(build, self.reads, current=self.name)
        if self.after and not shards:
            raise MissingStageOutputs(
                f"{build.root}: no ingested images: run `ingest`, then `{self.after}`"
            )
        if self.after:
            tags = [tag for shard in shards for tag in shard.tags]
            drift.require_finished(build, self.after, tags, then=self.name)
        check = drift.FileCheck(build)
        plan = StagePlan([], [])
        stale: dict[str, list[str]] = {}
        settings: list[str] = []
        for shard in shards:
            done = read_record(build, shard, fingerprint=None)
            task = ShardTask(self.shard_function, build, shard, options, fingerprint)
            if done is None:
                plan.tasks.append(task)
                continue
            changed = check.changed(done)
            other = done.fingerprint != fingerprint
            if (changed or other or done.failures) and retry_failed:
                plan.tasks.append(task)
                plan.retried += 1
                continue
            if other:
                settings.append(f"{shard.name} ({done.fingerprint or 'none'})")
            elif changed:
                stale[shard.name] = changed
            done.skipped = True
            plan.kept.append(done)
        if settings:
            raise InputsChanged(
                f"{self.name}: shards {drift.name_some(settings)} were made with other settings "
                f"than this run's ({fingerprint or 'none'}); rerun with {drift.RETRY} to redo "
                "them with these settings, or with the settings they were made with"
            )
        if stale:
            files = sorted({f for changed in stale.values() for f in changed})
            command = drift.stage_command(build, self.name)
            raise InputsChanged(drift.changed_message(self.name, command, files, list(stale)))
        return plan

    def run(
        self,
        build: Build,
        shards: Iterable[Shard],
        options: OptionsT,
        executor: Executor,
        *,
        fingerprint: str = "",
        console: Console | None = None,
        retry_failed: bool = False,
        plan: StagePlan | None = None,
        units: dict[str, int] | None = None,
    ) -> StageReport:
        """Run every shard without a valid completion record (see `plan`); report all shards.

        `fingerprint` names the settings that change the stage's outputs (e.g. the metric).
        Progress counts images (and any count key of `units`, with its total) as they are done.
        """
        start = time.perf_counter()
        with build_lock(build.root):
            if plan is None:
                plan = self.plan(
                    build, shards, options, fingerprint=fingerprint, retry_failed=retry_failed
                )
            records = list(plan.kept)
            bars = ItemBars(self.name, plan.tasks, units or {}, console)
            with bars:
                for record in executor.run(plan.tasks, progress=bars.tick):
                    records.append(record)
                    bars.finish(record)
        records.sort(key=lambda r: r.shard)
        return StageReport(self.name, records, time.perf_counter() - start, retried=plan.retried)


class RateColumn(ProgressColumn):
    """Items per second so far."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.2f}/s" if speed else "-/s", style="progress.data.speed")


IMAGE_KEYS = ("images", "failed")  # every image of a shard ends up counted as one of these


class ItemBars:
    """Progress bars in images (and other counts), fed by workers and by completion records."""

    def __init__(
        self, stage: str, tasks: list[ShardTask], units: dict[str, int], console: Console | None
    ) -> None:
        self.progress = Progress(
            TextColumn(f"[bold]{stage}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            RateColumn(),
            TimeRemainingColumn(),
            TimeElapsedColumn(),
            console=console or Console(stderr=True, soft_wrap=True),
            transient=True,
        )
        images = sum(len(task.shard.tags) for task in tasks)
        self.keys = {"images": IMAGE_KEYS, **{key: (key,) for key in units}}
        totals = {"images": images, **units}
        self.bars = {key: self.progress.add_task(key, total=totals[key]) for key in self.keys}
        self.seen: dict[str, dict[str, int]] = {}
        self.finished: set[str] = set()
        self.guard = threading.Lock()

    def __enter__(self) -> ItemBars:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)

    def _advance(self, shard: str, bar: str, n: int) -> None:
        counts = self.seen.setdefault(shard, {})
        counts[bar] = counts.get(bar, 0) + n
        self.progress.advance(self.bars[bar], n)

    def tick(self, shard: str, key: str, n: int) -> None:
        """A count from inside a running shard."""
        with self.guard:
            if shard in self.finished:
                return
            for bar, keys in self.keys.items():
                if key in keys:
                    self._advance(shard, bar, n)

    def finish(self, record: ShardRecord) -> None:
        """A shard ended: count what its record says that was not counted yet."""
        shard = f"{record.stage}/{record.shard}"
        with self.guard:
            self.finished.add(shard)
            for bar, keys in self.keys.items():
                want = sum(record.counts.get(key, 0) for key in keys)
                if record.error:
                    want = len(record.tags) if bar == "images" else 0
                missing = want - self.seen.get(shard, {}).get(bar, 0)
                if missing > 0:
                    self._advance(shard, bar, missing)
