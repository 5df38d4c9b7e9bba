"""Exports of a scored build: Hugging Face parquet shards or the published PandaBench layout."""

from __future__ import annotations

from pandaset_build.errors import UsageError
from pandaset_build.formats.export_summary import ExportSummary
from pandaset_build.formats.hf import export_hf
from pandaset_build.formats.pandabench import export_pandabench
from pandaset_build.store.build import Build


def export(build: Build, layout: str = "hf") -> ExportSummary:
    """Export a scored build in one layout; raises MissingStageOutputs before writing anything."""
    if layout == "hf":
        return export_hf(build)
    if layout == "pandabench":
        return export_pandabench(build)
    raise UsageError(f"--layout {layout}: unknown; known: hf, pandabench")
