"""Dataset commands: ingest, depth, distort, score, preview, export, split-bench, report, run.

Every command that writes takes the build's lock first, before it reads, writes or deletes
anything and before a model is loaded. Commands that read the stages' outputs check them
against their completion records first (`engine.drift`).
Stage modules are imported inside their commands, so `--help` does not pay for torch and pyiqa.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from pandaset_build.cli.app import app, console
from pandaset_build.cli.options import (
    BuildOpt,
    DeviceOpt,
    ExecutorKind,
    ExecutorOpt,
    ForceOpt,
    JsonOpt,
    Layout,
    LimitOpt,
    MaskEncoding,
    Precision,
    RandomBackboneOpt,
    RayAddressOpt,
    ReadBuildOpt,
    RecipeOpt,
    RestartOpt,
    RetryFailedOpt,
    Source,
    TagsOpt,
    WorkersOpt,
)
from pandaset_build.cli.paths import any_path, name_or_path, output_folder
from pandaset_build.engine import drift
from pandaset_build.engine.stage import StageReport
from pandaset_build.engine.summary import print_summary
from pandaset_build.errors import UsageError
from pandaset_build.sources.common import ReaderOptions
from pandaset_build.store.build import Build, build_lock, build_recipe, open_build
from pandaset_build.store.layout import BuildLayout
from pandaset_build.store.oserrors import NO_SPACE, error_number, explain, human_bytes

SourceOpt = Annotated[Source, typer.Option("--source", help="Input format.")]
RootOpt = Annotated[
    Path | None, typer.Option("--root", help="Dataset root (not for demo).", callback=any_path)
]
DepthOpt = Annotated[
    Path | None, typer.Option("--depth", help="Folder of per-image depth maps.", callback=any_path)
]
SplitOpt = Annotated[str | None, typer.Option("--split", help="coco-panoptic split (val2017).")]
AnnotationsOpt = Annotated[
    Path | None,
    typer.Option(
        "--annotations",
        help="psg, coco-panoptic: annotation file; seagull: ROI file.",
        callback=any_path,
    ),
]
ImagesOpt = Annotated[
    Path | None,
    typer.Option(
        "--images", help="coco-panoptic, folder: image folder override.", callback=any_path
    ),
]
MasksOpt = Annotated[
    Path | None,
    typer.Option("--masks", help="coco-panoptic, folder: mask folder override.", callback=any_path),
]
MaskEncodingOpt = Annotated[
    MaskEncoding | None, typer.Option("--mask-encoding", help="folder: how mask PNGs hold ids.")
]
MaskBackgroundOpt = Annotated[
    int | None,
    typer.Option("--mask-background", min=0, help="folder: the id of unlabelled pixels (0)."),
]
MetricOpt = Annotated[
    str | None, typer.Option("--metric", help="pyiqa full-reference metric (recipe default).")
]
WeightsOpt = Annotated[
    Path | None,
    typer.Option("--weights", help="Local weights file of the metric.", callback=any_path),
]
PrecisionOpt = Annotated[
    Precision,
    typer.Option(
        "--precision",
        help="Arithmetic of the metric: fp32 (TF32 off), tf32 (CUDA) or bf16 (autocast); part of "
        "the scores' identity.",
    ),
]
ScoreRestartOpt = Annotated[
    bool,
    typer.Option(
        "--restart",
        help="Rescore every shard (e.g. at another precision or device); with a --recipe other "
        "than the build's, delete the build's outputs and start over.",
    ),
]
GpusOpt = Annotated[
    str | None,
    typer.Option(
        "--gpus", help="With --device cuda: the GPUs to use, one worker each (0,2); default all."
    ),
]
CropBatchOpt = Annotated[int | None, typer.Option("--batch-size", min=1, help="Crops per batch.")]
LayoutOpt = Annotated[Layout, typer.Option("--layout", help="Export layout.")]
DEMO = Source("demo")


def finish(report: StageReport, build: Path) -> None:
    """Print a stage's summary; exit 1 when an item or shard failed (a rerun resumes).

    Shards that stopped on a file-system error end the command with that error as a sentence
    (with a full disk: the space the stage still needs, measured on the shards that finished).
    """
    print_summary(report, console)
    faults = report.faults
    if faults:
        first = faults[0]
        need = report.bytes_needed()
        shards = f"{len(faults)} of {len(report.records)} {report.stage} shards of {build} stopped"
        needs = (
            f"{shards}; they need about {human_bytes(need)} more"
            if need is not None
            else f"{shards}; how much they need is known once one shard finishes"
        )
        code = first.fault_errno or 0
        explained = explain(OSError(code, os.strerror(code), first.fault_path), build, needs)
        if explained is not None:
            raise explained
    if not report.ok:
        raise typer.Exit(1)


@contextmanager
def export_space(build: Path) -> Iterator[None]:
    """A full disk during an export says what the export needs: it packs the version images."""
    try:
        yield
    except OSError as err:
        if error_number(err) not in NO_SPACE:
            raise
        versions = BuildLayout(build).versions
        size = sum(p.stat().st_size for p in versions.rglob("*") if p.is_file())
        need = f"the export of {build} packs the version images ({human_bytes(size)} in {versions})"
        raise explain(err, build, need) from None  # type: ignore[misc]


def warn_split_counts(opened: Build) -> None:
    """Warn when the recipe's split counts ask for more images than the build holds."""
    from pandaset_build.labels.splits import count_shortfall
    from pandaset_build.store.catalog import source_index

    shortfall = count_shortfall(opened.recipe, len(source_index(opened)))
    if shortfall:
        console.print(f"[yellow]warning:[/yellow] {escape(shortfall)}")


