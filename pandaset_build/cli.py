"""The `pandaset-build` command line: one thin command per stage over the Python API.

Stage modules are imported inside their commands, so `--help` does not pay for torch and pyiqa.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from .builddir import Build, BuildError, open_build, write_json_atomic
from .executor import Executor, LocalExecutor, StageReport
from .recipe import RecipeError
from .sources import READERS
from .sources.record import BadInput

if TYPE_CHECKING:
    from .panda.config import PandaConfig
    from .panda.records import PairSource
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


def _open(build: Path, recipe: str | None, restart: bool, force: bool = False) -> Build:
    try:
        return open_build(build, recipe, restart, force)
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
    force: ForceOpt = False,
) -> None:
    """Read a dataset on disk (psg, seagull, coco-panoptic, folder, demo) into sources/."""
    from .ingest import ingest

    if root is None and source != "demo":
        console.print(f"[red]error:[/red] --source {source} needs --root")
        raise typer.Exit(2)
    if root is not None and not root.is_dir():
        console.print(f"[red]error:[/red] --root {root}: no such folder; check the path")
        raise typer.Exit(2)
    if root is not None and build.resolve().is_relative_to(root.resolve()):
        console.print(
            f"[red]error:[/red] --build {build} is inside the dataset folder --root {root}; "
            "a build never writes into a source dataset: choose a --build outside it"
        )
        raise typer.Exit(2)
    opened = _open(build, recipe, restart, force)
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
    except (BadInput, BuildError, ValueError) as err:
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
    force: ForceOpt = False,
) -> None:
    """Render the 16 versions of every ingested image, and their plans."""
    from .distort import distort

    opened = _open(build, recipe, restart, force)
    try:
        report = distort(opened, _executor(executor, workers, ray_address))
    except (BadInput, BuildError) as err:
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
    force: ForceOpt = False,
) -> None:
    """Score every region and image of every version against the clean reference."""
    from .score import score
    from .scoring import ScoreError

    opened = _open(build, recipe, restart, force)
    try:
        report = score(
            opened,
            _executor(executor, workers, ray_address, 1 if device.startswith("cuda") else 0),
            device=device,
            metric=metric,
            weights=str(weights) if weights else None,
            batch_size=batch_size,
        )
    except (ScoreError, BadInput, BuildError) as err:
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


LayoutOpt = Annotated[
    str, typer.Option("--layout", help="hf (parquet shards), pandabench, or llava (conversations).")
]


@app.command("export")
def export_command(
    layout: LayoutOpt = "hf",
    build: BuildOpt = Path("build"),
    recipe: RecipeOpt = None,
) -> None:
    """Write the Hugging Face parquet export, the PandaBench layout, or LLaVA conversations."""
    from .export import LAYOUTS, export
    from .export.shards import ShardLayoutError
    from .scored import MissingScores

    opened = _open(build, recipe, False)
    if layout not in LAYOUTS:
        console.print(f"[red]error:[/red] --layout {layout}: expected one of {', '.join(LAYOUTS)}")
        raise typer.Exit(2)
    try:
        summary = export(opened, layout)  # type: ignore[arg-type]
    except (MissingScores, ShardLayoutError) as err:
        console.print(f"[red]error:[/red] {err}")
        raise typer.Exit(2) from None
    console.print(
        f"export {layout}: {summary.files} files in {summary.folder}, "
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
    from huggingface_hub.errors import HfHubHTTPError

    from .publish import PublishError, describe, plan_publish, publish

    opened = _open(build, None, False)
    try:
        plan = plan_publish(opened, repo, bench, pandabench)
        if dry_run:
            print(describe(plan))
            return
        url = publish(plan, private, endpoint)
    except (PublishError, HfHubHTTPError) as err:
        console.print(f"[red]error:[/red] {err}")
        raise typer.Exit(2) from None
    console.print(f"published {len(plan.files) + 1} files to {repo}: {url}")


@app.command("split-bench")
def split_bench_command(
    manifest: Annotated[
        str | None,
        typer.Option("--manifest", help="published, or a pair-list file; default: sample."),
    ] = None,
    build: BuildOpt = Path("build"),
    recipe: RecipeOpt = None,
) -> None:
    """Write bench/easy, bench/medium and bench/hard from the test split."""
    from .bench import ManifestError, split_bench
    from .scored import MissingScores

    opened = _open(build, recipe, False)
    try:
        summary = split_bench(opened, manifest)
    except (ManifestError, MissingScores, FileNotFoundError) as err:
        console.print(f"[red]error:[/red] {err}")
        raise typer.Exit(2) from None
    console.print(f"bench ({summary.selection}): {summary.pairs} pairs in {summary.folder}")


@app.command("report")
def report_command(build: BuildOpt = Path("build"), recipe: RecipeOpt = None) -> None:
    """Label statistics (table, JSON, plot) and sample sheets of a scored build."""
    from .report import report
    from .scored import MissingScores

    opened = _open(build, recipe, False)
    try:
        paths = report(opened, console)
    except MissingScores as err:
        console.print(f"[red]error:[/red] {err}")
        raise typer.Exit(2) from None
    for path in paths:
        console.print(f"wrote {path}")


@app.command("gallery")
def gallery_command(
    sample: Annotated[
        int, typer.Option("--sample", min=0, help="Dataset pairs per split besides the benches.")
    ] = 24,
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder (default build/gallery).")
    ] = None,
    build: BuildOpt = Path("build"),
    recipe: RecipeOpt = None,
) -> None:
    """A static gallery of the benches and a dataset sample: open gallery/index.html from disk."""
    from .gallery import build_gallery
    from .scored import MissingScores

    opened = _open(build, recipe, False)
    try:
        summary = build_gallery(opened, out, sample)
    except (MissingScores, FileNotFoundError) as err:
        console.print(f"[red]error:[/red] {err}")
        raise typer.Exit(2) from None
    console.print(
        f"gallery: {summary.pairs} pairs of {summary.images} images in {summary.seconds:.1f} s; "
        f"open {(summary.folder / 'index.html').resolve().as_uri()}"
    )


PandaRecipeOpt = Annotated[str, typer.Option("--recipe", help="PANDA recipe file or name.")]
TorchDeviceOpt = Annotated[str, typer.Option("--device", help="cpu, cuda or cuda:N.")]
BackboneWeightsOpt = Annotated[
    Path | None, typer.Option("--backbone-weights", help="Local DINOv2 ViT-S/14 weights file.")
]
RandomBackboneOpt = Annotated[
    bool,
    typer.Option(
        "--random-backbone", help="Random backbone weights: for offline demos and tests only."
    ),
]


def _panda_config(recipe: str) -> PandaConfig:
    from .panda.config import PandaConfig
    from .recipe import resolve_recipe_path

    try:
        return PandaConfig.from_yaml(resolve_recipe_path(recipe))
    except (RecipeError, ValueError) as err:
        console.print(f"[red]error:[/red] {recipe}: {err}")
        raise typer.Exit(2) from None


def _pairs(path: Path, split: str, mode: str, max_pairs: int | None, seed: int) -> PairSource:
    from .panda.parquet_sources import SubsetSource, open_pairs

    source = open_pairs(path, split, mode)
    if max_pairs is not None and len(source) > max_pairs:
        source = SubsetSource(source, max_pairs, seed)
    return source


@app.command("train-panda")
def train_panda_command(
    recipe: PandaRecipeOpt = "panda",
    data: Annotated[
        Path | None, typer.Option("--data", help="hf export or pandabench root (build's hf).")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Checkpoints (build/panda).")] = None,
    device: TorchDeviceOpt = "cpu",
    backbone_weights: BackboneWeightsOpt = None,
    random_backbone: RandomBackboneOpt = False,
    no_resume: Annotated[bool, typer.Option("--no-resume", help="Start from scratch.")] = False,
    build: BuildOpt = Path("build"),
) -> None:
    """Train PANDA (or a probe baseline) on an export; resumes from the last checkpoint."""
    from .panda.backbone import BackboneWeightsError
    from .panda.train import train

    cfg = _panda_config(recipe)
    data = data or build / "export" / "hf"
    try:
        train_source = _pairs(data, cfg.data.train_split, "all", cfg.data.max_pairs, cfg.train.seed)
        try:
            val_source = _pairs(data, cfg.data.val_split, "all", cfg.data.max_pairs, cfg.train.seed)
        except FileNotFoundError:
            val_source = None
        checkpoint = train(
            cfg,
            data,
            out or build / "panda",
            device,
            resume=not no_resume,
            backbone_weights=backbone_weights,
            pretrained=backbone_weights is None and not random_backbone,
            random_init=random_backbone,
            train_source=train_source,
            val_source=val_source,
        )
    except (FileNotFoundError, BackboneWeightsError, ValueError) as err:
        console.print(f"[red]error:[/red] {err}")
        raise typer.Exit(2) from None
    console.print(f"wrote {checkpoint}")


@app.command("eval-panda")
def eval_panda_command(
    checkpoint: Annotated[
        Path | None, typer.Option("--checkpoint", help="A train-panda .pth.")
    ] = None,
    baseline: Annotated[
        str | None, typer.Option("--baseline", help="random: the seeded random baseline.")
    ] = None,
    bench: Annotated[
        Path | None, typer.Option("--bench", help="bench folder, hf export or pandabench root.")
    ] = None,
    split: Annotated[str, typer.Option("--split", help="Split of an export.")] = "test",
    mode: Annotated[str, typer.Option("--mode", help="pandabench root: hard or all.")] = "hard",
    out: Annotated[Path | None, typer.Option("--out", help="Metrics and graphs folder.")] = None,
    device: TorchDeviceOpt = "cpu",
    batch_size: BatchOpt = None,
    build: BuildOpt = Path("build"),
) -> None:
    """The paper's metrics on a bench, a Distortion Graph JSON per pair and one graph PNG."""
    from .panda.baselines import RandomBaseline
    from .panda.evaluate import evaluate, format_table
    from .panda.graph import render_graph_png

    if (checkpoint is None) == (baseline is None):
        console.print("[red]error:[/red] give exactly one of --checkpoint and --baseline random")
        raise typer.Exit(2)
    if baseline not in (None, "random"):
        console.print(f"[red]error:[/red] --baseline {baseline}: only random (train the probes)")
        raise typer.Exit(2)
    bench = bench or build / "bench" / "hard"
    name = checkpoint.parent.name if checkpoint else "random"
    out = out or build / "eval" / f"{name}-{bench.name}"
    try:
        source = _pairs(bench, split, mode, None, 0)
        model = checkpoint if checkpoint else RandomBaseline()
        result = evaluate(
            model, source, device=device, batch_size=batch_size or 1, graphs_dir=out / "graphs"
        )
    except (FileNotFoundError, ValueError) as err:
        console.print(f"[red]error:[/red] {err}")
        raise typer.Exit(2) from None
    write_json_atomic(out / "metrics.json", result)
    graphs = sorted((out / "graphs").glob("*.json"))
    if graphs:
        render_graph_png(json.loads(graphs[0].read_text()), out / f"{graphs[0].stem}.png")
    print(format_table(result, name))
    console.print(f"wrote {out / 'metrics.json'} and {len(graphs)} graphs")


