"""Seagull-100w manifest reader: `--source seagull` (reference/data_formats.md §3).

- Reads only the JSON Lines manifest (`annotations`, default `<root>/manifest.jsonl`); relative
  paths resolve against the manifest's folder. Tag: `seagull_<file_name>`.
- `image_path` is the clean `reference`, `isp_path` the ISP-`distorted` image (same size).
- Regions keep manifest order. Masks may be compressed or uncompressed COCO RLE; they must have
  the image's size, be non-empty and not overlap. A given `bbox` must match the mask's box; the
  record always stores the box computed from the mask.
- Seagull ROIs have no category: `category_id` is -1 (no label) and `isthing` is true.
- `isp_flags[i]` is `{noise, blur}` for region i; a missing key follows `degradations`.
- `split` is the manifest's `split` where given, else "".
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from pandaset_build.errors import BadInput
from pandaset_build.sources.common import Item, collect, image_size
from pandaset_build.store.masks import decode_mask
from pandaset_build.store.records import Region, SourceRecord, region_from_mask

SOURCE = "seagull"
NO_CATEGORY = -1
DEGRADATIONS = ("blur", "colorfulness", "compression", "contrast", "exposure", "noise")
ISP_FLAGS = ("noise", "blur")


def string_runs(counts: str) -> list[int]:
    """Run lengths of a compressed COCO RLE string (pycocotools' rleFrString, bounds-checked)."""
    runs: list[int] = []
    p = 0
    while p < len(counts):
        x = k = 0
        more = True
        while more:
            c = ord(counts[p]) - 48 if p < len(counts) else -1
            if not 0 <= c < 64:
                raise ValueError(f"bad RLE character at {p}")
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p, k = p + 1, k + 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        runs.append(x + runs[-2] if len(runs) > 2 else x)
    return runs


def checked_mask(rle: dict[str, Any], width: int, height: int) -> np.ndarray:
    """Decode an RLE after checking its size and that its runs cover exactly that size."""
    size = [int(v) for v in rle["size"]]
    if size != [height, width]:
        raise ValueError(f"RLE size {size} is not the image's [{height}, {width}]")
    counts = rle["counts"]
    runs = [int(v) for v in counts] if isinstance(counts, list) else string_runs(str(counts))
    if min(runs, default=-1) < 0 or sum(runs) != height * width:
        raise ValueError("RLE runs do not cover the image exactly")
    return decode_mask(rle)


def region_payload(region: dict[str, Any], degradations: list[str]) -> dict[str, Any]:
    """Plain-data region of a manifest entry, with its ISP flags resolved."""
    mask = region["mask"]
    if not isinstance(mask, dict) or "size" not in mask or "counts" not in mask:
        raise ValueError("mask is not a COCO RLE {size, counts}")
    flags = region.get("flags") or {}
    return {
        "mask": {"size": list(mask["size"]), "counts": mask["counts"]},
        "name": str(region.get("name", "")),
        "description": str(region.get("description", "")),
        "bbox": region.get("bbox"),
        "flags": {k: bool(flags.get(k, k in degradations)) for k in ISP_FLAGS},
    }


def entry_item(manifest: Path, line_no: int, line: str) -> Item | None:
    """Item of one manifest line; None for a blank line."""
    if not line.strip():
        return None
    try:
        entry = json.loads(line)
    except json.JSONDecodeError as exc:
        raise BadInput(manifest, f"line {line_no} is not valid JSON ({exc})") from exc
    degradations = [str(d) for d in entry["degradations"]]
    unknown = sorted(set(degradations) - set(DEGRADATIONS))
    if unknown:
        raise BadInput(manifest, f"line {line_no}: unknown degradations {unknown}")
    base = manifest.parent
    payload = {
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
    root: Path, *, annotations: Path | str | None = None
) -> tuple[list[Item], list[BadInput]]:
    """Items of a Seagull manifest, sorted by tag, and the lines that cannot be used."""
    manifest = Path(annotations) if annotations else Path(root) / "manifest.jsonl"
    if not manifest.is_file():
        raise BadInput(manifest, "manifest file not found")
    lines = manifest.read_text(encoding="utf-8").splitlines()
    return collect(lines, partial(entry_item, manifest), manifest, unit="line", start=1)


def check_sizes(p: dict[str, Any]) -> tuple[int, int]:
    """(width, height) of the decoded reference, checked against the distorted image."""
    width, height = image_size(p["reference"])
    if image_size(p["distorted"]) != (width, height):
        raise BadInput(p["distorted"], f"size differs from its reference {p['reference']}")
    declared = (p["width"] or width, p["height"] or height)
    if declared != (width, height):
        raise BadInput(
            p["manifest"],
            f"{p['where']}: size {declared} is not the decoded {width}x{height} of the image",
        )
    return width, height


def build_regions(p: dict[str, Any], width: int, height: int) -> list[Region]:
    """Regions in manifest order; BadInput naming the manifest for bad or overlapping masks."""
    owner = np.zeros((height, width), dtype=np.int32)
    regions = []
    for i, r in enumerate(p["regions"]):
        where = f"{p['where']} region {i}"
        try:
            mask = checked_mask(r["mask"], width, height)
        except (ValueError, TypeError) as exc:
            raise BadInput(p["manifest"], f"{where}: invalid mask ({exc})") from exc
        if not mask.any():
            raise BadInput(p["manifest"], f"{where}: empty mask")
        clash = owner[mask]
        if clash.any():
            other = int(clash[clash > 0][0]) - 1
            raise BadInput(p["manifest"], f"{where}: mask overlaps region {other}")
        owner[mask] = i + 1
        region = region_from_mask(
            i,
            mask,
            name=r["name"],
            category_id=NO_CATEGORY,
            isthing=True,
            description=r["description"],
        )
        if r["bbox"] is not None and not np.allclose(r["bbox"], region.bbox, atol=1.0):
            raise BadInput(p["manifest"], f"{where}: bbox {r['bbox']} != mask box {region.bbox}")
        regions.append(region)
    return regions


def load_item(item: Item) -> SourceRecord:
    """Decode the reference and distorted images and the region masks of one manifest entry."""
    p = item.payload
    width, height = check_sizes(p)
    return SourceRecord(
        tag=item.tag,
        source=SOURCE,
        width=width,
        height=height,
        image_path=p["reference"],
        regions=build_regions(p, width, height),
        isp_path=p["distorted"],
        isp_degradations=list(p["degradations"]),
        isp_flags=[dict(r["flags"]) for r in p["regions"]],
        split=p["split"],
    )
