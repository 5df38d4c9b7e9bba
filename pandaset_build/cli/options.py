"""Options shared by several commands; every choice is an Enum that Typer checks and lists."""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from pandaset_build.cli.paths import any_path, name_or_path, output_folder
from pandaset_build.iqa.precision import PRECISIONS
from pandaset_build.sources import READERS


def _choices(name: str, values: list[str]) -> type[Enum]:
    """A str Enum whose values are the choices as users type them."""
    return Enum(name, [(v.replace("-", "_"), v) for v in values], type=str)  # type: ignore[return-value]


Source = _choices("Source", sorted(READERS))
ExecutorKind = _choices("ExecutorKind", ["local", "ray"])
Layout = _choices("Layout", ["hf", "pandabench", "llava"])
MaskEncoding = _choices("MaskEncoding", ["auto", "instance", "rgb"])
EvalMode = _choices("EvalMode", ["hard", "all"])
PromptKind = _choices("PromptKind", ["pair", "region"])
PromptSet = _choices("PromptSet", ["paper", "extended"])
TokenLimitField = _choices("TokenLimitField", ["max_tokens", "max_completion_tokens"])
Baseline = _choices("Baseline", ["random"])
Precision = _choices("Precision", list(PRECISIONS))


DEVICE = re.compile(r"^(cpu|cuda|cuda:\d+)$")


def check_device(value: str) -> str:
    """cpu, cuda or cuda:N."""
    if not DEVICE.match(value):
        raise typer.BadParameter(f"{value!r}: expected cpu, cuda or cuda:N")
    return value


BuildOpt = Annotated[Path, typer.Option("--build", help="Build directory.", callback=output_folder)]
ReadBuildOpt = Annotated[
    Path, typer.Option("--build", help="Build directory (read).", callback=any_path)
]
RecipeOpt = Annotated[
    str | None,
    typer.Option(
        "--recipe",
        help="Recipe file or bundled name; default: the build's recipe, else default.",
        callback=name_or_path,
    ),
]
RestartOpt = Annotated[
    bool,
    typer.Option(
        "--restart",
        help="Delete the build's own outputs (made with another recipe) and start over.",
    ),
]
ForceOpt = Annotated[
    bool,
    typer.Option(
        "--force",
        help="With --restart: go on although the folder holds entries the build did not create "
        "(they are kept).",
    ),
]
WorkersOpt = Annotated[int, typer.Option("--workers", min=1, help="Local worker processes.")]
ExecutorOpt = Annotated[ExecutorKind, typer.Option("--executor", help="Where shards run.")]
RayAddressOpt = Annotated[
    str,
    typer.Option(
        "--ray-address",
        help="local (start Ray here), auto (the cluster of `ray start`), or HOST:PORT.",
    ),
]
DeviceOpt = Annotated[
    str, typer.Option("--device", help="cpu, cuda or cuda:N.", callback=check_device)
]
BatchOpt = Annotated[int | None, typer.Option("--batch-size", min=1, help="Items per batch.")]
RandomBackboneOpt = Annotated[
    bool,
    typer.Option(
        "--random-backbone", help="Random backbone weights: for offline demos and tests only."
    ),
]
RetryFailedOpt = Annotated[
    bool,
    typer.Option(
        "--retry-failed",
        help="Also redo the shards whose records list failures, whose input files changed since, "
        "or that were made with other settings.",
    ),
]
LimitOpt = Annotated[
    int | None,
    typer.Option(
        "--limit", min=1, help="Ingest N images: the first N tags in the order of a seeded hash."
    ),
]
TagsOpt = Annotated[
    Path | None,
    typer.Option(
        "--tags", help="Ingest only these tags (a file, one per line).", callback=any_path
    ),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print JSON (for scripts); run: with --dry-run.")
]
