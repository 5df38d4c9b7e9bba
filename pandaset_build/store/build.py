"""A build: its directory, build.json (the resolved recipe and its hash), `--restart`, the lock."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pandaset_build import __version__
from pandaset_build.config.recipe import Recipe, load_recipe, recipe_from_dict
from pandaset_build.errors import BuildError, MissingStageOutputs
from pandaset_build.store.atomic import is_temporary, named, write_json_atomic
from pandaset_build.store.layout import BuildLayout


@dataclass(frozen=True)
class Build:
    """An opened build directory and the recipe it is made with."""

    root: Path
    recipe: Recipe

    @property
    def layout(self) -> BuildLayout:
        return BuildLayout(self.root)


def open_build(
    root: str | Path,
    recipe: str | Path | Recipe | None = None,
    restart: bool = False,
    force: bool = False,
    create: bool = True,
) -> Build:
    """Open or create a build; refuse a recipe whose hash differs from the recorded one.

    `restart` deletes the build's own entries (those listed in its build.json) and starts over;
    anything else in the folder is kept, and its presence is refused unless `force`. Without
    `create`, a folder that holds no build is refused (commands after `ingest`).
    """
    root = Path(root)
    record_path = BuildLayout(root).build_file
    recorded = read_build_record(root)
    if recorded is None and not create:
        raise MissingStageOutputs(
            f"{root}: no build here (no build.json): run `ingest` first, or check --build"
        )
    resolved = build_recipe(root, recipe, restart)
    if recipe is None and recorded is not None:
        return Build(root, resolved)
    if recorded is not None and recorded["recipe_hash"] != resolved.digest():
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
                "entries": list(BuildLayout.ENTRIES),
                "recipe": resolved.model_dump(mode="json"),
                "split_order": list(resolved.splits),
            },
        )
    return Build(root, resolved)


def build_recipe(
    root: str | Path, recipe: str | Path | Recipe | None = None, restart: bool = False
) -> Recipe:
    """The recipe a command on `root` uses, checked against the recorded one; writes nothing.

    Without `recipe`: the recorded recipe, or `default` for a new build. Another recipe than the
    recorded one is refused unless `restart`.
    """
    root = Path(root)
    recorded = read_build_record(root)
    if recipe is None and recorded is not None:
        return recorded_recipe(root, recorded)
    resolved = recipe if isinstance(recipe, Recipe) else load_recipe(recipe or "default")
    if recorded is not None and recorded["recipe_hash"] != resolved.digest() and not restart:
        raise BuildError(
            f"{root}: built with recipe {recorded['recipe']['name']!r} "
            f"(hash {recorded['recipe_hash'][:12]}), but {recipe} has hash "
            f"{resolved.digest()[:12]}; use another --build directory, or --restart to "
            "delete this build's outputs and start over"
        )
    return resolved


def recorded_recipe(root: Path, recorded: dict[str, Any]) -> Recipe:
    """The recipe build.json records, its splits in their recipe order (the JSON sorts keys,
    and the split rule assigns tags by the order of the splits)."""
    data = dict(recorded["recipe"])
    order = recorded.get("split_order") or list(data["splits"])
    data["splits"] = {name: data["splits"][name] for name in order}
    return recipe_from_dict(data, source=BuildLayout(root).build_file)


def read_build_record(root: Path) -> dict[str, Any] | None:
    """The folder's build.json, or None; a build.json that is not this tool's is refused."""
    path = BuildLayout(root).build_file
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


def clear_build(root: Path, recorded: dict[str, Any], force: bool = False) -> list[str]:
    """Delete the build's own top-level entries, never following a symlink; return their names.

    Entries the build did not create are kept; unless `force`, their presence is refused, so a
    build pointed at a working folder by mistake deletes nothing.
    """
    owned = set(recorded.get("entries") or ()) | set(BuildLayout.ENTRIES)
    present = sorted(child.name for child in root.iterdir())
    foreign = [
        n for n in present if n not in owned and n != BuildLayout.LOCK and not is_temporary(n)
    ]
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
        if name not in owned and not is_temporary(name):
            continue
        child = root / name
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
        removed.append(name)
    return removed


_held: dict[Path, int] = {}
_held_guard = threading.Lock()


@contextmanager
def build_lock(root: Path) -> Iterator[None]:
    """Hold the build's lock: one command that writes at a time; another is refused, naming us.

    Re-entrant within a process (a command holds it while the stages it runs take it again).
    A folder the lock had to create is removed again if nothing else was written into it, so a
    command refused after taking the lock leaves nothing behind.
    """
    root = Path(root)
    key = root.resolve()
    with _held_guard:
        if _held.get(key):
            _held[key] += 1
            nested = True
        else:
            nested = False
    if nested:
        try:
            yield
        finally:
            with _held_guard:
                _held[key] -= 1
        return
    created = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    path = BuildLayout(root).lock_file
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
        with _held_guard:
            _held[key] = 1
        try:
            yield
        except OSError as err:
            named(err, root)  # an error that names no file (a pipe, a socket): the build
            raise
        finally:
            with _held_guard:
                _held.pop(key, None)
            if created and [p.name for p in root.iterdir()] == [BuildLayout.LOCK]:
                path.unlink()
                root.rmdir()
    finally:
        handle.close()
