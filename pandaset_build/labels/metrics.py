"""Classification and correlation metrics, computed as the published PANDA evaluation does."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Fraction of exact matches (sklearn `accuracy_score`)."""
    t, p = np.asarray(y_true), np.asarray(y_pred)
    return float(np.mean(t == p)) if t.size else 0.0


def _per_label_counts(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[np.ndarray, ...]:
    """True positives, predicted counts and true counts per label present on either side."""
    t, p = np.asarray(y_true), np.asarray(y_pred)
    labels = np.union1d(t, p)
    tp = np.array([np.sum((t == lab) & (p == lab)) for lab in labels], dtype=float)
    pred = np.array([np.sum(p == lab) for lab in labels], dtype=float)
    true = np.array([np.sum(t == lab) for lab in labels], dtype=float)
    return tp, pred, true


def _safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with 0 where den is 0 (sklearn `zero_division=0`)."""
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def _macro(values: np.ndarray) -> float:
    """Unweighted mean over labels; 0 when there are none."""
    return float(values.mean()) if values.size else 0.0


def precision(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Macro precision over labels in y_true or y_pred, zero_division=0."""
    tp, pred, _ = _per_label_counts(y_true, y_pred)
    return _macro(_safe_ratio(tp, pred))


def recall(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Macro recall over labels in y_true or y_pred, zero_division=0."""
    tp, _, true = _per_label_counts(y_true, y_pred)
    return _macro(_safe_ratio(tp, true))


def f1(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Macro F1 over labels in y_true or y_pred, zero_division=0."""
    tp, pred, true = _per_label_counts(y_true, y_pred)
    return _macro(_safe_ratio(2 * tp, pred + true))


def classification_report(y_true: ArrayLike, y_pred: ArrayLike) -> dict[str, float]:
    """Accuracy and macro precision, recall and F1 in one dict."""
    return {
        "acc": accuracy(y_true, y_pred),
        "precision": precision(y_true, y_pred),
        "recall": recall(y_true, y_pred),
        "f1": f1(y_true, y_pred),
    }


def srcc(x: ArrayLike, y: ArrayLike) -> float:
    """Spearman rank correlation (nan for constant or too-short input)."""
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(stats.spearmanr(a, b).statistic)


def plcc(x: ArrayLike, y: ArrayLike) -> float:
    """Pearson linear correlation without a logistic fit (nan for constant or too-short input)."""
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(stats.pearsonr(a, b).statistic)
