"""One resolver for every path option: `~` and `$VARS` expanded, made absolute, checked.

It runs while the command line is parsed, before any work, so `--build "~/b"` (quoted, so the
shell left it alone) is the folder `$HOME/b` for every module, and a build records absolute
paths. An output folder must be a folder or creatable: the nearest existing part of the path a
writable folder on a writable file system.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import typer

from pandaset_build.errors import PathError, UsageError
from pandaset_build.store.oserrors import existing_ancestor, file_in_the_way

_UNSET = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")


def _option(param: typer.CallbackParam) -> str:
    return param.opts[0] if param.opts else str(param.name)


def expand(value: str, option: str) -> str:
    """`~` and environment variables expanded; a variable that is not set is an error."""
    expanded = os.path.expandvars(os.path.expanduser(value))
    unset = _UNSET.search(expanded)
    if unset:
        raise UsageError(
            f"{option} {value}: the environment variable {unset.group(1)} is not set: set it, "
            "or write the path out"
        )
    return expanded


def absolute(value: Path | str, option: str) -> Path:
    """The path expanded and made absolute (not resolved: symlinks stay as given)."""
    return Path(os.path.abspath(expand(str(value), option)))


def check_writable_folder(path: Path, option: str) -> None:
    """A folder, or a path that can be created as one; else a PathError naming it."""
    if path.exists() and not path.is_dir():
        raise PathError(
            f"{option} {path}: exists and is a file, but a folder is needed here: choose "
            "another path, or move the file away"
        )
    blocker = file_in_the_way(path)
    if blocker is not None:
        raise PathError(
            f"{option} {path}: not a directory ({blocker} is a file, not a folder): choose a "
            "path whose parents are folders, or move that file away"
        )
    nearest = existing_ancestor(path)
    if os.statvfs(nearest).f_flag & os.ST_RDONLY:
        raise PathError(
            f"{option} {path}: the file system of {nearest} is read-only: choose a folder on a "
            "writable disk (or remount it read-write)"
        )
    if not os.access(nearest, os.W_OK | os.X_OK):
        raise PathError(
            f"{option} {path}: permission denied: {nearest} is not writable for this user: "
            "make it writable (chmod u+w, or chown) or choose a folder you may write to"
        )


def any_path(param: typer.CallbackParam, value: Path | None) -> Path | None:
    """Callback of an input path option: expanded and absolute (its reader checks it)."""
    return None if value is None else absolute(value, _option(param))


def output_folder(param: typer.CallbackParam, value: Path | None) -> Path | None:
    """Callback of a folder the command writes into: absolute, a folder or creatable."""
    if value is None:
        return None
    path = absolute(value, _option(param))
    check_writable_folder(path, _option(param))
    return path


def name_or_path(param: typer.CallbackParam, value: str | None) -> str | None:
    """Callback of an option taking a bundled name or a file: `~` and `$VARS` expanded."""
    return None if value is None else expand(value, _option(param))
