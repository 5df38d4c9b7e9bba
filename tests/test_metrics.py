"""Hand-written metrics agree with scikit-learn and scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as skm

from pandaset_build.labels import metrics


@pytest.mark.parametrize("seed", range(8))
def test_classification_matches_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    y_true = rng.integers(0, 6, n)
    y_pred = rng.integers(2, 9, n)  # labels 0-1 only in y_true, 6-8 only in y_pred
    report = metrics.classification_report(y_true, y_pred)
    kw = {"average": "macro", "zero_division": 0}
    assert report["acc"] == pytest.approx(skm.accuracy_score(y_true, y_pred))
    assert report["precision"] == pytest.approx(skm.precision_score(y_true, y_pred, **kw))
    assert report["recall"] == pytest.approx(skm.recall_score(y_true, y_pred, **kw))
    assert report["f1"] == pytest.approx(skm.f1_score(y_true, y_pred, **kw))


def test_perfect_and_disjoint() -> None:
    assert metrics.classification_report([1, 2], [1, 2]) == {
        "acc": 1.0,
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
    }
    assert metrics.f1([0, 0], [1, 1]) == 0.0


def test_correlations_match_scipy() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.random(50), rng.random(50)
    assert metrics.srcc(x, y) == pytest.approx(stats.spearmanr(x, y).statistic)
    assert metrics.plcc(x, y) == pytest.approx(stats.pearsonr(x, y).statistic)
    assert np.isnan(metrics.srcc([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))
