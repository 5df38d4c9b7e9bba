"""Exports of a scored build: Hugging Face parquet shards or the published PandaBench layout."""

from __future__ import annotations

from typing import Literal

from ..builddir import Build
from .hf import export_hf
from .pandabench import export_pandabench
from .summary import ExportSummary


def export(build: Build, layout: Literal["hf", "pandabench"] = "hf") -> ExportSummary:
    """Export a scored build in one layout; raises MissingScores before writing anything."""
    if layout == "hf":
        return export_hf(build)
    if layout == "pandabench":
        return export_pandabench(build)
    raise ValueError(f"unknown export layout {layout!r}; known: hf, pandabench")
