"""Seagull-100w reader: `--source seagull`, the release as unpacked (docs/sources.md).

```
<root>/Ref.Images/<id>.png                      clean references
<root>/Dist.Images/<Type>/<Type>_<k>/<id>.png   ISP versions; Blur and Noise are used
<root>/Labels/SEAGULL-100w_mask-based-rois.json ROI masks (`annotations` names another file)
```

- One item per reference that has ROIs; tag `seagull_<id>.png`. `tags` (tags or ids) keeps
  only the listed references.
- ROI entries are `{img, rle, points}`: `rle` is a compressed COCO counts string without a
  size (the image's), `points` an inclusive `[x, y, w, h]` (COCO's box is `[x, y, w + 1,
  h + 1]`). They come in a JSON array, or in an object keyed by image id holding a list of
  entries or one entry. A ROI listed again with the same counts is kept once.
- ROIs overlap (SAM, SEEM): each pixel goes to the smallest ROI covering it; ROIs left empty
  are dropped and counted. Regions keep file order; a region's name is its ROI's index among
  its image's ROIs (`roi 3`), with no class (`category_id` -1).
- Every `Blur_k` and `Noise_k` image of a reference is an ISP image of the record, measured per
  region (`sources.isp`); the plan picks, per region and severity, one from the matching third
  of the folders ordered by that measurement.
- A root holding `manifest.jsonl` (no `Ref.Images/`), or a `.jsonl` `annotations`, is read as
  the JSON Lines manifest of other ISP-style data (`sources.seagull_manifest`).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np

from pandaset_build.config import vocab
from pandaset_build.errors import BadInput
from pandaset_build.json_types import JsonObject
from pandaset_build.sources import seagull_manifest
from pandaset_build.sources.common import Item, read_json
from pandaset_build.sources.isp import measure, region_labels
from pandaset_build.sources.overlaps import make_disjoint
from pandaset_build.sources.rle import decode_counts
from pandaset_build.store.images import read_rgb
from pandaset_build.store.records import SourceRecord, region_from_mask

SOURCE = "seagull"
OPTIONS = ("annotations",)
FORM = "release"
REFERENCES = "Ref.Images"
DISTORTED = "Dist.Images"
LABELS = "Labels/SEAGULL-100w_mask-based-rois.json"
FAST_VIEW = "Labels/SEAGULL-100w_mask-based-rois_fast-view.json"
MANIFEST = "manifest.jsonl"
ISP_TYPES = {"noise": "Noise", "blur": "Blur"}
ROI_KEYS = ("rle", "points")
log = logging.getLogger(__name__)

Roi = tuple[str, list[float], int]  # (compressed counts, inclusive points, entry number)
IspEntry = tuple[str, str, str]  # (family, folder, path)


def tag_of(name: str) -> str:
    """The tag of a tag (`seagull_<id>.png`), a file name (`<id>.png`) or a reference id."""
    if name.startswith("seagull_"):
        return name
    return f"seagull_{name}" if Path(name).suffix else f"seagull_{name}.png"


def reference_id(tag: str) -> str:
    """The reference id of a release tag `seagull_<id>.png`."""
    return tag.removeprefix("seagull_").removesuffix(".png")


def coco_box(points: list[float]) -> list[float]:
    """COCO xywh of SEAGULL's inclusive `points` [x, y, w, h]: one pixel wider and taller."""
    x, y, w, h = points
    return [float(x), float(y), float(w) + 1, float(h) + 1]


def shape_error(path: Path, first: Any) -> BadInput:
    """The message for a label file that holds no ROI entries in a known shape."""
    what = f"keys {sorted(first)}" if isinstance(first, dict) else f"a {type(first).__name__}"
    return BadInput(
        path,
        f"not a Seagull ROI file: its first entry has {what}; expected ROI entries "
        "{img, rle, points} in a JSON array, or an object keyed by image id whose values are "
        "such entries (a list, or one entry); name the mask-based-rois file with --annotations",
    )


def is_roi(entry: Any, with_img: bool) -> bool:
    return isinstance(entry, dict) and all(k in entry for k in ROI_KEYS + ("img",) * with_img)


