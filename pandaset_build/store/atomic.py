"""Atomic writes: every file and folder appears under its final name complete, or not at all."""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pandaset_build.store.oserrors import error_number


def is_temporary(name: str) -> bool:
    """Whether a file name is one of the hidden temporary names used here."""
    return name.startswith(".") and name.endswith((".tmp", ".staging"))


@contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path; rename it onto `final` only if the block succeeds.

    The temporary file sits in a hidden folder unique to this process and thread, so concurrent
    writers never clash, under the stable name `.<name>.tmp`, so libraries that record the file
    name in their output (torch.save does) write the same bytes every run.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    folder = final.with_name(f".{final.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    folder.mkdir(exist_ok=True)
    tmp = folder / f".{final.name}.tmp"
    try:
        yield tmp
        os.replace(tmp, final)
    except OSError as err:
        named(err, final)
        raise
    finally:
        tmp.unlink(missing_ok=True)
        folder.rmdir()


def named(err: OSError, path: Path) -> None:
    """Raise `err` again naming `path` when it names no file (a failed write names none)."""
    code = error_number(err)
    if err.filename is None and code is not None:
        raise OSError(code, os.strerror(code), str(path)) from err


def write_bytes_atomic(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_json_atomic(path: Path, data: Any) -> None:
    """Indented, key-sorted JSON with a final newline."""
    write_bytes_atomic(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())


@contextmanager
def staged_folder(final: Path) -> Iterator[Path]:
    """Yield an empty staging folder; it replaces `final` only if the block succeeds.

    A staging folder left by a killed run is removed first (callers hold the build's lock).
    """
    parent_existed = final.parent.exists()
    staging = final.with_name(f".{final.name}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        yield staging
        if final.exists():
            shutil.rmtree(final)
        os.replace(staging, final)
    except OSError as err:
        named(err, final)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if not parent_existed and final.parent.exists() and not any(final.parent.iterdir()):
            final.parent.rmdir()
