"""What an export wrote."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pandaset_build.json_types import JsonObject


@dataclass
class ExportSummary:
    """What an export wrote: folder, rows per configuration and split, files, time."""

    layout: str
    folder: Path
    rows: dict[str, dict[str, int]]
    files: int
    seconds: float
    stats: JsonObject = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        total = sum(n for per_split in self.rows.values() for n in per_split.values())
        return total / self.seconds if self.seconds else 0.0
