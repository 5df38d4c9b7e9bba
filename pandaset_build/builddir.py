"""The build directory: build.json with the resolved recipe and its hash, paths, atomic writes."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import __version__
from .recipe import Recipe, load_recipe, recipe_from_dict

BUILD_FILE = "build.json"
LOCK_FILE = ".lock"


class BuildError(RuntimeError):
    """The build directory cannot be used as asked (another recipe, missing stage outputs)."""


@dataclass(frozen=True)
class Build:
    root: Path
    recipe: Recipe

    @property
    def done_dir(self) -> Path:
        return self.root / "_done"

    def path(self, *parts: str) -> Path:
        return self.root.joinpath(*parts)


# Every top-level entry a build may create. `--restart` deletes these and nothing else.
BUILD_ENTRIES = (
    BUILD_FILE,
    "sources",
    "splits.json",
    "versions",
    "plans",
    "scores",
    "export",
    "bench",
    "report",
    "gallery",
    "preview",
    "panda",
    "eval",
    "eval-mllm",
    "_done",
)


def open_build(
    root: str | Path,
    recipe: str | Path | None = None,
    restart: bool = False,
    force: bool = False,
) -> Build:
    """Open or create a build; refuse a recipe whose hash differs from the recorded one.

    `restart` deletes the build's own entries (those listed in its build.json) and starts over;
    anything else in the folder is kept, and its presence is refused unless `force`.
    """
    root = Path(root)
    record_path = root / BUILD_FILE
    recorded = read_build_record(root)
    if recipe is None:
        if recorded is not None:
            return Build(root, recipe_from_dict(recorded["recipe"], source=record_path))
        recipe = "default"
    resolved = load_recipe(recipe)
    if recorded is not None and recorded["recipe_hash"] != resolved.digest():
        if not restart:
            raise BuildError(
                f"{root}: built with recipe {recorded['recipe']['name']!r} "
                f"(hash {recorded['recipe_hash'][:12]}), but {recipe} has hash "
                f"{resolved.digest()[:12]}; use another --build directory, or --restart to "
                "delete this build's outputs and start over"
            )
        with build_lock(root):
            clear_build(root, recorded, force)
        recorded = None
    if recorded is None:
        root.mkdir(parents=True, exist_ok=True)
        write_json_atomic(
            record_path,
            {
                "tool": "pandaset-build",
                "version": __version__,
                "recipe_hash": resolved.digest(),
                "seed": resolved.seed,
                "entries": list(BUILD_ENTRIES),
                "recipe": resolved.model_dump(mode="json"),
            },
        )
    return Build(root, resolved)


def read_build_record(root: Path) -> dict[str, Any] | None:
    """The folder's build.json, or None; a build.json that is not this tool's is refused."""
    path = root / BUILD_FILE
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise BuildError(f"{path}: not a readable pandaset-build record ({err})") from None
    if not isinstance(record, dict) or record.get("tool") != "pandaset-build":
        raise BuildError(
            f"{path}: this build.json was not written by pandaset-build; "
            "choose another --build directory"
        )
    return record


def _is_temporary(name: str) -> bool:
    return name.startswith(".") and name.endswith(".tmp")


def clear_build(root: Path, recorded: dict[str, Any], force: bool = False) -> list[str]:
    """Delete the build's own top-level entries, never following a symlink; return their names.

    Entries the build did not create are kept; unless `force`, their presence is refused, so a
    build pointed at a working folder by mistake deletes nothing.
    """
    owned = set(recorded.get("entries") or BUILD_ENTRIES)
    present = sorted(child.name for child in root.iterdir())
    foreign = [n for n in present if n not in owned and n != LOCK_FILE and not _is_temporary(n)]
    if foreign and not force:
        more = f" and {len(foreign) - 8} more" if len(foreign) > 8 else ""
        shown = ", ".join(foreign[:8]) + more
        raise BuildError(
            f"{root}: --restart refused: the folder also holds entries this build did not "
            f"create ({shown}); move them out, choose another --build directory, or add --force "
            "to delete only the build's own entries and keep them"
        )
    removed = []
    for name in present:
        if name not in owned and not _is_temporary(name):
            continue
        child = root / name
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
        removed.append(name)
    return removed


@contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary sibling path; rename it onto `final` only if the block succeeds."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def write_json_atomic(path: Path, data: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def write_bytes_atomic(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


@contextmanager
def build_lock(root: Path) -> Iterator[None]:
    """Hold the build's lock for a stage run; a second concurrent run is refused, naming us."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / LOCK_FILE
    handle = open(path, "a+")  # noqa: SIM115 (held open for the lock's lifetime)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise BuildError(
                f"{root}: in use by {holder}; wait for it to finish (or stop it), then rerun"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(
            f"pid {os.getpid()} on {socket.gethostname()} since "
            f"{time.strftime('%Y-%m-%d %H:%M:%S')}: {' '.join(sys.argv)}"
        )
        handle.flush()
        yield
    finally:
        handle.close()