def roi_entries(path: Path, data: Any) -> list[tuple[Any, Any]]:
    """(image name, entry) of every ROI entry of a label file, in file order."""
    if isinstance(data, list):
        if not data:
            raise BadInput(path, "holds no ROI entries (an empty array)")
        if not is_roi(data[0], with_img=True):
            raise shape_error(path, data[0])
        return [(e.get("img") if isinstance(e, dict) else None, e) for e in data]
    if isinstance(data, dict):
        if not data:
            raise BadInput(path, "holds no ROI entries (an empty object)")
        first = next(iter(data.values()))
        sample = first[0] if isinstance(first, list) and first else first
        if not is_roi(sample, with_img=False):
            raise shape_error(path, sample)
        return [
            (key, entry)
            for key, value in data.items()
            for entry in (value if isinstance(value, list) else [value])
        ]
    raise shape_error(path, data)


def read_rois(path: Path) -> tuple[dict[str, list[Roi]], list[BadInput]]:
    """Reference id -> its distinct ROIs in file order, and the malformed entries."""
    rois: dict[str, list[Roi]] = {}
    seen: dict[str, set[str]] = {}
    failures = []
    for number, (image, entry) in enumerate(roi_entries(path, read_json(path, "ROI"))):
        try:
            ref = Path(str(image)).stem if image is not None else ""
            counts, points = entry["rle"], [float(v) for v in entry["points"]]
            if isinstance(counts, dict):
                counts = counts["counts"]
            if not ref or not isinstance(counts, str) or len(points) != 4:
                raise ValueError("needs img, rle (a counts string) and points [x, y, w, h]")
        except (KeyError, TypeError, ValueError) as exc:
            failures.append(BadInput(path, f"ROI entry {number} is malformed ({exc})"))
            continue
        if counts not in seen.setdefault(ref, set()):
            seen[ref].add(counts)
            rois.setdefault(ref, []).append((counts, points, number))
    return rois, failures


def isp_folders(dist_dir: Path) -> list[tuple[str, Path, set[str]]]:
    """(family, folder, file names) of every `Blur_k` and `Noise_k` folder, in k order."""
    out = []
    for family in vocab.ISP_FAMILIES:
        kind = ISP_TYPES[family]
        base = dist_dir / kind
        if not base.is_dir():
            log.warning("%s not found: %s regions get synthetic %s", base, family, family)
            continue
        pattern = re.compile(rf"{kind}_(\d+)")
        numbered = sorted(
            (int(m.group(1)), p)
            for p in base.iterdir()
            if p.is_dir() and (m := pattern.fullmatch(p.name))
        )
        out += [(family, p, set(os.listdir(p))) for _, p in numbered]
    return out


def label_file(root: Path, annotations: Path | None) -> Path:
    """The ROI file to read: `annotations`, else the release's; BadInput naming both ways."""
    if annotations is not None:
        if not annotations.is_file():
            raise BadInput(annotations, "ROI file not found (--annotations)")
        return annotations
    path = root / LABELS
    if not path.is_file():
        sample = root / FAST_VIEW
        hint = f" (the sample: --annotations {sample})" if sample.is_file() else ""
        raise BadInput(
            path,
            f"ROI file not found: unpack Labels/ into {root}, or name a ROI file with "
            f"--annotations{hint}",
        )
    return path


