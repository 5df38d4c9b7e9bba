"""Model commands: train-panda, eval-panda and eval-mllm."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pandaset_build.cli.app import app, console
from pandaset_build.cli.options import (
    Baseline,
    BatchOpt,
    DeviceOpt,
    EvalMode,
    PromptKind,
    PromptSet,
    RandomBackboneOpt,
    ReadBuildOpt,
    TokenLimitField,
)
from pandaset_build.cli.paths import any_path, name_or_path, output_folder
from pandaset_build.errors import UsageError
from pandaset_build.store.atomic import write_json_atomic
from pandaset_build.store.build import build_lock
from pandaset_build.store.layout import BuildLayout

if TYPE_CHECKING:
    from pandaset_build.config.panda import PandaConfig
    from pandaset_build.pairsets import PairSource

PandaRecipeOpt = Annotated[
    str, typer.Option("--recipe", help="PANDA recipe file or name.", callback=name_or_path)
]
BackboneWeightsOpt = Annotated[
    Path | None,
    typer.Option(
        "--backbone-weights", help="Local DINOv2 ViT-S/14 weights file.", callback=any_path
    ),
]


def build_in_use(build: Path, *paths: Path) -> AbstractContextManager[None]:
    """The build's lock when one of `paths` (read or written) lies inside an existing build."""
    root = build.resolve()
    inside = any(p.resolve().is_relative_to(root) for p in paths)
    if inside and BuildLayout(build).build_file.exists():
        return build_lock(build)
    return nullcontext()


def _pairs(path: Path, split: str, mode: str, max_pairs: int | None, seed: int) -> PairSource:
    from pandaset_build.pairsets import SubsetSource, open_pairs

    source = open_pairs(path, split, mode)
    if max_pairs is not None and len(source) > max_pairs:
        source = SubsetSource(source, max_pairs, seed)
    return source


@app.command("train-panda")
def train_panda_command(
    recipe: PandaRecipeOpt = "panda",
    data: Annotated[
        Path | None,
        typer.Option(
            "--data", help="hf export or pandabench root (build's hf).", callback=any_path
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Checkpoints (build/panda).", callback=output_folder),
    ] = None,
    device: DeviceOpt = "cpu",
    backbone_weights: BackboneWeightsOpt = None,
    random_backbone: RandomBackboneOpt = False,
    no_resume: Annotated[bool, typer.Option("--no-resume", help="Start from scratch.")] = False,
    build: ReadBuildOpt = Path("build"),
) -> None:
    """Train PANDA (or a probe baseline) on an export; resumes from the last checkpoint."""
    from pandaset_build.config.panda import load_panda_config

    cfg = load_panda_config(recipe)
    data = data or build / "export" / "hf"
    out = out or build / "panda"
    with build_in_use(build, data, out):
        checkpoint = _train(cfg, data, out, device, no_resume, backbone_weights, random_backbone)
    console.print(f"wrote {checkpoint}")


def _train(
    cfg: PandaConfig,
    data: Path,
    out: Path,
    device: str,
    no_resume: bool,
    backbone_weights: Path | None,
    random_backbone: bool,
) -> Path:
    """Open the train and val pairs of `data` and train into `out`; the last checkpoint."""
    from pandaset_build.errors import InputNotFound
    from pandaset_build.panda.train import train

    train_source = _pairs(data, cfg.data.train_split, "all", cfg.data.max_pairs, cfg.train.seed)
    try:
        val_source = _pairs(data, cfg.data.val_split, "all", cfg.data.max_pairs, cfg.train.seed)
    except InputNotFound:
        val_source = None
    return train(
        cfg,
        data,
        out,
        device,
        resume=not no_resume,
        backbone_weights=backbone_weights,
        pretrained=backbone_weights is None and not random_backbone,
        random_init=random_backbone,
        train_source=train_source,
        val_source=val_source,
    )


@app.command("eval-panda")
def eval_panda_command(
    checkpoint: Annotated[
        Path | None, typer.Option("--checkpoint", help="A train-panda .pth.", callback=any_path)
    ] = None,
    baseline: Annotated[
        Baseline | None, typer.Option("--baseline", help="The seeded random baseline.")
    ] = None,
    bench: Annotated[
        Path | None,
        typer.Option(
            "--bench", help="bench folder, hf export or pandabench root.", callback=any_path
        ),
    ] = None,
    split: Annotated[str, typer.Option("--split", help="Split of an export.")] = "test",
    mode: Annotated[
        EvalMode, typer.Option("--mode", help="Pairs of a pandabench root.")
    ] = EvalMode.hard,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Metrics and graphs folder.", callback=output_folder),
    ] = None,
    device: DeviceOpt = "cpu",
    batch_size: BatchOpt = None,
    build: ReadBuildOpt = Path("build"),
) -> None:
    """The paper's metrics on a bench, a Distortion Graph JSON per pair and one graph PNG."""
    from pandaset_build.panda.baselines import RandomBaseline
    from pandaset_build.panda.evaluate import evaluate, format_table

    if (checkpoint is None) == (baseline is None):
        raise UsageError("give exactly one of --checkpoint and --baseline random")
    bench = bench or build / "bench" / "hard"
    name = checkpoint.parent.name if checkpoint else "random"
    out = out or build / "eval" / f"{name}-{bench.name}"
    graphs_dir = out / "graphs"
    with build_in_use(build, bench, out):
        source = _pairs(bench, split, mode.value, None, 0)
        model = checkpoint if checkpoint else RandomBaseline()
        result = evaluate(
            model,
            source,
            device=device,
            batch_size=batch_size or 1,
            graphs_dir=graphs_dir,
            png_dir=out,
        )
        write_json_atomic(out / "metrics.json", result)
    graphs = sorted(graphs_dir.glob("*.json"))
    print(format_table(result, name))
    console.print(f"wrote {out / 'metrics.json'} and {len(graphs)} graphs")