def reading(build: Path, recipe: str | None, stages: Sequence[str] = drift.PIPELINE) -> Build:
    """Open an existing build for a command that reads `stages`: their records must hold."""
    opened = open_build(build, recipe, create=False)
    drift.check_upstream(opened, stages)
    if "score" in stages:
        drift.check_one_metric(opened)
    return opened


def reader_options(
    split: str | None,
    annotations: Path | None,
    images: Path | None,
    masks: Path | None,
    mask_encoding: MaskEncoding | None,
    mask_background: int | None,
) -> ReaderOptions:
    """The source reader's options the user gave (the reader refuses those it does not take)."""
    given = {
        "split": split,
        "annotations": annotations,
        "images": images,
        "masks": masks,
        "mask_encoding": mask_encoding.value if mask_encoding else None,
        "mask_background": mask_background,
    }
    return {key: value for key, value in given.items() if value is not None}


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
    mask_background: MaskBackgroundOpt = None,
    limit: LimitOpt = None,
    tags: TagsOpt = None,
    workers: WorkersOpt = 1,
    executor: ExecutorOpt = ExecutorKind.local,
    ray_address: RayAddressOpt = "local",
    build: BuildOpt = Path("build"),
    recipe: RecipeOpt = None,
    restart: RestartOpt = False,
    force: ForceOpt = False,
    retry_failed: RetryFailedOpt = False,
) -> None:
    """Read a dataset on disk (psg, seagull, coco-panoptic, folder, demo) into sources/."""
    from pandaset_build.engine.executors import make_executor
    from pandaset_build.stages.ingest import (
        check_reader_options,
        ingest,
        list_source,
        read_tag_list,
    )

    if root is None and source != DEMO:
        raise UsageError(f"--source {source.value} needs --root")
    if root is not None and source == DEMO:
        raise UsageError(f"--root {root}: --source demo reads the bundled photos: drop --root")
    if root is not None and not root.is_dir():
        raise UsageError(f"--root {root}: no such folder; check the path")
    if root is not None and build.resolve().is_relative_to(root.resolve()):
        raise UsageError(
            f"--build {build} is inside the dataset folder --root {root}; a build never writes "
            "into a source dataset: choose a --build outside it"
        )
    tag_list = read_tag_list(tags) if tags is not None else None
    options = reader_options(split, annotations, images, masks, mask_encoding, mask_background)
    check_reader_options(source.value, options)
    with build_lock(build):
        build_recipe(build, recipe, restart)
        listing = list_source(source.value, root or Path("."), options)
        opened = open_build(build, recipe, restart, force)
        runner = make_executor(executor.value, workers, ray_address)
        report = ingest(
            opened, source.value, root or Path("."), runner, depth, options,
            limit=limit, tags=tag_list, retry_failed=retry_failed, listing=listing,
        )  # fmt: skip
        warn_split_counts(opened)
        finish(report, build)