def list_items(
    root: Path,
    *,
    annotations: Path | str | None = None,
    tags: Collection[str] | None = None,
) -> tuple[list[Item], list[BadInput]]:
    """Items of the references that have ROIs (only `tags` where given), and the bad entries."""
    root = Path(root)
    given = Path(annotations) if annotations else None
    wanted = None if tags is None else {tag_of(str(t)) for t in tags}
    ref_dir = root / REFERENCES
    manifest_only = not ref_dir.is_dir() and (root / MANIFEST).is_file()
    if (given is not None and given.suffix == ".jsonl") or (given is None and manifest_only):
        return seagull_manifest.list_items(given or root / MANIFEST, wanted)
    if not ref_dir.is_dir():
        raise BadInput(
            root,
            f"is not the Seagull-100w release (no {REFERENCES}/) and holds no {MANIFEST}: point "
            "--root at the unpacked SEAGULL-100w folder, or --annotations at a JSON Lines manifest",
        )
    dist_dir = root / DISTORTED
    if not dist_dir.is_dir():
        raise BadInput(
            dist_dir, "not found: unpack the Dist.Images zips (Blur and Noise give the ISP pixels)"
        )
    labels = label_file(root, given)
    references = {p.stem: p for p in ref_dir.iterdir() if p.suffix == ".png" and p.is_file()}
    rois, failures = read_rois(labels)
    folders = isp_folders(dist_dir)
    items = []
    for ref in sorted(rois):
        tag = f"seagull_{ref}.png"
        if wanted is not None and tag not in wanted:
            continue
        if ref not in references:
            failures.append(BadInput(labels, f"ROIs of {ref}, which is not in {ref_dir}"))
            continue
        name = references[ref].name
        isp = [(f, p.name, str((p / name).resolve())) for f, p, files in folders if name in files]
        payload = {
            "form": FORM,
            "labels": str(labels),
            "id": ref,
            "reference": str(references[ref].resolve()),
            "rois": [list(roi) for roi in rois[ref]],
            "isp": [list(entry) for entry in isp],
        }
        items.append(Item(tag=tag, source=SOURCE, payload=payload))
    for tag in sorted((wanted or set()) - {item.tag for item in items}):
        ref = reference_id(tag)
        if ref not in rois:
            failures.append(BadInput(labels, f"listed tag {tag} has no ROI in this file"))
    return items, failures


def roi_mask(p: JsonObject, index: int, width: int, height: int) -> np.ndarray:
    """ROI `index` of an item decoded at the image's size, checked against its points."""
    counts, points, number = p["rois"][index]
    where = f"{p['id']} ROI {index} (entry {number})"
    try:
        mask = decode_counts(counts, width, height)
    except ValueError as exc:
        raise BadInput(
            p["labels"], f"{where}: {exc}; is this the ROI file of {p['reference']}?"
        ) from exc
    if mask.any():
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        box = [cols[0], rows[0], cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1]
        if not np.allclose(coco_box(points), box, atol=1.0):
            raise BadInput(
                p["labels"],
                f"{where}: points {points} (inclusive x, y, w, h) are not the decoded mask's "
                f"box {[int(v) for v in box]} (COCO xywh); is this the ROI file of "
                f"{p['reference']}?",
            )
    return mask


def load_release(item: Item) -> SourceRecord:
    """Decode a reference, its ROIs (made disjoint) and its ISP images, measured per region."""
    p = item.payload
    reference = read_rgb(p["reference"])
    height, width = reference.shape[:2]
    disjoint = make_disjoint([roi_mask(p, i, width, height) for i in range(len(p["rois"]))])
    kept = disjoint.kept
    regions = [
        region_from_mask(
            index,
            disjoint.masks[old],
            name=f"roi {old}",
            category_id=vocab.NO_CATEGORY,
            isthing=True,
        )
        for index, old in enumerate(kept)
    ]
    labels = region_labels([disjoint.masks[old] for old in kept], (height, width))
    isp_images = [measure(f, folder, path, reference, labels) for f, folder, path in p["isp"]]
    families = [f for f in vocab.ISP_FAMILIES if any(i["family"] == f for i in isp_images)]
    return SourceRecord(
        tag=item.tag,
        source=SOURCE,
        width=width,
        height=height,
        image_path=p["reference"],
        regions=regions,
        isp_degradations=families,
        isp_flags=[{"noise": True, "blur": True} for _ in regions],
        isp_images=isp_images,
        overlap_share=disjoint.share,
        dropped_regions=len(p["rois"]) - len(kept),
    )


def load_item(item: Item) -> SourceRecord:
    """Decode one Seagull item, of the release or of a manifest."""
    if item.payload["form"] == FORM:
        return load_release(item)
    return seagull_manifest.load_item(item)
