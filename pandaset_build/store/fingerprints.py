"""Content fingerprints of files: what a stage read or wrote, so a later change is noticed.

A stamp is `[size, mtime_ns, sha256]`, or None for a file that was absent. A file whose size
and mtime are unchanged is taken as unchanged; otherwise its bytes are hashed again, so a file
that was only touched (or copied without its times) still counts as the same.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

BLOCK = 1 << 20

Stamp = list  # [size, mtime_ns, sha256 hex]


def file_sha256(path: str | Path) -> str:
    """SHA-256 (hex) of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def stamp(path: str | Path) -> Stamp | None:
    """The stamp of a file as it is now; None when there is no such file."""
    try:
        info = os.stat(path)
        return [info.st_size, info.st_mtime_ns, file_sha256(path)]
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def unchanged(path: str | Path, recorded: Stamp | None) -> bool:
    """Whether a file still is what `recorded` describes (absent if `recorded` is None)."""
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return recorded is None
    if recorded is None or info.st_size != recorded[0]:
        return False
    if info.st_mtime_ns == recorded[1]:
        return True
    try:
        return file_sha256(path) == recorded[2]
    except OSError:
        return False
