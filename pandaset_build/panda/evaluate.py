"""Evaluate a checkpoint as the published `non_graph_inference.py`: pooled-region metrics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from pandaset_build.config.panda import PandaConfig
from pandaset_build.errors import InputNotFound, WeightsError
from pandaset_build.json_types import JsonObject
from pandaset_build.labels import metrics
from pandaset_build.pairsets import PairRecord, PairSource, PandaBenchSource, Triple
from pandaset_build.panda.data import Batch, PandaPairDataset, collate_pairs, to_device
from pandaset_build.panda.factory import build_model, forward_batch
from pandaset_build.panda.graph import (
    PairPrediction,
    graph_filename,
    pair_graph,
    picture_for,
    render_graph_png,
    write_graph,
)

SIDES = ("anchor", "target")
TASKS = ("comparison", "distortion", "severity", "score")


@dataclass
class Predictions:
    """Ground truth and predictions of all kept regions, pooled over pairs."""

    comparison: np.ndarray  # (N, 2): ground truth, prediction
    distortion: np.ndarray  # (N, 2 sides, 2)
    severity: np.ndarray  # (N, 2 sides, 2)
    score: np.ndarray  # (N, 2 sides, 2)
    pairs: list[PairPrediction] = field(default_factory=list)


def _pair_predictions(batch: Batch, pred: dict[str, np.ndarray]) -> list[PairPrediction]:
    """Split a batch's predictions into one record per pair (kept regions come first)."""
    out = []
    for b, kept in enumerate(batch["region_index"]):
        n = len(kept)
        out.append(
            PairPrediction(
                tag=batch["img_tags"][b],
                anchor_version=batch["anchor_version"][b],
                target_version=batch["target_version"][b],
                names=batch["names"][b],
                region_index=kept,
                relations=batch["relations"][b],
                comparison=pred["comparison"][b, :n].tolist(),
                distortion=[tuple(x) for x in pred["distortion"][b, :n].tolist()],
                severity=[tuple(x) for x in pred["severity"][b, :n].tolist()],
                score=[tuple(x) for x in pred["score"][b, :n].tolist()],
            )
        )
    return out


@torch.no_grad()
def predict(
    model: nn.Module, loader: DataLoader, device: torch.device | str, keep_pairs: bool = False
) -> Predictions:
    """Run the model in eval mode (fp32) and pool ground truth and predictions of valid regions."""
    model.eval()
    rows: dict[str, list[np.ndarray]] = {k: [] for k in TASKS}
    pairs: list[PairPrediction] = []
    for raw in loader:
        if raw is None:
            continue
        batch = to_device(raw, torch.device(device))
        out = forward_batch(model, batch)
        pred = {
            "comparison": out.comparison.argmax(-1),
            "distortion": out.distortion.argmax(-1),
            "severity": out.severity.argmax(-1),
            "score": out.score.float(),
        }
        pred = {k: v.cpu().numpy() for k, v in pred.items()}
        gt = {
            "comparison": batch["comparison"][:, 1:],
            "distortion": batch["distortion"],
            "severity": batch["severity"],
            "score": batch["scores"],
        }
        valid = batch["region_mask_flags"].cpu().numpy()
        for key, p in pred.items():
            g = gt[key].cpu().numpy()
            rows[key].append(np.stack([g, p], axis=-1).reshape(-1, *g.shape[2:], 2)[valid])
        if keep_pairs:
            pairs.extend(_pair_predictions(raw, pred))
    pooled = {
        k: np.concatenate(v) if v else np.zeros((0, 2) if k == "comparison" else (0, 2, 2))
        for k, v in rows.items()
    }
    return Predictions(**pooled, pairs=pairs)


def _average(reports: list[dict[str, float]]) -> dict[str, float]:
    """Key-wise mean of anchor and target reports."""
    return {k: float(np.mean([r[k] for r in reports])) for k in reports[0]}


def compute_metrics(pred: Predictions) -> JsonObject:
    """Comparison A/P/R/F1; distortion and severity per side and Avg; SRCC/PLCC per side and Avg."""
    result: JsonObject = {
        "regions": len(pred.comparison),
        "comparison": metrics.classification_report(pred.comparison[:, 0], pred.comparison[:, 1]),
    }
    for name in ("distortion", "severity"):
        arr = getattr(pred, name)
        per_side = {
            side: metrics.classification_report(arr[:, s, 0], arr[:, s, 1])
            for s, side in enumerate(SIDES)
        }
        result[name] = {**per_side, "avg": _average(list(per_side.values()))}
    scores = {
        side: {
            "srcc": metrics.srcc(pred.score[:, s, 1], pred.score[:, s, 0]),
            "plcc": metrics.plcc(pred.score[:, s, 1], pred.score[:, s, 0]),
        }
        for s, side in enumerate(SIDES)
    }
    result["score"] = {**scores, "avg": _average(list(scores.values()))}
    return result


