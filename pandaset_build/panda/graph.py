"""Distortion Graph JSON per pair (published `graph_inference.py` schema) and a matplotlib PNG."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pandaset_build.config.vocab import COMPARISONS, DISTORTIONS, SEVERITIES

COLORS = {"1": "#D9ACF5", "2": "#BBD8A3", "attribute": "#FFACC7", "art": "#BCCEF8"}


@dataclass
class PairPrediction:
    """Predictions for the kept regions of one pair, with the pair's metadata."""

    tag: str
    anchor_version: str
    target_version: str
    names: list[str]
    region_index: list[int]  # original index of each kept region
    relations: list[list[int]]  # [subject, object, predicate_id] over original indices
    comparison: list[int]
    distortion: list[tuple[int, int]]  # (anchor, target) per region
    severity: list[tuple[int, int]]
    score: list[tuple[float, float]]


def graph_filename(n: int, p: PairPrediction, exp: str) -> str:
    """Published name `{n}_{tag}_{anchor}_{target}_{exp}.json` (n is 1-based)."""
    return f"{n}_{p.tag}_{p.anchor_version}_{p.target_version}_{exp}.json"


def _relationships(
    p: PairPrediction, predicate_classes: Sequence[str] | None
) -> list[dict[str, str]]:
    """Scene relations between kept regions, in kept positions, once per image (image 2 offset)."""
    position = {orig: pos for pos, orig in enumerate(p.region_index)}
    r, out = len(p.region_index), []
    for subject, obj, predicate in p.relations:
        if subject not in position or obj not in position:
            continue
        name = predicate_classes[predicate] if predicate_classes else str(predicate)
        for image, offset in (("1", 0), ("2", r)):
            out.append(
                {
                    "predicate": name,
                    "object": str(position[obj] + offset),
                    "subject": str(position[subject] + offset),
                    "image": image,
                }
            )
    return out


def pair_graph(p: PairPrediction, predicate_classes: Sequence[str] | None = None) -> dict[str, Any]:
    """The predicted Distortion Graph of one pair; every value is a string."""
    r = len(p.region_index)
    objects = [{"id": str(i), "name": p.names[i], "image": "1"} for i in range(r)]
    objects += [{"id": str(i + r), "name": p.names[i], "image": "2"} for i in range(r)]
    attributes = []
    for i in range(r):
        values = (
            DISTORTIONS[p.distortion[i][0]],
            DISTORTIONS[p.distortion[i][1]],
            SEVERITIES[p.severity[i][0]],
            SEVERITIES[p.severity[i][1]],
            str(round(p.score[i][0], 4)),
            str(round(p.score[i][1], 4)),
        )
        for k, value in enumerate(values):
            obj, image = (str(i), "1") if k % 2 == 0 else (str(i + r), "2")
            attributes.append({"attribute": value, "object": obj, "image": image})
    art = [
        {"predicate": COMPARISONS[c], "object": str(i), "subject": str(i + r)}
        for i, c in enumerate(p.comparison)
    ]
    return {
        "objects": objects,
        "attributes": attributes,
        "art": art,
        "relationships": _relationships(p, predicate_classes),
    }


def write_graph(graph: dict[str, Any], path: str | Path) -> Path:
    """Write a graph as indented JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(graph, indent=2))
    return path


def render_graph_png(graph: dict[str, Any], path: str | Path, dpi: int = 300) -> Path:
    """Draw objects, their attributes and ART nodes as the published plot (colours included)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    objects = {o["id"]: o for o in graph["objects"]}
    attrs: dict[str, list[str]] = {oid: [] for oid in objects}
    for a in graph["attributes"]:
        if a["attribute"] not in attrs[a["object"]]:  # dedup by (text, object, image)
            attrs[a["object"]].append(a["attribute"])
    columns = {img: [o for o in objects.values() if o["image"] == img] for img in ("1", "2")}
    rows = max(len(columns["1"]), len(columns["2"]), 1)
    band = max([len(v) for v in attrs.values()] + [1])
    pos: dict[str, tuple[float, float]] = {}
    fig, ax = plt.subplots(figsize=(12, max(2.0, 0.45 * band * rows)))

    def node(text: str, xy: tuple[float, float], color: str) -> None:
        ax.text(*xy, text, ha="center", va="center", fontsize=7,
                bbox={"boxstyle": "round", "fc": color, "ec": "0.3"})  # fmt: skip

    def edge(a: tuple[float, float], b: tuple[float, float]) -> None:
        ax.annotate("", xy=b, xytext=a, arrowprops={"arrowstyle": "->", "color": "0.4"})

    for img, obj_x, attr_x in (("1", 1.0, 0.0), ("2", 3.0, 4.0)):
        for row, o in enumerate(columns[img]):
            y = -row * band
            pos[o["id"]] = (obj_x, y)
            for k, text in enumerate(attrs[o["id"]]):
                ay = y + (k - (len(attrs[o["id"]]) - 1) / 2)
                edge((obj_x, y), (attr_x, ay))
                node(text, (attr_x, ay), COLORS["attribute"])
            node(o["name"] or o["id"], (obj_x, y), COLORS[img])
    for a in graph["art"]:
        src, dst = objects[a["object"]], objects[a["subject"]]
        if src["image"] == dst["image"] or src["name"] != dst["name"]:
            continue
        (x0, y0), (x1, y1) = pos[src["id"]], pos[dst["id"]]
        mid = ((x0 + x1) / 2, (y0 + y1) / 2)
        edge((x0, y0), mid)
        edge(mid, (x1, y1))
        node(a["predicate"], mid, COLORS["art"])
    ax.set_xlim(-0.8, 4.8)
    ax.set_ylim(-rows * band + band / 2 - 0.5, band / 2 + 0.5)
    ax.axis("off")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path
