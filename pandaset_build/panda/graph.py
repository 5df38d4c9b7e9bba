"""Distortion Graph JSON per pair, as the published `graph_inference.py` writes it, and a PNG."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pandaset_build.config.vocab import COMPARISONS, DISTORTIONS, SEVERITIES
from pandaset_build.pairsets.record import PairRecord
from pandaset_build.store.atomic import write_bytes_atomic

# The published graph JSON: `objects`, `attributes`, `relationships`, `art`, every value a string.
DistortionGraph = dict[str, list[dict[str, str]]]

COLORS = {"1": "#D9ACF5", "2": "#BBD8A3", "attribute": "#FFACC7", "art": "#BCCEF8"}
OUT_OF_RANGE = "#D62728"  # edge and text colour of a predicted score outside [0, 1]


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


def pair_graph(
    p: PairPrediction, predicate_classes: Sequence[str] | None = None
) -> DistortionGraph:
    """The predicted Distortion Graph of one pair, entry for entry as `graph_inference.py`.

    Keys `objects`, `attributes`, `relationships`, `art`; every value a string. Per kept region
    i (of R): objects i (anchor, image "1") then i + R (target, image "2"); six attributes
    (distortion A, T, severity A, T, score A, T rounded to 4 decimals); the relations whose
    subject or object *equals i* (the published code compares the stored indices with the kept
    position), written with their stored indices for image "1" then "2"; one ART entry."""
    r = len(p.region_index)
    graph: DistortionGraph = {
        "objects": [],
        "attributes": [],
        "relationships": [],
        "art": [],
    }
    for i in range(r):
        anchor, target = str(i), str(i + r)
        graph["objects"].append({"id": anchor, "name": str(p.names[i]), "image": "1"})
        graph["objects"].append({"id": target, "name": str(p.names[i]), "image": "2"})
        graph["art"].append(
            {"predicate": COMPARISONS[p.comparison[i]], "object": anchor, "subject": target}
        )
        values = (
            DISTORTIONS[p.distortion[i][0]],
            DISTORTIONS[p.distortion[i][1]],
            SEVERITIES[p.severity[i][0]],
            SEVERITIES[p.severity[i][1]],
            str(round(p.score[i][0], 4)),
            str(round(p.score[i][1], 4)),
        )
        for k, value in enumerate(values):
            obj, image = (anchor, "1") if k % 2 == 0 else (target, "2")
            graph["attributes"].append({"attribute": value, "object": obj, "image": image})
        for subject, obj, predicate in p.relations:
            if i not in (subject, obj):
                continue
            name = predicate_classes[predicate] if predicate_classes else str(predicate)
            for image in ("1", "2"):
                graph["relationships"].append(
                    {"predicate": name, "object": str(obj), "subject": str(subject), "image": image}
                )
    return graph


def write_graph(graph: DistortionGraph, path: str | Path) -> Path:
    """Write a graph as the published code does (`json.dump(graph, f, indent=4)`), atomically."""
    path = Path(path)
    write_bytes_atomic(path, json.dumps(graph, indent=4).encode())
    return path


@dataclass(frozen=True)
class GraphPicture:
    """What the PNG shows besides the graph: the pair's names, its images and regions."""

    tag: str
    anchor_version: str
    target_version: str
    anchor_image: np.ndarray | None = None  # H x W x 3 uint8
    target_image: np.ndarray | None = None
    masks: list[np.ndarray | None] = field(default_factory=list)  # per graph region: H x W
    boxes: list[Sequence[float] | None] = field(default_factory=list)  # per graph region: xywh
    descriptions: list[str] = field(default_factory=list)  # per graph region, "" where none


def picture_for(record: PairRecord, kept: Sequence[int]) -> GraphPicture:
    """A `GraphPicture` of a pair record whose regions `kept` are the graph's regions."""
    from pandaset_build.panda.data import load_image, mask_array

    regions = [record.regions[i] for i in kept]
    return GraphPicture(
        tag=record.tag,
        anchor_version=record.anchor_version,
        target_version=record.target_version,
        anchor_image=load_image(record.anchor_image),
        target_image=load_image(record.target_image),
        masks=[None if r.mask is None else mask_array(r.mask).astype(bool) for r in regions],
        boxes=[r.bbox for r in regions],
        descriptions=[r.description for r in regions],
    )


