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


def open_build(root: str | Path, recipe: str | Path | None = None, restart: bool = False) -> Build:
    """Open or create a build; refuse a recipe whose hash differs from the recorded one."""
    root = Path(root)
    record_path = root / BUILD_FILE
    recorded = json.loads(record_path.read_text()) if record_path.exists() else None
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
        _clear(root)
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
                "recipe": resolved.model_dump(mode="json"),
            },
        )
    return Build(root, resolved)


def _clear(root: Path) -> None:
    for child in root.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


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


LOCK_FILE = ".lock"


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
