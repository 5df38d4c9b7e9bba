"""The `pandaset-build` command line: one thin command per stage over the Python API.

Stage modules are imported inside their commands, so `--help` does not pay for torch and pyiqa.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from .builddir import Build, BuildError, open_build
from .executor import Executor, LocalExecutor, StageReport
from .recipe import RecipeError
from .sources import READERS
from .sources.record import BadInput
from .summary import print_summary

app = typer.Typer(
    help="Rebuild PandaSet and PandaBench from images with panoptic masks.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=True, soft_wrap=True)

BuildOpt = Annotated[Path, typer.Option("--build", help="Build directory.")]
RecipeOpt = Annotated[
    str | None,
    typer.Option(
        "--recipe", help="Recipe file or bundled name; default: the build's recipe, else default."
    ),
]
RestartOpt = Annotated[
    bool, typer.Option("--restart", help="Delete a build made with another recipe and start over.")
]
WorkersOpt = Annotated[int, typer.Option("--workers", min=1, help="Local worker processes.")]
ExecutorOpt = Annotated[str, typer.Option("--executor", help="local (process pool) or ray.")]
RayAddressOpt = Annotated[
    str,
    typer.Option(
        "--ray-address",
        help="local (start Ray here), auto (the cluster of `ray start`), or HOST:PORT.",
    ),
]
SourceOpt = Annotated[
    str, typer.Option("--source", help=f"Input format: {', '.join([*sorted(READERS)])}.")
]
RootOpt = Annotated[Path | None, typer.Option("--root", help="Dataset root (not for demo).")]
DepthOpt = Annotated[Path | None, typer.Option("--depth", help="Folder of per-image depth maps.")]
SplitOpt = Annotated[str | None, typer.Option("--split", help="coco-panoptic split (val2017).")]
AnnotationsOpt = Annotated[Path | None, typer.Option("--annotations", help="Annotation file.")]
ImagesOpt = Annotated[Path | None, typer.Option("--images", help="Image folder override.")]
MasksOpt = Annotated[Path | None, typer.Option("--masks", help="Mask folder override.")]
MaskEncodingOpt = Annotated[
    str | None, typer.Option("--mask-encoding", help="folder: auto, instance or rgb.")
]


def _open(build: Path, recipe: str | None, restart: bool) -> Build:
    try:
        return open_build(build, recipe, restart)
    except (RecipeError, BuildError) as err:
        console.print(f"[red]error:[/red] {err}")
        raise typer.Exit(2) from None


def _executor(kind: str, workers: int, ray_address: str, num_gpus: float = 0) -> Executor:
    if kind == "local":
        return LocalExecutor(workers)
    if kind == "ray":
        from .ray_executor import RayExecutor

        return RayExecutor(ray_address, num_gpus=num_gpus)
    console.print(f"[red]error:[/red] --executor {kind}: expected local or ray")
    raise typer.Exit(2)


def _finish(report: StageReport) -> None:
    print_summary(report, console)
    if not report.ok:
        raise typer.Exit(1)


def _reader_options(**options: Any) -> dict[str, Any]:
    return {key: value for key, value in options.items() if value is not None}


@app.command("ingest")
def ingest_command(
    source: SourceOpt,
    root: RootOpt = None,
    depth: DepthOpt = None,
    split: SplitOpt = None,
    annotations: AnnotationsOpt = None,
    images: ImagesOpt = None,
    masks: MasksOpt = None,
    mask_encoding: MaskEncodingOpt = None,
    workers: WorkersOpt = 1,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = "local",
    build: BuildOpt = Path("build"),
    recipe: RecipeOpt = None,
    restart: RestartOpt = False,
) -> None:
    """Read a dataset on disk (psg, seagull, coco-panoptic, folder, demo) into sources/."""
    from .ingest import ingest

    opened = _open(build, recipe, restart)
    if root is None and source != "demo":
        console.print(f"[red]error:[/red] --source {source} needs --root")
        raise typer.Exit(2)
    options = _reader_options(
        split=split,
        annotations=annotations,
        images=images,
        masks=masks,
        mask_encoding=mask_encoding,
    )
    try:
        runner = _executor(executor, workers, ray_address)
        report = ingest(opened, source, root or Path("."), runner, depth, options)
    except (BadInput, ValueError) as err:
        console.print(f"[red]error:[/red] {err}")
        raise typer.Exit(2) from None
    _finish(report)


@app.command("distort")
def distort_command(
    workers: WorkersOpt = 1,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = "local",
    build: BuildOpt = Path("build"),
    recipe: RecipeOpt = None,
    restart: RestartOpt = False,
) -> None:
    """Render the 16 versions of every ingested image, and their plans."""
    from .distort import distort

    opened = _open(build, recipe, restart)
    try:
        report = distort(opened, _executor(executor, workers, ray_address))
    except BadInput as err:
        console.print(f"[red]error:[/red] {err}")
        raise typer.Exit(2) from None
    _finish(report)


DeviceOpt = Annotated[str, typer.Option("--device", help="cpu, cuda or cuda:N.")]
MetricOpt = Annotated[
    str | None, typer.Option("--metric", help="pyiqa full-reference metric (recipe default).")
]
WeightsOpt = Annotated[
    Path | None, typer.Option("--weights", help="Local weights file of the metric.")
]
BatchOpt = Annotated[int | None, typer.Option("--batch-size", min=1, help="Crops per batch.")]


@app.command("score")
def score_command(
    device: DeviceOpt = "cpu",
    metric: MetricOpt = None,
    weights: WeightsOpt = None,
    batch_size: BatchOpt = None,
    workers: WorkersOpt = 1,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = "local",
    build: BuildOpt = Path("build"),
    recipe: RecipeOpt = None,
    restart: RestartOpt = False,
) -> None:
    """Score every region and image of every version against the clean reference."""
    from .score import score
    from .scoring import ScoreError

    opened = _open(build, recipe, restart)
    try:
        report = score(
            opened,
            _executor(executor, workers, ray_address, 1 if device.startswith("cuda") else 0),
            device=device,
            metric=metric,
            weights=str(weights) if weights else None,
            batch_size=batch_size,
        )
    except (ScoreError, BadInput) as err:
        console.print(f"[red]error:[/red] {err}")
        raise typer.Exit(2) from None
    _finish(report)


@app.command("preview")
def preview_command(
    tag: Annotated[
        str | None, typer.Option("--tag", help="Image tag (default: the first).")
    ] = None,
    build: BuildOpt = Path("build"),
    recipe: RecipeOpt = None,
) -> None:
    """Write contact sheets of one image: every sub-type and level, and its 16 versions."""
    from .preview import preview

    opened = _open(build, recipe, False)
    try:
        paths = preview(opened, tag)
    except (FileNotFoundError, KeyError, BadInput) as err:
        console.print(f"[red]error:[/red] {err}")
        raise typer.Exit(2) from None
    for path in paths:
        console.print(f"wrote {path}")


@app.command("run")
def run_command(
    source: SourceOpt = "demo",
    root: RootOpt = None,
    device: DeviceOpt = "cpu",
    workers: WorkersOpt = 1,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = "local",
    build: BuildOpt = Path("build"),
    recipe: RecipeOpt = None,
    restart: RestartOpt = False,
) -> None:
    """Run every dataset stage in order on one source (the quickstart uses the demo data)."""
    common = {"workers": workers, "executor": executor, "ray_address": ray_address, "build": build}
    ingest_command(source=source, root=root, recipe=recipe, restart=restart, **common)
    distort_command(**common)
    score_command(device=device, **common)
