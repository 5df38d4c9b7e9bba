"""A JSON object written one key at a time, so a large stats file never sits in memory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO


class JsonObjectWriter:
    """Writes `{"key": value, ...}` incrementally; `close()` ends the object."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file: TextIO = path.open("w")
        self.file.write("{")
        self.first = True

    def add(self, key: str, value: Any) -> None:
        self.file.write(("\n" if self.first else ",\n") + json.dumps(key) + ": ")
        json.dump(value, self.file, separators=(",", ":"))
        self.first = False

    def close(self) -> None:
        self.file.write("\n}\n")
        self.file.close()
