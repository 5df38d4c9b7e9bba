"""One reader of pair folders (bench, hf export, PandaBench layout) into one pair record.

`open_pairs` dispatches on the folder's export manifest (`.export.json`); a folder without one
is read as the published PandaBench layout when it has `stats/`.
"""

from __future__ import annotations

from pathlib import Path

from pandaset_build.errors import InputNotFound
from pandaset_build.formats.manifest import find_manifest
from pandaset_build.pairsets.bench_reader import BenchSource, pair_from_bench_row
from pandaset_build.pairsets.hf_reader import HFExportSource
from pandaset_build.pairsets.pandabench_reader import PandaBenchSource, Triple
from pandaset_build.pairsets.record import (
    SIDES,
    PairRecord,
    PairRegion,
    PairSource,
    SideLabels,
    SubsetSource,
    first,
)

__all__ = [
    "SIDES",
    "BenchSource",
    "HFExportSource",
    "PairRecord",
    "PairRegion",
    "PairSource",
    "PandaBenchSource",
    "SideLabels",
    "SubsetSource",
    "Triple",
    "first",
    "load_pairs",
    "open_pairs",
    "pair_from_bench_row",
]


def open_pairs(path: str | Path, split: str = "test", mode: str = "all") -> PairSource:
    """The pairs under `path`: a bench folder, an `hf` export (one split), or a PandaBench root
    (one split; `mode` all or hard)."""
    root = Path(path)
    if not root.is_dir():
        raise InputNotFound(f"{root}: no such folder")
    manifest = find_manifest(root)
    layout = manifest.layout if manifest else ("pandabench" if (root / "stats").is_dir() else "")
    if layout == "pandabench":
        return PandaBenchSource(root, split, mode)
    if layout == "hf":
        return HFExportSource(root, split)
    if layout == "bench":
        return BenchSource(root)
    raise InputNotFound(
        f"{root}: not a bench folder, an `export --layout hf` or an `export --layout pandabench` "
        "(no .export.json manifest); point at a folder those commands wrote"
    )


def load_pairs(path: str | Path, limit: int | None = None, split: str = "test") -> list[PairRecord]:
    """The first `limit` (or all) pairs under `path`, as `open_pairs` reads them."""
    return list(first(open_pairs(path, split), limit))