@app.command("eval-mllm")
def eval_mllm_command(
    model: Annotated[str, typer.Option("--model", help="Model name at the endpoint.")],
    api_base: Annotated[
        str, typer.Option("--api-base", help="OpenAI-compatible base URL, e.g. .../v1.")
    ],
    bench: Annotated[Path | None, typer.Option("--bench", help="A bench folder.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Results, cache, prompts.")] = None,
    prompt_type: Annotated[
        str, typer.Option("--prompt-type", help="pair (type b) or region (type a).")
    ] = "pair",
    hints: Annotated[
        Path | None, typer.Option("--hints", help="Distortion Graph JSONs (eval-panda).")
    ] = None,
    runs: Annotated[int, typer.Option("--runs", min=1, help="Repeated runs (mean, std).")] = 1,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1)] = 4,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per request.")] = 120.0,
    max_retries: Annotated[int, typer.Option("--max-retries", min=0)] = 4,
    templates: Annotated[Path | None, typer.Option("--templates", help="Prompt folder.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="First N pairs.")] = None,
    api_key_env: Annotated[str, typer.Option("--api-key-env")] = "OPENAI_API_KEY",
    build: BuildOpt = Path("build"),
) -> None:
    """Ask a multimodal LLM about bench pairs; score its answers as eval-panda does."""
    from .mllm.run import eval_mllm

    bench = bench or build / "bench" / "hard"
    out = out or build / "eval-mllm" / f"{model.replace('/', '_')}-{bench.name}"
    try:
        eval_mllm(
            bench, model, api_base, out, prompt_type, hints, runs, concurrency, timeout,
            max_retries, templates, limit, api_key_env=api_key_env,
        )  # fmt: skip
    except (FileNotFoundError, ValueError) as err:
        console.print(f"[red]error:[/red] {err}")
        raise typer.Exit(2) from None


@app.command("run")
def run_command(
    source: SourceOpt = "demo",
    root: RootOpt = None,
    device: DeviceOpt = "cpu",
    workers: WorkersOpt = 1,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = "local",
    panda: Annotated[
        str | None,
        typer.Option("--panda", help="Then train PANDA with this recipe and evaluate on Hard."),
    ] = None,
    random_backbone: RandomBackboneOpt = False,
    build: BuildOpt = Path("build"),
    recipe: RecipeOpt = None,
    restart: RestartOpt = False,
    force: ForceOpt = False,
) -> None:
    """Run every dataset stage in order on one source (the quickstart uses the demo data)."""
    common = {"workers": workers, "executor": executor, "ray_address": ray_address, "build": build}
    ingest_command(source=source, root=root, recipe=recipe, restart=restart, force=force, **common)
    distort_command(**common)
    score_command(device=device, **common)
    export_command(layout="hf", build=build)
    export_command(layout="pandabench", build=build)
    split_bench_command(manifest=None, build=build)
    report_command(build=build)
    if panda is not None:
        train_panda_command(
            recipe=panda, device=device, random_backbone=random_backbone, build=build
        )
        eval_panda_command(checkpoint=build / "panda" / "last.pth", device=device, build=build)