TABLE_COLUMNS = [
    *(("comparison", None, k) for k in ("acc", "precision", "recall", "f1")),
    *(("distortion", "avg", k) for k in ("acc", "precision", "recall", "f1")),
    *(("severity", "avg", k) for k in ("acc", "precision", "recall", "f1")),
    ("score", "avg", "srcc"),
    ("score", "avg", "plcc"),
]


def format_table(result: JsonObject, name: str = "PANDA") -> str:
    """The paper's table header and row (2 decimals): Comparison, Distortion, Severity, Score."""
    header = "Model | Cmp A P R F1 | Dist(Avg) A P R F1 | Sev(Avg) A P R F1 | SRCC PLCC"
    values = []
    for task, side, key in TABLE_COLUMNS:
        block = result[task] if side is None else result[task][side]
        values.append(f"{block[key]:.2f}")
    c, d, s, q = values[0:4], values[4:8], values[8:12], values[12:]
    row = f"{name} | {' '.join(c)} | {' '.join(d)} | {' '.join(s)} | {' '.join(q)}"
    return f"{header}\n{row}"


def load_model(
    checkpoint: str | Path, device: str = "cpu", config: PandaConfig | None = None
) -> tuple[nn.Module, PandaConfig]:
    """Model and config from a checkpoint (backbone weights included; loaded strictly)."""
    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    except Exception as err:  # torch raises pickle, zip and value errors alike for a bad file
        raise WeightsError(
            f"--checkpoint {checkpoint}: not a PyTorch checkpoint ({type(err).__name__}); "
            "expected a .pth that train-panda wrote (build/panda/last.pth): run train-panda"
        ) from None
    if not isinstance(state, dict) or "model_state_dict" not in state:
        raise WeightsError(
            f"--checkpoint {checkpoint}: not a train-panda checkpoint (no model_state_dict); "
            "expected a .pth that train-panda wrote (build/panda/last.pth): run train-panda"
        )
    if config is None:
        config = PandaConfig.model_validate(state.get("config", {}))
    model = build_model(config.model, random_init=True, seed=config.train.seed)
    model.load_state_dict(state["model_state_dict"], strict=True)
    return model.to(device), config


def evaluate(
    checkpoint: str | Path | nn.Module,
    data: str | Path | PairSource,
    *,
    split: str = "test",
    mode: str = "hard",
    pairs: Sequence[Triple] | None = None,
    device: str = "cpu",
    batch_size: int = 1,
    config: PandaConfig | None = None,
    graphs_dir: str | Path | None = None,
    predicate_classes: Sequence[str] | None = None,
    png_dir: str | Path | None = None,
) -> JsonObject:
    """Metrics of a checkpoint (or a model) on a bench root's split/mode, triples, or a source;
    with `graphs_dir`, one graph JSON per pair; with `png_dir`, the first pair's graph drawn with
    its images (`<graph file stem>.png`)."""
    if isinstance(checkpoint, nn.Module):
        model, cfg, exp = checkpoint.to(device), config or PandaConfig(), "model"
    else:
        model, cfg = load_model(checkpoint, device, config)
        exp = Path(checkpoint).resolve().parent.name
    source = data
    if isinstance(data, str | Path):
        source = PandaBenchSource(data, split, pairs if pairs is not None else mode)
    dataset = PandaPairDataset(
        source,
        image_size=cfg.model.image_size,
        max_regions=cfg.model.num_tokens,
    )
    loader = DataLoader(dataset, batch_size=batch_size, collate_fn=collate_pairs)
    keep = graphs_dir is not None or png_dir is not None
    pred = predict(model, loader, device, keep_pairs=keep)
    if predicate_classes is None:
        predicate_classes = source.predicate_classes
    result = compute_metrics(pred)
    result["pairs"] = len(dataset)
    if graphs_dir is not None:
        for n, pair in enumerate(pred.pairs, start=1):
            graph = pair_graph(pair, predicate_classes)
            write_graph(graph, Path(graphs_dir) / graph_filename(n, pair, exp))
    if png_dir is not None and pred.pairs:
        first = pred.pairs[0]
        picture = picture_for(find_record(source, first), first.region_index)
        png = Path(png_dir) / Path(graph_filename(1, first, exp)).with_suffix(".png").name
        render_graph_png(pair_graph(first, predicate_classes), png, picture)
    return result


def find_record(source: PairSource, pair: PairPrediction) -> PairRecord:
    """The first record of a source with the pair's tag and versions."""
    key = (pair.tag, pair.anchor_version, pair.target_version)
    for i in range(len(source)):
        record = source[i]
        if (record.tag, record.anchor_version, record.target_version) == key:
            return record
    raise InputNotFound(f"no pair {key} in the source")
