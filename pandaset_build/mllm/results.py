"""Pooled-region metrics of parsed answers (as eval-panda), their mean and std over runs."""

from __future__ import annotations

import math
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from pandaset_build.json_types import JsonObject
from pandaset_build.labels import metrics
from pandaset_build.pairsets import SIDES, PairRecord

from .parse import FIELDS, RegionAnswer

WIDTH = 120  # console width when not writing to a terminal, so mean±std cells fit
MISS = -1  # predicted label of a region whose answer field could not be read
CLASS_KEYS = ("acc", "precision", "recall", "f1")
TABLE_COLUMNS = [
    *(("comparison", None, k) for k in CLASS_KEYS),
    *(("distortion", "avg", k) for k in CLASS_KEYS),
    *(("severity", "avg", k) for k in CLASS_KEYS),
    ("score", "avg", "srcc"),
    ("score", "avg", "plcc"),
]


@dataclass
class PairResult:
    """One pair's parsed answers and what its requests cost in one run."""

    answers: list[RegionAnswer]
    requests: int = 0
    failed_requests: int = 0  # no answer after the retries (error kept in `errors`)
    unparseable: int = 0  # answered, but no JSON could be read from the answer
    tokens: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    retries: list[str] = field(default_factory=list)
    raw: dict[str, str | None] = field(default_factory=dict)  # answer text by request name


def labels_report(y_true: list[int], y_pred: list[int]) -> dict[str, float]:
    """Accuracy and macro P/R/F1 with misses (`MISS`) counted wrong but not as a label.

    A miss lowers accuracy and the recall of its true label. The metrics functions average over
    the labels in y_true or y_pred, where `MISS` would add a label whose P, R and F1 are always 0;
    rescaling by n / (n - 1) removes it exactly from the macro means."""
    report = metrics.classification_report(y_true, y_pred)
    labels = set(y_true) | set(y_pred)
    if MISS in labels and len(labels) > 1:
        scale = len(labels) / (len(labels) - 1)
        report.update({k: report[k] * scale for k in ("precision", "recall", "f1")})
    return report


def _average(reports: list[dict[str, float]]) -> dict[str, float]:
    """Key-wise mean of the anchor and target reports, the paper's Avg."""
    return {k: float(np.mean([r[k] for r in reports])) for k in reports[0]}


def _column(rows: list[JsonObject], key: str) -> list[Any]:
    return [row[key] for row in rows]


def _labels(rows: list[JsonObject], key: str) -> list[int]:
    """Predicted labels of one field with misses as `MISS`."""
    return [MISS if row[key] is None else row[key] for row in rows]


def run_metrics(pairs: list[PairRecord], results: list[PairResult], asks_pair: bool) -> dict:
    """Comparison, distortion and severity reports and score correlations over pooled regions.

    Misses are wrong predictions in the label metrics; correlations use the regions whose score
    was read (`score.<side>.n`). Type (a) requests ask neither comparison nor score: None."""
    truth = [r.fields() for p in pairs for r in p.regions]
    pred = [a.fields() for res in results for a in res.answers]
    out: JsonObject = {"regions": len(truth), "comparison": None, "score": None}
    if asks_pair:
        out["comparison"] = labels_report(_column(truth, "comparison"), _labels(pred, "comparison"))
    for task in ("distortion", "severity"):
        per_side = {
            side: labels_report(_column(truth, f"{side}_{task}"), _labels(pred, f"{side}_{task}"))
            for side in SIDES
        }
        out[task] = {**per_side, "avg": _average(list(per_side.values()))}
    if asks_pair:
        out["score"] = _score_metrics(truth, pred)
    out["failures"] = _failures(pred, results, asks_pair)
    return out


def _score_metrics(truth: list[JsonObject], pred: list[JsonObject]) -> JsonObject:
    """SRCC and PLCC per side over the regions with a read score, and their Avg."""
    per_side: JsonObject = {}
    for side in SIDES:
        key = f"{side}_score"
        kept = [(t[key], p[key]) for t, p in zip(truth, pred, strict=True) if p[key] is not None]
        true, guess = [t for t, _ in kept], [p for _, p in kept]
        per_side[side] = {
            "srcc": metrics.srcc(guess, true),
            "plcc": metrics.plcc(guess, true),
            "n": len(kept),
        }
    avg = {k: float(np.mean([per_side[s][k] for s in SIDES])) for k in ("srcc", "plcc")}
    return {**per_side, "avg": avg}


