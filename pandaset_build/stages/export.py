"""Exports of a scored build: Hugging Face parquet shards, the published PandaBench layout, or
LLaVA-style conversations."""

from __future__ import annotations

from pandaset_build.errors import UsageError
from pandaset_build.formats.export_summary import ExportSummary
from pandaset_build.formats.hf import export_hf
from pandaset_build.formats.llava import export_llava
from pandaset_build.formats.pandabench import export_pandabench
from pandaset_build.store.build import Build

LAYOUTS = {"hf": export_hf, "pandabench": export_pandabench, "llava": export_llava}


def export(build: Build, layout: str = "hf") -> ExportSummary:
    """Export a scored build in one layout; raises MissingStageOutputs before writing anything."""
    if layout not in LAYOUTS:
        raise UsageError(f"--layout {layout}: unknown; known: {', '.join(LAYOUTS)}")
    return LAYOUTS[layout](build)