@app.command("depth")
def depth_command(
    device: DeviceOpt = "cpu",
    workers: WorkersOpt = 1,
    executor: ExecutorOpt = ExecutorKind.local,
    ray_address: RayAddressOpt = "local",
    build: BuildOpt = Path("build"),
    recipe: RecipeOpt = None,
    restart: RestartOpt = False,
    force: ForceOpt = False,
    retry_failed: RetryFailedOpt = False,
) -> None:
    """Estimate the haze distance of every image once with the depth model (recipe
    `haze.depth_source: model`) and write it into the build; other tiers need nothing here."""
    from pandaset_build.engine.executors import make_executor
    from pandaset_build.stages.depth_maps import depth

    with build_lock(build):
        opened = open_build(build, recipe, restart, force, create=False)
        gpus = 1 if device.startswith("cuda") else 0
        chosen = make_executor(executor.value, workers, ray_address, gpus)
        finish(depth(opened, chosen, device=device, retry_failed=retry_failed), build)


@app.command("distort")
def distort_command(
    workers: WorkersOpt = 1,
    executor: ExecutorOpt = ExecutorKind.local,
    ray_address: RayAddressOpt = "local",
    build: BuildOpt = Path("build"),
    recipe: RecipeOpt = None,
    restart: RestartOpt = False,
    force: ForceOpt = False,
    retry_failed: RetryFailedOpt = False,
) -> None:
    """Render the 16 versions of every ingested image, and their plans."""
    from pandaset_build.engine.executors import make_executor
    from pandaset_build.stages.distort import distort

    with build_lock(build):
        opened = open_build(build, recipe, restart, force, create=False)
        finish(
            distort(opened, make_executor(executor.value, workers, ray_address), retry_failed),
            build,
        )


@app.command("score")
def score_command(
    device: DeviceOpt = "cpu",
    metric: MetricOpt = None,
    weights: WeightsOpt = None,
    batch_size: CropBatchOpt = None,
    precision: PrecisionOpt = Precision.fp32,
    gpus: GpusOpt = None,
    workers: WorkersOpt = 1,
    executor: ExecutorOpt = ExecutorKind.local,
    ray_address: RayAddressOpt = "local",
    build: BuildOpt = Path("build"),
    recipe: RecipeOpt = None,
    restart: ScoreRestartOpt = False,
    force: ForceOpt = False,
    retry_failed: RetryFailedOpt = False,
) -> None:
    """Score every region and image of every version against the clean reference.

    `--device cuda` runs one resident worker per GPU (locally: every visible one, or `--gpus`;
    on Ray: one actor per GPU of the cluster); `cuda:N` one worker on that GPU."""
    from pandaset_build.engine.executors import make_executor
    from pandaset_build.iqa.metric import worker_devices
    from pandaset_build.stages.score import score

    with build_lock(build):
        opened = open_build(build, recipe, restart, force, create=False)
        if executor == ExecutorKind.ray and gpus is not None:
            raise UsageError(f"--gpus {gpus}: local only; on Ray every GPU of the cluster is used")
        devices = worker_devices(device, gpus) if executor == ExecutorKind.local else None
        per_shard = 1 if device.startswith("cuda") else 0
        report = score(
            opened,
            make_executor(executor.value, workers, ray_address, per_shard, devices),
            device=device,
            metric=metric,
            weights=str(weights) if weights else None,
            batch_size=batch_size,
            retry_failed=retry_failed,
            precision=precision.value,
            restart=restart,
        )
        finish(report, build)