@app.command("eval-mllm")
def eval_mllm_command(
    model: Annotated[str, typer.Option("--model", help="Model name at the endpoint.")],
    api_base: Annotated[
        str, typer.Option("--api-base", help="OpenAI-compatible base URL, e.g. .../v1.")
    ],
    bench: Annotated[
        Path | None, typer.Option("--bench", help="A bench folder.", callback=any_path)
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Results, cache, prompts.", callback=output_folder)
    ] = None,
    prompt_type: Annotated[
        PromptKind, typer.Option("--prompt-type", help="pair (type b) or region (type a).")
    ] = PromptKind.pair,
    prompts: Annotated[
        PromptSet,
        typer.Option("--prompts", help="paper (the paper's prompts, verbatim) or extended."),
    ] = PromptSet.paper,
    hints: Annotated[
        Path | None,
        typer.Option("--hints", help="Distortion Graph JSONs (eval-panda).", callback=any_path),
    ] = None,
    runs: Annotated[int, typer.Option("--runs", min=1, help="Repeated runs (mean, std).")] = 3,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1)] = 4,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per request.")] = 120.0,
    max_retries: Annotated[int, typer.Option("--max-retries", min=0)] = 4,
    templates: Annotated[
        Path | None,
        typer.Option(
            "--templates",
            help="Folder of .txt files replacing templates by name.",
            callback=any_path,
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="First N pairs.")] = None,
    max_tokens: Annotated[
        int | None,
        typer.Option(
            "--max-tokens", min=0, help="Output limit; default 8192 for type (b), 0 sends none."
        ),
    ] = None,
    max_tokens_field: Annotated[
        TokenLimitField,
        typer.Option("--max-tokens-field", help="The request field of the output limit."),
    ] = TokenLimitField.max_tokens,
    temperature: Annotated[
        float | None, typer.Option("--temperature", help="Sent only when given.")
    ] = None,
    api_key_env: Annotated[str, typer.Option("--api-key-env")] = "OPENAI_API_KEY",
    build: ReadBuildOpt = Path("build"),
) -> None:
    """Ask a multimodal LLM about bench pairs; score its answers as eval-panda does."""
    from pandaset_build.mllm.run import eval_mllm

    bench = bench or build / "bench" / "hard"
    out = out or build / "eval-mllm" / f"{model.replace('/', '_')}-{bench.name}"
    with build_in_use(build, bench, out):
        eval_mllm(
            bench, model, api_base, out, prompt_type.value, hints, runs, concurrency, timeout,
            max_retries, templates, limit, prompts=prompts.value, api_key_env=api_key_env,
            temperature=temperature, max_tokens=max_tokens, max_tokens_field=max_tokens_field.value,
        )  # fmt: skip
