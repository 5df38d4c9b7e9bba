"""Pairs: 240 per image, labels recomputed here from the stored scores, difficulty classes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from scored_build import make_scored_build

from pandaset_build.config import vocab
from pandaset_build.errors import MissingStageOutputs
from pandaset_build.labels.pairs import iter_pairs
from pandaset_build.store.scored import ScoredBuild


def expected_label(d: float) -> str:
    """The published rule written out independently of pairs.py."""
    if -0.1 < d < 0.1:
        return "same"
    if 0.1 <= d < 0.3:
        return "slightly_better"
    if d >= 0.3:
        return "significantly_better"
    if -0.3 < d <= -0.1:
        return "slightly_worse"
    return "significantly_worse"


def stored_scores(build_root: Path) -> dict[tuple[str, str, int | None], float]:
    table = pq.read_table(build_root / "scores").to_pylist()
    return {(r["tag"], r["version"], r["region_id"]): r["score"] for r in table}


def test_every_pair_and_label(tmp_path: Path) -> None:
    build = make_scored_build(tmp_path, {"train": ["a.png", "b.png"], "test": ["c.png"]})
    scores = stored_scores(build.root)
    pairs = list(iter_pairs(ScoredBuild(build)))
    per_image = Counter(p.tag for p in pairs)
    assert per_image == {"a.png": 240, "b.png": 240, "c.png": 240}
    assert len({(p.tag, p.anchor, p.target) for p in pairs}) == len(pairs)
    for pair in pairs:
        d = scores[(pair.tag, pair.anchor, None)] - scores[(pair.tag, pair.target, None)]
        assert vocab.COMPARISONS[pair.image_comparison] == expected_label(d)
        assert len(pair.regions) == 3
        for region in pair.regions:
            i = region.region_id
            d = scores[(pair.tag, pair.anchor, i)] - scores[(pair.tag, pair.target, i)]
            assert region.score_diff == pytest.approx(d)
            assert vocab.COMPARISONS[region.comparison] == expected_label(d)
        mixed = {pair.anchor, pair.target} & set(vocab.MIXED_VERSIONS)
        assert pair.difficulty == ["easy", "medium", "hard"][len(mixed)]
    difficulty = Counter(p.difficulty for p in pairs if p.tag == "a.png")
    assert difficulty == {"easy": 14 * 13, "medium": 2 * 14 * 2, "hard": 2}


def test_missing_score_rows_are_named(tmp_path: Path) -> None:
    build = make_scored_build(tmp_path, {"train": ["a.png", "b.png"]})
    path = build.layout.scores / "00000.parquet"
    table = pq.read_table(path)
    keep = pc.not_equal(table.column("tag"), "b.png")
    pq.write_table(table.filter(keep), path)
    with pytest.raises(MissingStageOutputs, match=r"b\.png"):
        ScoredBuild(build).check()
