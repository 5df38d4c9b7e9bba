"""Batched scoring of (distorted, reference) pairs: per-shape batches, identical pairs once,
each reference through the backbone once (kept until its last batch)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from pandaset_build.iqa.metric import Metric

PairKey = bytes
ImageKey = bytes


def image_key(image: np.ndarray) -> ImageKey:
    """A digest that is equal exactly for equal pixel arrays (shape included)."""
    return hashlib.sha256(repr(image.shape).encode() + b"|" + image.tobytes()).digest()


@dataclass(frozen=True)
class Pending:
    """One distinct pair waiting for its batch, with the content keys of both images."""

    distorted: np.ndarray
    reference: np.ndarray
    distorted_key: ImageKey
    reference_key: ImageKey


class PairScorer:
    """Scores (distorted, reference) pairs in per-shape batches of `batch_size`; identical pairs
    are scored once. Batches follow the order pairs were first added, so they are the same
    whatever the timing; `run(full_only=True)` scores only full batches (streaming)."""

    def __init__(self, metric: Metric, batch_size: int) -> None:
        self.metric = metric
        self.batch_size = batch_size
        self.pending: dict[tuple[int, int], dict[PairKey, Pending]] = defaultdict(dict)
        self.uses: dict[ImageKey, int] = defaultdict(int)  # pending pairs per reference
        self.scores: dict[PairKey, float] = {}

    def add(self, distorted: np.ndarray, reference: np.ndarray) -> PairKey:
        distorted_key, reference_key = image_key(distorted), image_key(reference)
        key = hashlib.sha256(distorted_key + reference_key).digest()
        bucket = self.pending[distorted.shape[:2]]
        if key not in self.scores and key not in bucket:
            bucket[key] = Pending(distorted, reference, distorted_key, reference_key)
            self.uses[reference_key] += 1
        return key

    def run(self, full_only: bool = False) -> dict[PairKey, float]:
        """Score the pending pairs (only whole batches with `full_only`); all scores so far."""
        for shape in list(self.pending):
            pairs = self.pending[shape]
            keys = list(pairs)
            count = len(keys) - len(keys) % self.batch_size if full_only else len(keys)
            for start in range(0, count, self.batch_size):
                self._score(keys[start : start + self.batch_size], pairs)
            if not pairs:
                del self.pending[shape]
        return self.scores

    def _score(self, batch: list[PairKey], pairs: dict[PairKey, Pending]) -> None:
        items = [pairs.pop(k) for k in batch]
        values = self.metric(
            [p.distorted for p in items],
            [p.reference for p in items],
            keys=([p.distorted_key for p in items], [p.reference_key for p in items]),
        )
        self.scores.update(zip(batch, values.tolist(), strict=True))
        finished = []
        for reference in dict.fromkeys(p.reference_key for p in items):
            self.uses[reference] -= sum(p.reference_key == reference for p in items)
            if self.uses[reference] == 0:
                del self.uses[reference]
                finished.append(reference)
        self.metric.forget(finished)
