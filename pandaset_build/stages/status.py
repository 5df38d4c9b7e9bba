"""`status`: what a build holds, what is left, what failed and why, on one screen (or JSON).

Everything is read from the completion records and the files on disk; nothing is written.
"""

from __future__ import annotations

import json
import math
import os
import re
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pandaset_build import __version__
from pandaset_build.engine.drift import (
    RETRY,
    FileCheck,
    expand,
    load_records,
    stage_command,
)
from pandaset_build.engine.shards import ShardRecord, make_shards
from pandaset_build.formats.manifest import export_problems
from pandaset_build.stages.estimate import duration, size
from pandaset_build.store.build import Build, open_build
from pandaset_build.store.catalog import source_index

FIRST_FILES = 3
EXPORTS = {"export/hf": "hf", "export/pandabench": "pandabench", "export/llava": "llava"}
BENCHES = ("easy", "medium", "hard")


@dataclass
class FailureGroup:
    """Failures of one stage that share a reason (numbers aside), and the first files."""

    reason: str
    count: int
    files: list[str]


@dataclass
class StageStatus:
    """One sharded stage: what is done, what failed, what changed since, what is left."""

    stage: str
    command: str
    shards_done: int
    shards_total: int
    images_done: int
    images_total: int
    items: dict[str, int]
    shards_with_failures: int
    shards_changed: int
    shards_other_settings: int
    shards_older_than_inputs: int
    failures: list[FailureGroup]
    seconds_per_shard: float | None
    seconds_left: float | None
    next: str


@dataclass
class OutputStatus:
    """An export, bench, report or gallery folder: its size and whether it is up to date."""

    name: str
    files: int
    bytes: int
    current: bool
    why: str = ""


@dataclass
class BuildStatus:
    """Everything `status` shows."""

    build: str
    recipe: str
    recipe_hash: str
    tool_version: str
    images: int
    stages: list[StageStatus] = field(default_factory=list)
    outputs: list[OutputStatus] = field(default_factory=list)
    disk: dict[str, int] = field(default_factory=dict)
    estimate: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def failure_groups(records: list[ShardRecord]) -> list[FailureGroup]:
    """Failures grouped by reason with its numbers masked, largest group first."""
    groups: dict[str, FailureGroup] = {}
    for failure in (f for r in records for f in r.failures):
        key = re.sub(r"\d+", "#", failure.reason)
        group = groups.setdefault(key, FailureGroup(failure.reason, 0, []))
        group.count += 1
        if len(group.files) < FIRST_FILES:
            group.files.append(failure.file)
    return sorted(groups.values(), key=lambda g: (-g.count, g.reason))


def record_times(build: Build, stage: str) -> dict[str, float]:
    """Tag -> mtime of the completion record that covers it."""
    times: dict[str, float] = {}
    folder = build.layout.done_dir(stage)
    for record in load_records(build, stage):
        mtime = (folder / f"{record.shard}.json").stat().st_mtime
        times.update(dict.fromkeys(record.tags, mtime))
    return times


def stage_status(
    build: Build,
    stage: str,
    tags: list[str] | None,
    upstream: dict[str, float],
    check: FileCheck,
) -> StageStatus:
    """Status of one stage; `tags` None for an ingest part (its total is in _part.json)."""
    size_ = build.recipe.shard_size
    records = load_records(build, stage)
    if tags is None:
        part = build.layout.source_part(stage.removeprefix("ingest-"))
        total_images = json.loads(part.read_text())["images"] if part.is_file() else 0
        total = math.ceil(total_images / size_)
        done = [r for r in records if int(r.shard) < total]
    else:
        total_images = len(tags)
        shards = make_shards(stage, tags, tags, size_)
        total = len(shards)
        by_name = {r.shard: r for r in records}
        done = [
            by_name[s.name]
            for s in shards
            if s.name in by_name and tuple(by_name[s.name].tags) == s.tags
        ]
    items: dict[str, int] = {}
    for record in done:
        for key, n in record.counts.items():
            items[key] = items.get(key, 0) + n
    settings = [r.fingerprint for r in done]
    common = statistics.mode(settings) if settings else ""
    folder = build.layout.done_dir(stage)
    older = sum(
        any(upstream.get(t, 0.0) > (folder / f"{r.shard}.json").stat().st_mtime for t in r.tags)
        for r in done
    )
    changed = sum(bool(check.changed(r)) for r in done)
    with_failures = sum(bool(r.failures) for r in done)
    other = sum(f != common for f in settings)
    seconds = [r.seconds for r in done]
    per_shard = statistics.median(seconds) if seconds else None
    left = total - len(done)
    command = stage_command(build, stage)
    if changed or other or with_failures or older:
        advice = f"{command} {RETRY}"
    elif left:
        advice = command
    else:
        advice = ""
    return StageStatus(
        stage=stage,
        command=command,
        shards_done=len(done),
        shards_total=total,
        images_done=sum(len(r.tags) for r in done),
        images_total=total_images,
        items=dict(sorted(items.items())),
        shards_with_failures=with_failures,
        shards_changed=changed,
        shards_other_settings=other,
        shards_older_than_inputs=older,
        failures=failure_groups(done),
        seconds_per_shard=per_shard,
        seconds_left=0.0 if not left else None if per_shard is None else per_shard * left,
        next=advice,
    )


