"""Evaluation metrics against scikit-learn, table row, Distortion Graph JSON and PNG."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from panda_tiny import build_tiny_bench, tiny_config
from scipy import stats
from sklearn import metrics as skm
from torch.utils.data import DataLoader

from pandaset_build.pairsets import PandaBenchSource
from pandaset_build.panda.baselines import RandomBaseline
from pandaset_build.panda.data import PandaPairDataset, collate_pairs
from pandaset_build.panda.evaluate import evaluate, format_table, predict
from pandaset_build.panda.factory import build_model
from pandaset_build.panda.graph import render_graph_png
from pandaset_build.panda.train import save_checkpoint


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("eval")
    root = build_tiny_bench(tmp / "bench")
    cfg = tiny_config()
    torch.manual_seed(0)
    model = build_model(cfg.model, random_init=True)
    ckpt = tmp / "exp1" / "last.pth"
    ckpt.parent.mkdir()
    state = {"epoch": 1, "model_state_dict": model.state_dict(), "optimizer_state_dict": {}}
    save_checkpoint(ckpt, {**state, "loss": 0.0, "config": cfg.model_dump(mode="json")})
    return root, ckpt


def test_metrics_equal_sklearn_on_pooled_regions(setup: tuple[Path, Path]) -> None:
    root, ckpt = setup
    pairs = PandaBenchSource(root, "test", "all").pairs[::20]
    result = evaluate(ckpt, root, pairs=pairs, batch_size=3)
    cfg = tiny_config()
    model = build_model(cfg.model, random_init=True)
    model.load_state_dict(torch.load(ckpt, weights_only=False)["model_state_dict"])
    dataset = PandaPairDataset(PandaBenchSource(root, "test", pairs), image_size=56, max_regions=8)
    pred = predict(model, DataLoader(dataset, batch_size=1, collate_fn=collate_pairs), "cpu")
    assert result["regions"] == len(pred.comparison) > 0
    kw = {"average": "macro", "zero_division": 0}
    c = pred.comparison
    assert result["comparison"]["f1"] == pytest.approx(skm.f1_score(c[:, 0], c[:, 1], **kw))
    assert result["comparison"]["acc"] == pytest.approx(skm.accuracy_score(c[:, 0], c[:, 1]))
    for name in ("distortion", "severity"):
        arr = getattr(pred, name)
        sides = [skm.precision_score(arr[:, s, 0], arr[:, s, 1], **kw) for s in (0, 1)]
        assert result[name]["anchor"]["precision"] == pytest.approx(sides[0])
        assert result[name]["avg"]["precision"] == pytest.approx(sum(sides) / 2)
    srcc = [stats.spearmanr(pred.score[:, s, 1], pred.score[:, s, 0]).statistic for s in (0, 1)]
    assert result["score"]["avg"]["srcc"] == pytest.approx(sum(srcc) / 2)
    row = format_table(result, "tiny").splitlines()[1]
    assert row.startswith("tiny | ") and len(row.split()) == 2 + 14 + 3


def test_graph_json_schema_and_png(setup: tuple[Path, Path], tmp_path: Path) -> None:
    root, ckpt = setup
    graphs = tmp_path / "graphs"
    result = evaluate(
        ckpt, root, mode="hard", graphs_dir=graphs, predicate_classes=None, png_dir=tmp_path
    )
    assert result["pairs"] == 6
    files = sorted(p.name for p in graphs.iterdir())
    assert len(files) == 4  # empty.png pairs keep no region
    assert files[0] == "1_a.png_mixed_mixed2_exp1.json"
    graph = json.loads((graphs / files[0]).read_text())
    assert list(graph) == ["objects", "attributes", "relationships", "art"]
    r = len(graph["art"])
    assert r == 2  # regions 0 and 3: 1 has no mask in mixed2, 2 vanishes at 56 x 56
    assert len(graph["objects"]) == 2 * r and len(graph["attributes"]) == 6 * r
    assert [o["id"] for o in graph["objects"]] == ["0", "2", "1", "3"]
    for entries in graph.values():
        for entry in entries:
            assert all(isinstance(v, str) for v in entry.values())
    assert graph["art"][1] == {
        "predicate": graph["art"][1]["predicate"],
        "object": "1",
        "subject": "3",
    }
    # as published: stored relations [s, o, p] naming kept position 0 ([0, 1, 3], [2, 0, 5],
    # [3, 0, 9]), then position 1 ([0, 1, 3], [1, 3, 7]), stored indices, once per image
    triples = [(0, 1, 3), (2, 0, 5), (3, 0, 9), (0, 1, 3), (1, 3, 7)]
    assert graph["relationships"] == [
        {"predicate": str(pred), "object": str(o), "subject": str(s), "image": image}
        for s, o, pred in triples
        for image in ("1", "2")
    ]
    png = tmp_path / "1_a.png_mixed_mixed2_exp1.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert render_graph_png(graph, tmp_path / "g.png", dpi=40).exists()


def test_random_baseline_evaluates(setup: tuple[Path, Path]) -> None:
    root, _ = setup
    result = evaluate(RandomBaseline(0), root, mode="hard", config=tiny_config())
    assert 0 <= result["comparison"]["acc"] <= 1 and result["regions"] == 8