def _score(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _out_of_range(text: str) -> bool:
    value = _score(text)
    return value is not None and not 0.0 <= value <= 1.0


def _region_colour(i: int) -> tuple[float, float, float]:
    import matplotlib

    return matplotlib.colormaps["tab20"](i % 20)[:3]


def _inside(mask: np.ndarray) -> tuple[float, float]:
    """The mask pixel farthest from its border: where a region's number is written."""
    import cv2

    distance = cv2.distanceTransform(np.pad(mask.astype(np.uint8), 1), cv2.DIST_L2, 3)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(distance)), distance.shape)
    return float(x), float(y)


def _draw_image(ax: Any, image: np.ndarray, picture: GraphPicture, title: str) -> None:
    """An image with every graph region outlined (mask contour, else box) and numbered."""
    from matplotlib.patches import Rectangle

    ax.imshow(image)
    ax.set_title(title, fontsize=9)
    ax.axis("off")
    for i, box in enumerate(picture.boxes):
        colour = _region_colour(i)
        mask = picture.masks[i] if i < len(picture.masks) else None
        if mask is not None and mask.shape[:2] == image.shape[:2] and mask.any():
            ax.contour(mask.astype(float), levels=[0.5], colors=[colour], linewidths=1.2)
            x, y = _inside(mask)
        elif box is not None:
            bx, by, w, h = (float(v) for v in box)
            ax.add_patch(Rectangle((bx, by), w, h, fill=False, ec=colour, lw=1.2))
            x, y = bx + w / 2, by + h / 2
        else:
            continue
        tag = {"boxstyle": "square,pad=0.15", "fc": colour, "ec": "none", "alpha": 0.85}
        ax.text(x, y, str(i), fontsize=6, ha="center", va="center", bbox=tag)


def _legend_handles() -> list[Any]:
    from matplotlib.patches import Patch

    return [
        Patch(fc=COLORS["1"], ec="0.3", label="anchor region (image 1)"),
        Patch(fc=COLORS["2"], ec="0.3", label="target region (image 2)"),
        Patch(fc=COLORS["attribute"], ec="0.3", label="attribute: distortion, severity, score"),
        Patch(fc=COLORS["art"], ec="0.3", label="comparison: anchor is <label> than target"),
        Patch(fc=COLORS["attribute"], ec=OUT_OF_RANGE, lw=2, label="score outside [0, 1]"),
    ]


def _object_label(obj: dict[str, str], region: int, picture: GraphPicture | None) -> str:
    """`#i name`, with the region's description (wrapped) where the source has one."""
    label = f"#{region} {obj['name']}"
    if picture is not None and region < len(picture.descriptions) and picture.descriptions[region]:
        label += "\n" + textwrap.fill(picture.descriptions[region], 26)
    return label


