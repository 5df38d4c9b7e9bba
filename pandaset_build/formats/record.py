"""`.export.json`: what an export folder holds and what it was made from, to tell stale ones."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from pandaset_build.store.atomic import write_json_atomic
from pandaset_build.store.build import Build
from pandaset_build.store.tables import parquet_files

RECORD = ".export.json"


@dataclass(frozen=True)
class ExportRecord:
    """Recipe hash, start time and file sizes of one export folder."""

    layout: str
    recipe_hash: str
    started_ns: int
    files: dict[str, int]


def start_clock() -> int:
    """The time an export starts reading scores (score shards written later make it stale)."""
    return time.time_ns()


def record_path(folder: Path, layout: str) -> Path:
    """Where a layout keeps its record: `stats/` for pandabench, whose loader takes every root
    entry for a version; the folder itself otherwise."""
    return folder / "stats" / RECORD if layout == "pandabench" else folder / RECORD


def write_record(folder: Path, build: Build, layout: str, started_ns: int) -> None:
    """Record every file of `folder` (relative path -> size) with the recipe hash."""
    files = {
        p.relative_to(folder).as_posix(): p.stat().st_size
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != RECORD
    }
    record = ExportRecord(layout, build.recipe.digest(), started_ns, files)
    write_json_atomic(record_path(folder, layout), asdict(record))


def export_problems(folder: Path, build: Build, layout: str) -> list[str]:
    """Why `folder` cannot be published as it is: missing, incomplete or stale; [] when fine."""
    name = folder.relative_to(build.root).as_posix()
    path = record_path(folder, layout)
    if not path.exists():
        return [f"{name}: no {RECORD} (missing or unfinished export); run the export again"]
    record = ExportRecord(**json.loads(path.read_text()))
    problems = []
    if record.recipe_hash != build.recipe.digest():
        problems.append(
            f"{name}: made with recipe hash {record.recipe_hash[:12]}, the build's is "
            f"{build.recipe.digest()[:12]}; run the export again"
        )
    scores = parquet_files(build.layout.scores)
    newer = [p.name for p in scores if p.stat().st_mtime_ns > record.started_ns]
    if newer:
        problems.append(
            f"{name}: scores/{newer[0]} ({len(newer)} shard(s) in all) written after the export; "
            "run the export again"
        )
    missing = [rel for rel, size in record.files.items() if _size(folder / rel) != size]
    if missing:
        problems.append(
            f"{name}: {len(missing)} file(s) missing or changed since the export, e.g. "
            f"{missing[0]}; run the export again"
        )
    return problems


def _size(path: Path) -> int | None:
    return path.stat().st_size if path.is_file() else None
