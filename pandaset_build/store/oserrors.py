"""The file system's errors as sentences: which path, what went wrong, what to do.

`explain` turns an `OSError` into a `PathError` (exit 2: choose another path or fix its
permissions; nothing was done that a rerun would trust) or a `DiskError` (exit 1: the disk gave
out part-way; finished shards are kept and a rerun resumes). Errors it does not know stay
`OSError` (a bug or an unexpected fault keeps its traceback).
"""

from __future__ import annotations

import errno
import getpass
import re
import resource
import shutil
from pathlib import Path

from pandaset_build.errors import DiskError, PandasetError, PathError

_ERRNO_IN_TEXT = re.compile(r"\[errno (\d+)\]", re.IGNORECASE)
NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
EXPLAINED = (
    errno.ENOTDIR,
    errno.EEXIST,
    errno.EISDIR,
    errno.EACCES,
    errno.EPERM,
    errno.EROFS,
    errno.EMFILE,
    errno.ENFILE,
    *NO_SPACE,
)


def error_number(err: OSError) -> int | None:
    """The errno of an error; pyarrow's OSErrors carry it only in their text ("[errno 28]")."""
    if err.errno is not None:
        return err.errno
    found = _ERRNO_IN_TEXT.search(str(err))
    return int(found.group(1)) if found else None


def human_bytes(n: float) -> str:
    """1.5 MB, 320 kB: decimal units, as `df -H` prints them."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def free_bytes(path: str | Path) -> int | None:
    """Free space on the file system holding `path` (its nearest existing folder), or None."""
    folder = existing_ancestor(Path(path))
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def existing_ancestor(path: Path) -> Path:
    """`path` itself if it exists, else its nearest existing parent."""
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def file_in_the_way(path: Path) -> Path | None:
    """The nearest parent of `path` that exists and is not a folder, if any."""
    for parent in Path(path).absolute().parents:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None


def _where(err: OSError, default: str | Path | None) -> str:
    name = err.filename if err.filename is not None else default
    return str(name) if name is not None else "a file"


def explain(err: OSError, path: str | Path | None = None, need: str = "") -> PandasetError | None:
    """The error as a sentence naming the path (the error's own, else `path`) and the fix.

    `need` is said with a full disk ("the stage needs about 12 MB more"); None for an error
    that is not about the file system's state (a bug keeps its traceback).
    """
    if isinstance(err, PandasetError):
        return err
    code = error_number(err)
    where = _where(err, path)
    if code == errno.ENOTDIR:
        blocker = file_in_the_way(Path(where))
        what = f"{blocker} is a file, not a folder" if blocker else "a part of it is not a folder"
        return PathError(
            f"{where}: not a directory ({what}): choose a path whose parents are folders, or "
            "move that file away"
        )
    if code == errno.EEXIST and not Path(where).is_file():
        return PathError(
            f"{where}: already exists where this command creates it: move it away, or choose "
            "another path"
        )
    if code == errno.EEXIST:
        return PathError(
            f"{where}: exists and is a file, but a folder is needed here: choose another path, "
            "or move the file away"
        )
    if code == errno.EISDIR:
        return PathError(
            f"{where}: is a folder, but a file is needed here: choose another path, or move the "
            "folder away"
        )
    if code in (errno.EACCES, errno.EPERM):
        return PathError(
            f"{where}: permission denied for user {getpass.getuser()}: make it writable "
            f"(chmod u+w, or chown) or choose a path you may write to, then rerun"
        )
    if code == errno.EROFS:
        return PathError(
            f"{where}: the file system is read-only: choose a --build on a writable disk "
            "(or remount it read-write), then rerun"
        )
    if code in NO_SPACE:
        free = free_bytes(where if where != "a file" else Path("."))
        shown = human_bytes(free) if free is not None else "unknown"
        needs = f"; {need}" if need else ""
        return DiskError(
            f"{where}: no space left on device ({shown} free there){needs}: free space or choose "
            "a --build on a larger disk, then rerun the command (finished shards are kept; the "
            "file being written was discarded)"
        )
    if code in (errno.EMFILE, errno.ENFILE):
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        return DiskError(
            f"{where}: too many open files (this process may open {soft}): raise the limit "
            f"(`ulimit -n {max(4096, 2 * soft)}`) or use fewer --workers, then rerun the command "
            "(finished shards are kept)"
        )
    return None
