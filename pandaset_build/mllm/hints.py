"""A pair's Distortion Graph (eval-panda's JSON) read per bench region, as figure 5 shows it."""

from __future__ import annotations

import json
from dataclasses import dataclass

from pandaset_build.config import vocab
from pandaset_build.errors import UsageError
from pandaset_build.json_types import JsonObject
from pandaset_build.pairsets import PairRecord
from pandaset_build.panda.graph import DistortionGraph

from . import paper

PANDA_SIZE = 224  # PANDA's input size: regions empty at this size have no graph node


@dataclass(frozen=True)
class RegionHint:
    """The graph's predictions for one region: (anchor, target) labels and the comparison."""

    distortion: tuple[int, int]
    severity: tuple[int, int]
    score: tuple[float, float]
    comparison: int

    def text(self) -> str:
        """Figure 5's form: `{"anchor": {"distortion": "clean", "severity": 0, "score": 0.9678},
        "target": {...}, "comparison": "same"}` (the paper's label spellings)."""
        sides = {
            side: {
                "distortion": paper.distortion_name(self.distortion[k]),
                "severity": self.severity[k],
                "score": self.score[k],
            }
            for k, side in enumerate(("anchor", "target"))
        }
        return json.dumps({**sides, "comparison": paper.comparison_name(self.comparison)})


def _kept(pair: PairRecord, size: int) -> list[int]:
    """Bench indices of the regions PANDA keeps (mask and box present, mask non-empty at size)."""
    from pandaset_build.panda.mask_resize import survives_resize
    from pandaset_build.store.masks import decode_mask

    return [
        r.index
        for r in pair.regions
        if r.mask is not None and r.bbox is not None and survives_resize(decode_mask(r.mask), size)
    ]


def _object_values(graph: DistortionGraph) -> tuple[list[JsonObject], dict[str, list[str]]]:
    """The anchor objects (image "1") in order, and every object's attribute texts in order."""
    anchors = [o for o in graph.get("objects", []) if str(o.get("image")) == "1"]
    values: dict[str, list[str]] = {}
    for a in graph.get("attributes", []):
        values.setdefault(str(a["object"]), []).append(str(a["attribute"]))
    return anchors, values


def _labels(values: list[str], where: str) -> tuple[int, int, float]:
    """(distortion, severity, score) from an object's attribute texts, in the written order."""
    try:
        distortion, severity, score = values[:3]
        return vocab.DISTORTION_ID[distortion], vocab.SEVERITIES.index(severity), float(score)
    except (ValueError, KeyError) as err:
        message = f"{where}: attributes {values} are not distortion, severity, score"
        raise UsageError(message) from err


def region_hints(pair: PairRecord, graph: DistortionGraph) -> dict[int, RegionHint]:
    """The graph's predictions by bench region index.

    Graph object i is the i-th region PANDA kept: every region when the counts agree, else the
    regions whose mask survives the resize to 224 px (the published empty-region rule)."""
    anchors, values = _object_values(graph)
    count = len(anchors)
    if count == len(pair.regions):
        indices = [r.index for r in pair.regions]
    else:
        indices = _kept(pair, PANDA_SIZE)
        if len(indices) != count:
            raise UsageError(
                f"graph of {pair.key}: {count} regions, but the bench pair has "
                f"{len(pair.regions)}, {len(indices)} of them kept by PANDA at {PANDA_SIZE} px"
            )
    comparisons = {str(a["object"]): str(a["predicate"]) for a in graph.get("art", [])}
    hints = {}
    for position, (index, obj) in enumerate(zip(indices, anchors, strict=True)):
        region = pair.regions[index]
        if str(obj.get("name")) != region.name:
            raise UsageError(
                f"graph of {pair.key}: object {position} is {obj.get('name')!r}, but bench "
                f"region {index} is {region.name!r}"
            )
        anchor_id, target_id = str(obj["id"]), str(position + count)
        a = _labels(values.get(anchor_id, []), f"graph of {pair.key}, object {anchor_id}")
        t = _labels(values.get(target_id, []), f"graph of {pair.key}, object {target_id}")
        predicate = comparisons.get(anchor_id)
        if predicate not in vocab.COMPARISON_ID:
            raise UsageError(f"graph of {pair.key}: no comparison for object {anchor_id}")
        hints[index] = RegionHint(
            (a[0], t[0]), (a[1], t[1]), (a[2], t[2]), vocab.COMPARISON_ID[predicate]
        )
    return hints