def _failures(flat: list[JsonObject], results: list[PairResult], asks_pair: bool) -> JsonObject:
    """Misses per field, the parse-failure rate (regions with any miss), cost per pair."""
    asked = FIELDS if asks_pair else [f for f in FIELDS if f.endswith(("distortion", "severity"))]
    field_misses = {f: sum(row[f] is None for row in flat) for f in asked}
    missed = sum(any(row[f] is None for f in asked) for row in flat)
    count = max(len(results), 1)
    return {
        "missed_regions": missed,
        "parse_failure_rate": missed / len(flat) if flat else 0.0,
        "field_misses": field_misses,
        "requests": sum(r.requests for r in results),
        "failed_requests": sum(r.failed_requests for r in results),
        "unparseable_answers": sum(r.unparseable for r in results),
        "retries": dict(Counter(x for r in results for x in r.retries)),
        "errors": dict(Counter(x for r in results for x in r.errors)),
        "tokens_per_pair": {
            k: sum(r.tokens[k] for r in results) / count
            for k in ("prompt_tokens", "completion_tokens", "total_tokens")
        },
        "seconds_per_pair": sum(r.seconds for r in results) / count,
    }


def _numbers(tree: Any, prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a nested dict as `a.b.c` -> value (retry and error tallies left out)."""
    if isinstance(tree, dict):
        flat: dict[str, float] = {}
        for k, v in tree.items():
            if k not in ("retries", "errors"):
                flat.update(_numbers(v, f"{prefix}{k}."))
        return flat
    if isinstance(tree, int | float) and not isinstance(tree, bool):
        return {prefix[:-1]: float(tree)}
    return {}


def aggregate(runs: list[JsonObject]) -> dict[str, dict[str, float]]:
    """Mean and sample std (ddof 1; 0 for one run) of every numeric result over the runs."""
    flats = [_numbers(run) for run in runs]
    out = {}
    for key in flats[0]:
        values = np.array([f[key] for f in flats], dtype=float)
        std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
        out[key] = {"mean": float(np.mean(values)), "std": std}
    return out


def _cell(summary: dict[str, dict[str, float]], key: str, runs: int, digits: int = 2) -> str:
    """`mean±std` (mean alone for one run), `-` for what was not asked, `nan` when undefined."""
    if key not in summary:
        return "-"
    mean, std = summary[key]["mean"], summary[key]["std"]
    if math.isnan(mean):
        return "nan"
    return f"{mean:.{digits}f}±{std:.{digits}f}" if runs > 1 else f"{mean:.{digits}f}"


def table(summary: dict[str, dict[str, float]], model: str, runs: int) -> Table:
    """Metrics by task (rows) as in the paper's tables, and the failure and cost figures."""
    title = f"{model} on PandaBench" + (f", mean±std over {runs} runs" if runs > 1 else "")
    out = Table(title=title)
    for name in ("", "Acc", "P", "R", "F1", "SRCC", "PLCC"):
        out.add_column(name, justify="right")
    for label, prefix in (
        ("Comparison", "comparison"),
        ("Distortion (Avg)", "distortion.avg"),
        ("Severity (Avg)", "severity.avg"),
    ):
        out.add_row(label, *(_cell(summary, f"{prefix}.{k}", runs) for k in CLASS_KEYS), "", "")
    out.add_row(
        "Score (Avg)",
        "",
        "",
        "",
        "",
        *(_cell(summary, f"score.avg.{k}", runs) for k in ("srcc", "plcc")),
    )
    return out


def paper_row(summary: dict[str, dict[str, float]], model: str, runs: int) -> str:
    """eval-panda's one-line table header and row (2 decimals; mean±std over several runs)."""
    header = "Model | Cmp A P R F1 | Dist(Avg) A P R F1 | Sev(Avg) A P R F1 | SRCC PLCC"
    cells = [_cell(summary, ".".join(k for k in (t, s, m) if k), runs) for t, s, m in TABLE_COLUMNS]
    groups = [cells[0:4], cells[4:8], cells[8:12], cells[12:]]
    return f"{header}\n{model} | " + " | ".join(" ".join(g) for g in groups)


def costs(summary: dict[str, dict[str, float]], runs: int) -> str:
    """Parse-failure rate, tokens and seconds per pair."""
    return (
        f"parse failures {_cell(summary, 'failures.parse_failure_rate', runs)} of regions, "
        f"{_cell(summary, 'failures.tokens_per_pair.total_tokens', runs, 0)} tokens and "
        f"{_cell(summary, 'failures.seconds_per_pair', runs, 1)} s per pair"
    )


def print_row(summary: dict[str, dict[str, float]], model: str, runs: int) -> None:
    """The metrics table, the paper's row and the costs on the console."""
    console = Console(width=None if sys.stdout.isatty() else WIDTH)
    console.print(table(summary, model, runs))
    console.print(paper_row(summary, model, runs), soft_wrap=True, highlight=False)
    console.print(costs(summary, runs), soft_wrap=True, highlight=False)
