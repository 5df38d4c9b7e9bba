"""Batched scoring of (distorted, reference) pairs: per-shape batches, identical pairs once."""

from __future__ import annotations

import hashlib
from collections import defaultdict

import numpy as np

from pandaset_build.iqa.metric import Metric

PairKey = bytes


def pair_key(a: np.ndarray, b: np.ndarray) -> PairKey:
    """A digest that is equal exactly for equal (distorted, reference) pixel pairs."""
    return hashlib.sha256(a.tobytes() + b"|" + b.tobytes() + repr(a.shape).encode()).digest()


class PairScorer:
    """Scores (distorted, reference) pairs in per-shape batches; identical pairs scored once."""

    def __init__(self, metric: Metric, batch_size: int) -> None:
        self.metric = metric
        self.batch_size = batch_size
        self.pending: dict[tuple[int, int], dict[PairKey, tuple[np.ndarray, np.ndarray]]] = (
            defaultdict(dict)
        )
        self.scores: dict[PairKey, float] = {}

    def add(self, distorted: np.ndarray, reference: np.ndarray) -> PairKey:
        key = pair_key(distorted, reference)
        if key not in self.scores:
            self.pending[distorted.shape[:2]].setdefault(key, (distorted, reference))
        return key

    def run(self) -> dict[PairKey, float]:
        for pairs in self.pending.values():
            keys = list(pairs)
            for start in range(0, len(keys), self.batch_size):
                batch = keys[start : start + self.batch_size]
                values = self.metric([pairs[k][0] for k in batch], [pairs[k][1] for k in batch])
                self.scores.update(zip(batch, values.tolist(), strict=True))
        self.pending.clear()
        return self.scores