@app.command("preview")
def preview_command(
    tag: Annotated[
        str | None, typer.Option("--tag", help="Image tag (default: the first).")
    ] = None,
    build: BuildOpt = Path("build"),
    recipe: RecipeOpt = None,
) -> None:
    """Write contact sheets of one image: every sub-type and level, and its 16 versions."""
    from pandaset_build.stages.preview import preview

    with build_lock(build):
        for path in preview(reading(build, recipe, (drift.INGEST,)), tag):
            console.print(f"wrote {path}")


@app.command("export")
def export_command(
    layout: LayoutOpt = Layout.hf,
    build: BuildOpt = Path("build"),
    recipe: RecipeOpt = None,
) -> None:
    """Write the Hugging Face parquet export, the PandaBench layout, or LLaVA conversations."""
    from pandaset_build.stages.export import export

    with build_lock(build), export_space(build):
        summary = export(reading(build, recipe), layout.value)
    console.print(
        f"export {layout.value}: {summary.files} files in {summary.folder}, "
        f"{summary.rows_per_second:.0f} rows/s, rows {summary.rows}"
    )


@app.command("publish")
def publish_command(
    repo: Annotated[str, typer.Option("--repo", help="Hub dataset repo, NAMESPACE/NAME.")],
    bench: Annotated[bool, typer.Option("--bench", help="Also upload bench/<kind>/.")] = False,
    pandabench: Annotated[
        bool, typer.Option("--pandabench", help="Also upload export/pandabench/.")
    ] = False,
    private: Annotated[bool, typer.Option("--private", help="Create the repo private.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the files, sizes and card; send nothing.")
    ] = False,
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", help="Hub URL (default: HF_ENDPOINT or the Hub).")
    ] = None,
    build: BuildOpt = Path("build"),
) -> None:
    """Upload export/hf (and the benches, PandaBench layout) to a Hugging Face dataset repo."""
    from pandaset_build.stages.publish import describe, plan_publish, publish

    with build_lock(build):
        plan = plan_publish(open_build(build, create=False), repo, bench, pandabench)
        if dry_run:
            print(describe(plan))
            return
        url = publish(plan, private, endpoint)
    console.print(f"published {len(plan.files) + 1} files to {repo}: {url}")


@app.command("split-bench")
def split_bench_command(
    manifest: Annotated[
        str | None,
        typer.Option(
            "--manifest",
            help="published, or a pair-list file; default: sample.",
            callback=name_or_path,
        ),
    ] = None,
    build: BuildOpt = Path("build"),
    recipe: RecipeOpt = None,
) -> None:
    """Write bench/easy, bench/medium and bench/hard from the test split."""
    from pandaset_build.labels.pairs import DIFFICULTIES
    from pandaset_build.stages.bench import split_bench

    with build_lock(build):
        summary = split_bench(reading(build, recipe), manifest)
    console.print(f"bench ({summary.selection}): {summary.pairs} pairs in {summary.folder}")
    for kind in sorted(set(DIFFICULTIES) - set(summary.pairs)):
        console.print(f"bench {kind}: no {kind} pairs with the recipe's versions: not written")


@app.command("report")
def report_command(build: BuildOpt = Path("build"), recipe: RecipeOpt = None) -> None:
    """Label statistics (table, JSON, plot) and sample sheets of a scored build."""
    from pandaset_build.stages.report import report

    with build_lock(build):
        for path in report(reading(build, recipe), console):
            console.print(f"wrote {path}")


@app.command("gallery")
def gallery_command(
    sample: Annotated[
        int, typer.Option("--sample", min=0, help="Dataset pairs per split besides the benches.")
    ] = 24,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder (default build/gallery).", callback=output_folder),
    ] = None,
    build: BuildOpt = Path("build"),
    recipe: RecipeOpt = None,
) -> None:
    """A static gallery of the benches and a dataset sample: open gallery/index.html from disk."""
    from pandaset_build.gallery import build_gallery

    with build_lock(build):
        summary = build_gallery(reading(build, recipe), out, sample)
    console.print(
        f"gallery: {summary.pairs} pairs of {summary.images} images in {summary.seconds:.1f} s; "
        f"open {(summary.folder / 'index.html').resolve().as_uri()}"
    )