def tree_size(path: Path) -> tuple[int, int]:
    """(files, bytes) under a path, not following symlinks."""
    if path.is_symlink() or path.is_file():
        return 1, path.lstat().st_size
    files = total = 0
    for folder, _, names in os.walk(path):
        for name in names:
            files += 1
            total += os.lstat(os.path.join(folder, name)).st_size
    return files, total


def output_status(build: Build, newest_score: float) -> list[OutputStatus]:
    """Every export, bench, report and gallery folder present, and whether it is current."""
    found = []
    folders = {**EXPORTS, **{f"bench/{kind}": "bench" for kind in BENCHES}}
    for name, layout in folders.items():
        folder = build.root / name
        if folder.is_dir():
            problems = export_problems(folder, build, layout)
            found.append(OutputStatus(name, *tree_size(folder), not problems, "; ".join(problems)))
    for name in ("report", "gallery"):
        folder = build.root / name
        if folder.is_dir():
            newest = max((p.stat().st_mtime for p in folder.rglob("*") if p.is_file()), default=0)
            old = newest < newest_score
            why = f"older than the scores: rerun `{name}`" if old else ""
            found.append(OutputStatus(name, *tree_size(folder), not old, why))
    return found


def build_status(root: Path, with_estimate: bool = True) -> BuildStatus:
    """The status of the build at `root` (refused when there is no build there)."""
    build = open_build(root, create=False)
    index = source_index(build)
    tags = sorted(tag for tag, _ in index)
    found = BuildStatus(
        build=str(root),
        recipe=build.recipe.name,
        recipe_hash=build.recipe.digest(),
        tool_version=__version__,
        images=len(tags),
    )
    check = FileCheck(build)
    ingest_times: dict[str, float] = {}
    for stage in expand(build, ["ingest"]):
        found.stages.append(stage_status(build, stage, None, {}, check))
        ingest_times.update(record_times(build, stage))
    if build.recipe.weather.haze.depth_source == "model":  # the only tier with depth work
        found.stages.append(stage_status(build, "depth", tags, ingest_times, check))
    distort_times = record_times(build, "distort")
    found.stages.append(stage_status(build, "distort", tags, ingest_times, check))
    found.stages.append(stage_status(build, "score", tags, distort_times, check))
    score_times = record_times(build, "score")
    found.outputs = output_status(build, max(score_times.values(), default=0.0))
    for entry in sorted(build.root.iterdir()):
        if entry.name in ("export", "bench") and entry.is_dir():
            for child in sorted(entry.iterdir()):
                found.disk[f"{entry.name}/{child.name}"] = tree_size(child)[1]
        elif not entry.name.startswith("."):
            found.disk[entry.name] = tree_size(entry)[1]
    if with_estimate and tags and not distort_times:
        from pandaset_build.stages.estimate import estimate

        found.estimate = estimate(build.root, build.recipe, []).to_json()
    return found


def print_status(status: BuildStatus, console: Console) -> None:
    """The status on one screen."""
    console.print(
        f"[bold]{escape(status.build)}[/bold]: recipe {status.recipe} "
        f"(hash {status.recipe_hash[:12]}), pandaset-build {status.tool_version}, "
        f"{status.images} images ingested"
    )
    table = Table(show_edge=False)
    for column in ("stage", "shards", "images", "items", "failed", "changed", "s/shard", "left"):
        left = column in ("stage", "items")
        table.add_column(column, justify="left" if left else "right", no_wrap=column == "stage")
    for s in status.stages:
        items = ", ".join(f"{k} {v}" for k, v in s.items.items() if ":" not in k and k != "images")
        changed = s.shards_changed + s.shards_other_settings + s.shards_older_than_inputs
        per_shard = "-" if s.seconds_per_shard is None else f"{s.seconds_per_shard:.2f}"
        table.add_row(
            s.stage,
            f"{s.shards_done}/{s.shards_total}",
            f"{s.images_done}/{s.images_total}",
            items,
            str(s.shards_with_failures),
            str(changed),
            per_shard,
            duration(s.seconds_left),
        )
    console.print(table)
    for s in status.stages:
        for group in s.failures:
            files = ", ".join(group.files) + (" ..." if group.count > len(group.files) else "")
            console.print(
                f"[red]{s.stage}[/red]: {group.count} x {escape(group.reason)}: {escape(files)}"
            )
        notes = []
        if s.shards_changed:
            notes.append(f"{s.shards_changed} shards read files that changed since")
        if s.shards_other_settings:
            notes.append(f"{s.shards_other_settings} shards made with other settings")
        if s.shards_older_than_inputs:
            notes.append(f"{s.shards_older_than_inputs} shards older than their inputs")
        if s.next:
            notes.append(f"next: `{s.next}`")
        if notes:
            console.print(f"{s.stage}: " + "; ".join(notes))
    for out in status.outputs:
        state = "current" if out.current else f"[yellow]stale[/yellow]: {escape(out.why)}"
        console.print(f"{out.name}: {out.files} files, {size(out.bytes)}, {state}")
    console.print("disk: " + ", ".join(f"{k} {size(v)}" for k, v in status.disk.items()))
    if not status.images:
        console.print(
            "no images ingested yet: `run --dry-run --source S --root PATH` estimates the work"
        )
    if status.estimate is not None:
        console.print(
            f"estimate before any work: {duration(status.estimate['seconds'])}, "
            f"{size(status.estimate['bytes'])} (run `run --dry-run` for the table)"
        )
