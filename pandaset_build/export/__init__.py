"""Exports of a scored build: Hugging Face parquet shards, the published PandaBench layout, or
LLaVA-style conversations."""

from __future__ import annotations

from typing import Literal

from ..builddir import Build
from .hf import export_hf
from .llava import export_llava
from .pandabench import export_pandabench
from .summary import ExportSummary

Layout = Literal["hf", "pandabench", "llava"]
LAYOUTS = {"hf": export_hf, "pandabench": export_pandabench, "llava": export_llava}


def export(build: Build, layout: Layout = "hf") -> ExportSummary:
    """Export a scored build in one layout; raises MissingScores before writing anything."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown export layout {layout!r}; known: {', '.join(LAYOUTS)}")
    return LAYOUTS[layout](build)
