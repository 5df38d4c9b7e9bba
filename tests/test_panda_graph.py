"""Graph JSON equals what the published `graph_inference.py` writes; the PNG is drawn."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from pandaset_build.panda.graph import (
    GraphPicture,
    PairPrediction,
    pair_graph,
    render_graph_png,
    write_graph,
)

DISTORTION = ["clean", "snow", "contrast_inc", "compression", "brightness", "oversharpen",
              "noise", "blur", "haze", "rain", "saturate_inc", "saturate_dec", "contrast_dec",
              "darken", "pixelate"]  # fmt: skip
SEVERITY = ["clean", "minor", "moderate", "severe"]
COMPARISON = ["same", "slightly_worse", "significantly_worse", "slightly_better",
              "significantly_better"]  # fmt: skip
PREDICATES = [f"predicate{k}" for k in range(12)]


def published_graph(
    names: list[str],
    stored_relations: list[Any],
    comparison: list[int],
    distortion: list[tuple[int, int]],
    severity: list[tuple[int, int]],
    score: list[tuple[float, float]],
) -> dict[str, Any]:
    """The published `run_inference` loop for one pair, written from its documented logic:
    per kept region (position `count`): anchor and target objects, the ART entry, six
    attributes, then the stored relations (`relations[0]`) that mention `count`, both images."""
    graph: dict[str, list[dict[str, str]]] = {
        "objects": [],
        "attributes": [],
        "relationships": [],
        "art": [],
    }
    regions = len(names)
    for count in range(regions):
        graph["objects"].append({"id": str(count), "name": str(names[count]), "image": str(1)})
        graph["objects"].append(
            {"id": str(count + regions), "name": str(names[count]), "image": str(2)}
        )
        graph["art"].append(
            {
                "predicate": str(COMPARISON[comparison[count]]),
                "object": str(count),
                "subject": str(count + regions),
            }
        )
        for value, image in (
            (DISTORTION[distortion[count][0]], 1),
            (DISTORTION[distortion[count][1]], 2),
            (SEVERITY[severity[count][0]], 1),
            (SEVERITY[severity[count][1]], 2),
            (round(score[count][0], 4), 1),
            (round(score[count][1], 4), 2),
        ):
            obj = count if image == 1 else count + regions
            graph["attributes"].append(
                {"attribute": str(value), "object": str(obj), "image": str(image)}
            )
        for s_idx, o_idx, rel_id in [x for x in stored_relations[0] if count in x[:2]]:
            for image in (1, 2):
                graph["relationships"].append(
                    {
                        "predicate": PREDICATES[rel_id],
                        "object": str(o_idx),
                        "subject": str(s_idx),
                        "image": str(image),
                    }
                )
    return graph


def test_graph_json_equals_the_published_writer(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    kept = [0, 2, 3, 5]  # regions 1 and 4 were skipped
    names = ["fence", "person", "person", "tree"]
    stored = [[[0, 2, 3], [3, 5, 7], [5, 0, 1], [1, 4, 2], [2, 2, 11]]]  # SUBJECT, OBJECT, pred
    comparison = [int(c) for c in rng.integers(0, 5, 4)]
    distortion = [tuple(int(v) for v in rng.integers(0, 15, 2)) for _ in kept]
    severity = [tuple(int(v) for v in rng.integers(0, 4, 2)) for _ in kept]
    score = [
        (float(np.float32(rng.normal(0.6, 0.4))), float(np.float32(rng.uniform()))) for _ in kept
    ]
    prediction = PairPrediction(
        "2391273_000000307074.jpg", "mixed", "mixed2", names, kept, stored[0],
        comparison, distortion, severity, score,
    )  # fmt: skip
    path = write_graph(pair_graph(prediction, PREDICATES), tmp_path / "g.json")
    expected = published_graph(names, stored, comparison, distortion, severity, score)
    assert path.read_text() == json.dumps(expected, indent=4)  # key order and layout included
    written = json.loads(path.read_text())
    assert written == expected
    assert [o["id"] for o in written["objects"][:4]] == ["0", "4", "1", "5"]  # interleaved
    # as published, relations are matched on kept positions 0..3: 2 + 1 + 2 + 1, twice each
    assert len(written["relationships"]) == 2 * 6


def test_png_marks_out_of_range_scores_and_shows_the_pair(tmp_path: Path) -> None:
    prediction = PairPrediction(
        "scene.png", "blur", "mixed2", ["sky", "person"], [0, 1], [], [0, 3],
        [(0, 7), (6, 0)], [(0, 2), (3, 0)], [(0.91, 1.2), (-0.05, 0.4)],
    )  # fmt: skip
    graph = pair_graph(prediction)
    plain = render_graph_png(graph, tmp_path / "plain.png", dpi=50)
    image = np.zeros((60, 80, 3), dtype=np.uint8)
    image[:30] = (90, 140, 220)
    masks = [np.zeros((60, 80), dtype=bool), np.zeros((60, 80), dtype=bool)]
    masks[0][:30] = True
    masks[1][35:55, 20:40] = True
    picture = GraphPicture(
        "scene.png", "blur", "mixed2", image, image, masks, [None, [20, 35, 20, 20]],
        ["", "a walker in a red coat"],
    )  # fmt: skip
    full = render_graph_png(graph, tmp_path / "full.png", picture, dpi=50)
    with Image.open(plain) as a, Image.open(full) as b:
        assert a.format == b.format == "PNG"
        assert b.height > a.height + 100  # the images panel above the graph
        pixels = np.asarray(b.convert("RGB")).reshape(-1, 3)
    red = (pixels[:, 0] > 190) & (pixels[:, 1] < 80) & (pixels[:, 2] < 80)
    assert red.sum() > 50  # out-of-range scores (1.2 and -0.05) are drawn in red
