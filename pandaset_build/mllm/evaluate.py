"""Pooled-region metrics of parsed answers (as eval-panda), their mean and std over runs."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from pandaset_build import metrics

from .bench import SIDES, BenchPair
from .parse import FIELDS, RegionAnswer

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


def _pred(value: int | None) -> int:
    return MISS if value is None else value


def run_metrics(pairs: list[BenchPair], results: list[PairResult], asks_pair: bool) -> dict:
    """Comparison, distortion and severity reports and score correlations over pooled regions.

    Misses are wrong predictions in the label metrics; correlations use the regions whose score
    was read (`score.<side>.n`). Type (a) requests ask neither comparison nor score: None."""
    regions = [
        (r, a)
        for p, res in zip(pairs, results, strict=True)
        for r, a in zip(p.regions, res.answers, strict=True)
    ]
    out: dict[str, Any] = {"regions": len(regions)}
    out["comparison"] = (
        labels_report([r.comparison for r, _ in regions], [_pred(a.comparison) for _, a in regions])
        if asks_pair
        else None
    )
    for task in ("distortion", "severity"):
        per_side = {
            side: labels_report(
                [getattr(getattr(r, side), task) for r, _ in regions],
                [_pred(getattr(a, task)[side]) for _, a in regions],
            )
            for side in SIDES
        }
        out[task] = {**per_side, "avg": _average(list(per_side.values()))}
    out["score"] = _score_metrics(regions) if asks_pair else None
    out["failures"] = _failures(regions, results, asks_pair)
    return out


def _score_metrics(regions: list[tuple[Any, RegionAnswer]]) -> dict[str, Any]:
    per_side = {}
    for side in SIDES:
        kept = [
            (getattr(r, side).score, a.score[side]) for r, a in regions if a.score[side] is not None
        ]
        true = [t for t, _ in kept]
        pred = [p for _, p in kept]
        per_side[side] = {
            "srcc": metrics.srcc(pred, true),
            "plcc": metrics.plcc(pred, true),
            "n": len(kept),
        }
    avg = {k: float(np.mean([per_side[s][k] for s in SIDES])) for k in ("srcc", "plcc")}
    return {**per_side, "avg": avg}


def _failures(
    regions: list[tuple[Any, RegionAnswer]], results: list[PairResult], asks_pair: bool
) -> dict[str, Any]:
    """Misses per field, the parse-failure rate (regions with any miss), cost per pair."""
    asked = FIELDS if asks_pair else [f for f in FIELDS if f.endswith(("distortion", "severity"))]
    flat = [a.fields() for _, a in regions]
    field_misses = {f: sum(row[f] is None for row in flat) for f in asked}
    missed = sum(any(row[f] is None for f in asked) for row in flat)
    count = max(len(results), 1)
    return {
        "missed_regions": missed,
        "parse_failure_rate": missed / len(regions) if regions else 0.0,
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


def aggregate(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean and sample std (ddof 1; 0 for one run) of every numeric result over the runs."""
    flats = [_numbers(run) for run in runs]
    out = {}
    for key in flats[0]:
        values = np.array([f[key] for f in flats], dtype=float)
        std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
        out[key] = {"mean": float(np.mean(values)), "std": std}
    return out


def _cell(summary: dict[str, dict[str, float]], key: str, runs: int) -> str:
    if key not in summary:
        return "-"
    mean, std = summary[key]["mean"], summary[key]["std"]
    if math.isnan(mean):
        return "nan"
    return f"{mean:.2f}±{std:.2f}" if runs > 1 else f"{mean:.2f}"


def table_row(summary: dict[str, dict[str, float]], model: str, runs: int) -> Table:
    """The paper's table row: Comparison, Distortion (Avg), Severity (Avg), Score (Avg), costs."""
    table = Table(title=f"PandaBench, {runs} run(s), mean±std" if runs > 1 else "PandaBench")
    names = ["Model"]
    cells = [model]
    for task, side, key in TABLE_COLUMNS:
        short = {"comparison": "Cmp", "distortion": "Dist", "severity": "Sev", "score": ""}[task]
        names.append(f"{short} {key.upper() if task == 'score' else key[:4]}".strip())
        cells.append(_cell(summary, ".".join(k for k in (task, side, key) if k), runs))
    names += ["Fail", "Tok/pair", "s/pair"]
    cells += [
        _cell(summary, "failures.parse_failure_rate", runs),
        f"{summary['failures.tokens_per_pair.total_tokens']['mean']:.0f}",
        f"{summary['failures.seconds_per_pair']['mean']:.1f}",
    ]
    for name in names:
        table.add_column(name, justify="right")
    table.add_row(*cells)
    return table


def print_row(summary: dict[str, dict[str, float]], model: str, runs: int) -> None:
    Console().print(table_row(summary, model, runs))
