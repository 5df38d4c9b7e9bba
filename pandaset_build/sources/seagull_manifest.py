"""The JSON Lines manifest of `--source seagull`: other ISP-style data (docs/sources.md).

- One JSON object per line; relative paths resolve against the manifest's folder. Tag:
  `seagull_<file_name>`.
- `image_path` is the clean `reference`, `isp_path` the ISP-`distorted` image (same size); the
  distorted image is also the record's one ISP image (folder `distorted`) for each of noise and
  blur it lists, measured per region.
- Regions keep manifest order. Masks are compressed or uncompressed COCO RLE; `size` may be left
  out (it is the image's) and must be the image's when given. Overlaps go to the smaller mask;
  masks left empty are dropped and counted. A given `bbox` must match the decoded mask's box.
- Regions have no category: `category_id` -1 and `isthing` true.
- `isp_flags[i]` is `{noise, blur}` for region i; a missing key follows `degradations`.
- `split` is the manifest's `split` where given, else "".
"""

from __future__ import annotations

import json
from collections.abc import Collection
from functools import partial
from pathlib import Path

import numpy as np

from pandaset_build.config import vocab
from pandaset_build.errors import BadInput
from pandaset_build.json_types import JsonObject
from pandaset_build.sources.common import Item, collect
from pandaset_build.sources.isp import measure, region_labels
from pandaset_build.sources.overlaps import make_disjoint
from pandaset_build.sources.rle import decode_rle
from pandaset_build.store.images import read_rgb
from pandaset_build.store.records import SourceRecord, region_from_mask

SOURCE = "seagull"
FORM = "manifest"
ISP_FOLDER = "distorted"
DEGRADATIONS = ("blur", "colorfulness", "compression", "contrast", "exposure", "noise")


def region_payload(region: JsonObject, degradations: list[str]) -> JsonObject:
    """Plain-data region of a manifest entry, with its ISP flags resolved."""
    mask = region["mask"]
    if not isinstance(mask, dict) or "counts" not in mask:
        raise ValueError("mask is not a COCO RLE {counts[, size]}")
    flags = region.get("flags") or {}
    return {
        "mask": dict(mask),
        "name": str(region.get("name", "")),
        "description": str(region.get("description", "")),
        "bbox": region.get("bbox"),
        "flags": {k: bool(flags.get(k, k in degradations)) for k in vocab.ISP_FAMILIES},
    }


def entry_item(manifest: Path, line_no: int, line: str) -> Item | None:
    """Item of one manifest line; None for a blank line."""
    if not line.strip():
        return None
    try:
        entry = json.loads(line)
    except json.JSONDecodeError as exc:
        raise BadInput(manifest, f"line {line_no} is not valid JSON ({exc})") from exc
    degradations = [str(d).lower() for d in entry["degradations"]]
    unknown = sorted(set(degradations) - set(DEGRADATIONS))
    if unknown:
        raise BadInput(
            manifest,
            f"line {line_no}: unknown degradations {unknown}; use {', '.join(DEGRADATIONS)} "
            "(any case)",
        )
    base = manifest.parent
    payload = {
        "form": FORM,
        "manifest": str(manifest),
        "where": f"line {line_no} ({entry['file_name']})",
        "reference": str((base / entry["reference"]).resolve()),
        "distorted": str((base / entry["distorted"]).resolve()),
        "width": entry.get("width"),
        "height": entry.get("height"),
        "degradations": degradations,
        "split": str(entry.get("split") or ""),
        "regions": [region_payload(r, degradations) for r in entry["regions"]],
    }
    return Item(tag=f"seagull_{entry['file_name']}", source=SOURCE, payload=payload)


def list_items(
    manifest: Path, tags: Collection[str] | None = None
) -> tuple[list[Item], list[BadInput]]:
    """Items of a Seagull manifest (only `tags` where given), sorted by tag, and bad lines."""
    if not manifest.is_file():
        raise BadInput(manifest, "manifest file not found")
    lines = manifest.read_text(encoding="utf-8").splitlines()
    items, failures = collect(lines, partial(entry_item, manifest), manifest, unit="line", start=1)
    if tags is None:
        return items, failures
    wanted = set(tags)
    found = {item.tag for item in items}
    failures += [
        BadInput(manifest, f"listed tag {tag} is not in the manifest")
        for tag in sorted(wanted - found)
    ]
    return [item for item in items if item.tag in wanted], failures


def check_size(p: JsonObject, reference: np.ndarray) -> tuple[int, int]:
    """(width, height) of the decoded reference, checked against the manifest's sizes."""
    height, width = reference.shape[:2]
    declared = (p["width"] or width, p["height"] or height)
    if declared != (width, height):
        raise BadInput(
            p["manifest"],
            f"{p['where']}: size {declared} is not the decoded {width}x{height} of the image",
        )
    return width, height


def decoded_masks(p: JsonObject, width: int, height: int) -> list[np.ndarray]:
    """The manifest's masks as given; BadInput naming the manifest for a bad one."""
    masks = []
    for i, r in enumerate(p["regions"]):
        where = f"{p['where']} region {i}"
        try:
            mask = decode_rle(r["mask"], width, height)
        except (ValueError, TypeError) as exc:
            raise BadInput(p["manifest"], f"{where}: invalid mask ({exc})") from exc
        if r["bbox"] is not None and mask.any():
            ys, xs = np.nonzero(mask)
            box = [xs.min(), ys.min(), np.ptp(xs) + 1, np.ptp(ys) + 1]
            if not np.allclose(r["bbox"], box, atol=1.0):
                raise BadInput(p["manifest"], f"{where}: bbox {r['bbox']} != mask box {box}")
        masks.append(mask)
    return masks


def load_item(item: Item) -> SourceRecord:
    """Decode the reference and distorted images and the region masks of one manifest entry."""
    p = item.payload
    reference = read_rgb(p["reference"])
    width, height = check_size(p, reference)
    disjoint = make_disjoint(decoded_masks(p, width, height))
    kept = disjoint.kept
    regions = [
        region_from_mask(
            index,
            disjoint.masks[old],
            name=p["regions"][old]["name"],
            category_id=vocab.NO_CATEGORY,
            isthing=True,
            description=p["regions"][old]["description"],
        )
        for index, old in enumerate(kept)
    ]
    families = [f for f in vocab.ISP_FAMILIES if f in p["degradations"]]
    isp_images = []
    if families:
        labels = region_labels([disjoint.masks[old] for old in kept], (height, width))
        image = measure(families[0], ISP_FOLDER, p["distorted"], reference, labels)
        isp_images = [{**image, "family": family} for family in families]
    elif read_rgb(p["distorted"]).shape != reference.shape:
        raise BadInput(p["distorted"], f"size differs from its reference {p['reference']}")
    return SourceRecord(
        tag=item.tag,
        source=SOURCE,
        width=width,
        height=height,
        image_path=p["reference"],
        regions=regions,
        isp_path=p["distorted"],
        isp_degradations=list(p["degradations"]),
        isp_flags=[dict(p["regions"][old]["flags"]) for old in kept],  # type: ignore[misc]
        split=p["split"],
        isp_images=isp_images,  # type: ignore[arg-type]
        overlap_share=disjoint.share,
        dropped_regions=len(p["regions"]) - len(kept),
    )