@app.command("status")
def status_command(build: ReadBuildOpt = Path("build"), as_json: JsonOpt = False) -> None:
    """What the build holds and lacks: shards, images, failures, staleness, disk, time left."""
    import json

    from rich.console import Console

    from pandaset_build.stages.status import build_status, print_status

    found = build_status(build)
    if as_json:
        print(json.dumps(found.to_json(), indent=2))
    else:
        print_status(found, Console(soft_wrap=True))


@app.command("run")
def run_command(
    source: SourceOpt = DEMO,
    root: RootOpt = None,
    depth: DepthOpt = None,
    split: SplitOpt = None,
    annotations: AnnotationsOpt = None,
    images: ImagesOpt = None,
    masks: MasksOpt = None,
    mask_encoding: MaskEncodingOpt = None,
    mask_background: MaskBackgroundOpt = None,
    device: DeviceOpt = "cpu",
    metric: MetricOpt = None,
    weights: WeightsOpt = None,
    batch_size: CropBatchOpt = None,
    workers: WorkersOpt = 1,
    executor: ExecutorOpt = ExecutorKind.local,
    ray_address: RayAddressOpt = "local",
    limit: LimitOpt = None,
    tags: TagsOpt = None,
    panda: Annotated[
        str | None,
        typer.Option("--panda", help="Then train PANDA with this recipe and evaluate on Hard."),
    ] = None,
    random_backbone: RandomBackboneOpt = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Print what each stage would write and a time estimate (measured on a few of "
            "the images); do nothing.",
        ),
    ] = False,
    as_json: JsonOpt = False,
    build: BuildOpt = Path("build"),
    recipe: RecipeOpt = None,
    restart: RestartOpt = False,
    force: ForceOpt = False,
    retry_failed: RetryFailedOpt = False,
) -> None:
    """Run every dataset stage in order on one source (the quickstart uses the demo data)."""
    from pandaset_build.cli.models import eval_panda_command, train_panda_command

    if dry_run:
        from pandaset_build.stages.estimate import estimate_run, print_estimate

        chosen = build_recipe(build, recipe, restart)
        options = reader_options(split, annotations, images, masks, mask_encoding, mask_background)
        found = estimate_run(
            build, chosen, source.value, root, options, limit=limit, tags=tags, device=device,
            workers=workers,
        )  # fmt: skip
        if as_json:
            import json

            print(json.dumps(found.to_json(), indent=2))
        else:
            from rich.console import Console

            print_estimate(found, Console())
        return
    common = {"workers": workers, "executor": executor, "ray_address": ray_address, "build": build}
    with build_lock(build):
        ingest_command(
            source=source, root=root, depth=depth, split=split, annotations=annotations,
            images=images, masks=masks, mask_encoding=mask_encoding,
            mask_background=mask_background, recipe=recipe, restart=restart, force=force,
            limit=limit, tags=tags, retry_failed=retry_failed, **common,
        )  # fmt: skip
        depth_command(device=device, retry_failed=retry_failed, **common)
        distort_command(retry_failed=retry_failed, **common)
        score_command(
            device=device, metric=metric, weights=weights, batch_size=batch_size,
            retry_failed=retry_failed, **common,
        )  # fmt: skip
        export_command(layout=Layout.hf, build=build)
        export_command(layout=Layout.pandabench, build=build)
        split_bench_command(manifest=None, build=build)
        report_command(build=build)
        if panda is not None:
            train_panda_command(
                recipe=panda, device=device, random_backbone=random_backbone, build=build
            )
            eval_panda_command(checkpoint=build / "panda" / "last.pth", device=device, build=build)