def render_graph_png(
    graph: DistortionGraph,
    path: str | Path,
    picture: GraphPicture | None = None,
    dpi: int = 200,
) -> Path:
    """Draw a graph as the published plot (colours; attribute nodes deduplicated by (text,
    object); ART nodes between same-name objects of the two images), edges behind nodes, with a
    legend, node labels `#i name (description)`, scores outside [0, 1] marked, and, given a
    `picture`, the pair's names and both images with the regions outlined above the graph."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    objects = {o["id"]: o for o in graph["objects"]}
    attrs: dict[str, list[str]] = {oid: [] for oid in objects}
    for a in graph["attributes"]:
        if a["attribute"] not in attrs[a["object"]]:  # dedup by (text, object, image)
            attrs[a["object"]].append(a["attribute"])
    columns = {img: [o for o in graph["objects"] if o["image"] == img] for img in ("1", "2")}
    region_of = {o["id"]: k for img in columns for k, o in enumerate(columns[img])}
    rows = max(len(columns["1"]), len(columns["2"]), 1)
    band = max([len(v) for v in attrs.values()] + [3])
    graph_height = max(2.5, 0.32 * band * rows)
    images = picture is not None and picture.anchor_image is not None
    image_height = 4.2 if images else 0.0
    fig = plt.figure(figsize=(13, graph_height + image_height + 1.2), layout="constrained")
    grid = fig.add_gridspec(
        2 if images else 1, 2, height_ratios=[image_height, graph_height] if images else [1]
    )
    ax = fig.add_subplot(grid[-1, :])
    if images:
        assert picture is not None and picture.target_image is not None
        _draw_image(fig.add_subplot(grid[0, 0]), picture.anchor_image, picture,
                    f"anchor: {picture.anchor_version} (image 1)")  # fmt: skip
        _draw_image(fig.add_subplot(grid[0, 1]), picture.target_image, picture,
                    f"target: {picture.target_version} (image 2)")  # fmt: skip
    if picture is not None:
        fig.suptitle(
            f"Distortion Graph of {picture.tag}: anchor {picture.anchor_version} vs target "
            f"{picture.target_version}",
            fontsize=11,
        )
    nodes: dict[Any, Any] = {}
    edges: list[tuple[Any, Any]] = []

    def node(key: Any, text: str, xy: tuple[float, float], colour: str, edge: str = "0.3") -> None:
        bad = edge == OUT_OF_RANGE
        nodes[key] = ax.text(
            *xy, text, ha="center", va="center", fontsize=6.5, zorder=3,
            color=OUT_OF_RANGE if bad else "black", fontweight="bold" if bad else "normal",
            bbox={"boxstyle": "round,pad=0.3", "fc": colour, "ec": edge, "lw": 1.6 if bad else 0.8},
        )  # fmt: skip

    for img, obj_x, attr_x in (("1", 1.4, 0.0), ("2", 3.6, 5.0)):
        for row, o in enumerate(columns[img]):
            y = -row * band
            node(o["id"], _object_label(o, region_of[o["id"]], picture), (obj_x, y), COLORS[img])
            values = attrs[o["id"]]
            for k, text in enumerate(values):
                ay = y + ((len(values) - 1) / 2 - k) * 0.9
                bad = _out_of_range(text)
                label = f"{text} (outside [0, 1])" if bad else text
                edge = OUT_OF_RANGE if bad else "0.3"
                node((o["id"], text), label, (attr_x, ay), COLORS["attribute"], edge)
                edges.append((o["id"], (o["id"], text)))
    for k, a in enumerate(graph["art"]):
        src, dst = objects[a["object"]], objects[a["subject"]]
        if src["image"] == dst["image"] or src["name"] != dst["name"]:
            continue
        y = -region_of[src["id"]] * band
        node(("art", k), a["predicate"], (2.5, y), COLORS["art"])
        edges += [(src["id"], ("art", k)), (("art", k), dst["id"])]
    ax.set_xlim(-0.7, 5.7)
    ax.set_ylim(-(rows - 1) * band - band / 2 - 0.3, band / 2 + 0.3)
    ax.axis("off")
    fig.canvas.draw()  # sizes the node boxes, so that the arrows end at their borders
    for a, b in edges:
        ta, tb = nodes[a], nodes[b]
        ax.annotate(
            "", xy=tb.get_position(), xytext=ta.get_position(), zorder=1,
            arrowprops={"arrowstyle": "-|>,head_length=0.5,head_width=0.25", "color": "0.45",
                        "lw": 0.8, "mutation_scale": 12, "shrinkA": 0, "shrinkB": 0,
                        "patchA": ta.get_bbox_patch(), "patchB": tb.get_bbox_patch()},
        )  # fmt: skip
    fig.legend(handles=_legend_handles(), loc="outside lower center", ncol=3, fontsize=7,
               frameon=False)  # fmt: skip
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path
