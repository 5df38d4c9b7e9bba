"""split-bench: the published Easy / Medium lists reproduced exactly, Hard, sampling, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from panda_tiny import tiny_config
from pycocotools import mask as mask_utils
from scored_build import load_split, make_scored_build

from pandaset_build.config import vocab
from pandaset_build.config.manifests import MANIFEST_DIR
from pandaset_build.errors import ManifestError
from pandaset_build.labels.splits import load_split_manifest
from pandaset_build.pairsets import BenchSource
from pandaset_build.panda.baselines import RandomBaseline
from pandaset_build.panda.evaluate import evaluate
from pandaset_build.stages.bench import split_bench

PUBLISHED = json.loads((MANIFEST_DIR / "published.json").read_text())
REFERENCE = Path("/work/shared/reference/pandabench_published_pairs.json")


def triples(dataset: object) -> list[list[str]]:
    return [[r["anchor_version"], r["target_version"], r["tag"]] for r in dataset]


def test_bundled_manifests_match_the_reference() -> None:
    if REFERENCE.exists():
        reference = json.loads(REFERENCE.read_text())
        assert PUBLISHED["easy"] == reference["easy"]
        assert PUBLISHED["medium"] == reference["medium"]
    tags = load_split_manifest("published_test_tags")
    listed = {t for k in ("easy", "medium") for _, _, t in PUBLISHED[k]}
    assert sorted(tags) == sorted(listed) and len(tags) == 148
    assert set(tags.values()) == {"test"}


@pytest.mark.slow
def test_published_manifest_reproduced(tmp_path: Path) -> None:
    tags = sorted(load_split_manifest("published_test_tags"))
    sizes = {"easy": 300, "medium": 300, "hard": 300}
    build = make_scored_build(tmp_path, {"test": tags}, regions=2, size=16, bench=sizes)
    summary = split_bench(build, "published")
    assert summary.pairs == {"easy": 300, "medium": 300, "hard": 296}
    out = build.layout.bench
    easy = load_split(out / "easy", None, "test", tmp_path / "cache")
    medium = load_split(out / "medium", None, "test", tmp_path / "cache")
    hard = load_split(out / "hard", None, "test", tmp_path / "cache")
    assert triples(easy.remove_columns(["anchor_image", "target_image"])) == PUBLISHED["easy"]
    assert triples(medium.remove_columns(["anchor_image", "target_image"])) == PUBLISHED["medium"]
    got = triples(hard.remove_columns(["anchor_image", "target_image"]))
    want = [[a, b, t] for t in tags for a, b in (("mixed", "mixed2"), ("mixed2", "mixed"))]
    assert sorted(got) == sorted(want)
    row = easy[0]
    assert row["anchor_image"].size == (16, 16)
    region = row["regions"][0]
    assert easy.features["regions"].feature["comparison"].names == list(vocab.COMPARISONS)
    assert easy.features["regions"].feature["anchor_distortion"].names == list(vocab.DISTORTIONS)
    rle = {"size": region["mask"]["size"], "counts": region["mask"]["counts"].encode()}
    assert mask_utils.decode(rle).shape == (16, 16)
    assert region["anchor_distortion"] in (0, vocab.DISTORTION_ID[row["anchor_version"]])


def test_sampled_bench_is_seeded_and_classed(tmp_path: Path) -> None:
    tags = {"train": ["a.png"], "test": [f"t{i}.png" for i in range(5)]}
    build = make_scored_build(tmp_path, tags, bench={"easy": 30, "medium": 12, "hard": 4})
    first = split_bench(build)
    assert first.pairs == {"easy": 30, "medium": 12, "hard": 4}
    out = build.layout.bench
    runs = []
    for _ in range(2):
        rows = {}
        for kind in ("easy", "medium", "hard"):
            data = load_split(out / kind, None, "test", tmp_path / "cache")
            rows[kind] = triples(data.remove_columns(["anchor_image", "target_image"]))
        runs.append(rows)
        split_bench(build)
    assert runs[0] == runs[1]
    mixed = set(vocab.MIXED_VERSIONS)
    for kind, count in (("easy", 0), ("medium", 1), ("hard", 2)):
        for a, t, tag in runs[0][kind]:
            assert a != t and tag.startswith("t")
            assert len({a, t} & mixed) == count
    assert len({tuple(x) for x in runs[0]["easy"]}) == 30


def test_manifest_with_missing_tags_names_them(tmp_path: Path) -> None:
    build = make_scored_build(tmp_path, {"test": ["seagull_r50308b1bt.png"]}, size=16)
    with pytest.raises(ManifestError, match=r"147 in all") as err:
        split_bench(build, "published")
    assert "107907_000000195045.jpg" in str(err.value)
    assert not build.layout.bench.exists()


def test_hard_masks_are_the_source_masks(tmp_path: Path) -> None:
    build = make_scored_build(tmp_path, {"test": ["x.png"]}, bench={"easy": 1, "medium": 1})
    split_bench(build)
    hard = load_split(build.layout.bench_split("hard"), None, "test", tmp_path / "cache")
    assert hard.num_rows == 2
    for region in hard[0]["regions"]:
        rle = {"size": region["mask"]["size"], "counts": region["mask"]["counts"].encode()}
        assert np.asarray(mask_utils.decode(rle)).sum() > 0


def test_bench_rows_carry_scene_relations_into_graphs(tmp_path: Path) -> None:
    build = make_scored_build(tmp_path, {"test": ["x.png"]}, bench={"easy": 1, "medium": 1})
    split_bench(build)
    hard = build.layout.bench_split("hard")
    source = BenchSource(hard)
    # the source row relates region 0 to region 1 by predicate 3 ("on"), no vocabulary file
    assert source.predicate_classes == ["unused_0", "unused_1", "unused_2", "on"]
    assert json.loads((hard / "predicate_classes.json").read_text()) == source.predicate_classes
    assert all(source[i].relations == [[0, 1, 3]] for i in range(len(source)))
    graphs = tmp_path / "graphs"
    evaluate(RandomBaseline(0), source, graphs_dir=graphs, config=tiny_config())
    graph = json.loads(next(graphs.glob("1_*.json")).read_text())
    assert {r["predicate"] for r in graph["relationships"]} == {"on"}
    assert {(r["subject"], r["object"]) for r in graph["relationships"]} == {("0", "1")}
