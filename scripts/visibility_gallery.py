"""Draw the regions the visibility audit redrew or relabelled in built builds: per region the
clean crop (1:1, outlined), every draw the audit tried with its mean change, and the last
draw's change x 20 around grey.

    python scripts/visibility_gallery.py --build /tmp/qs --build /tmp/visb --per-build 3 \\
        --out docs/img/visibility_audit.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from PIL import Image

from pandaset_build.render.audit import measure
from pandaset_build.render.frame import load_frame
from pandaset_build.render.plan import plan_image, replan
from pandaset_build.render.renderer import render_region
from pandaset_build.render.sheets import YELLOW, contact_sheet, outline, tile
from pandaset_build.store.build import open_build
from pandaset_build.store.catalog import read_sources, source_index
from pandaset_build.store.records import RegionPlan
from pandaset_build.store.tables import parquet_files

CROP = 160
CAPTION = 30
GAIN = 20


def audited(build_dir: Path, per_build: int) -> list[tuple[object, RegionPlan]]:
    """Up to `per_build` redrawn or relabelled regions, one per drawn family first."""
    build = open_build(build_dir, create=False)
    plans = [
        RegionPlan.from_row(r)
        for path in parquet_files(build.layout.plans)
        for r in pq.read_table(path).to_pylist()
    ]
    rows = [p for p in plans if p.audit in ("redrawn", "relabelled")]
    chosen, families = [], set()
    for plan in sorted(rows, key=lambda p: (p.audit != "redrawn", p.tag, p.version, p.region_id)):
        family = (plan.relabelled_from or plan.key).split("/")[0]
        if family not in families and len(chosen) < per_build:
            families.add(family)
            chosen.append((build, plan))
    return chosen


def window(frame, region_id: int) -> tuple[slice, slice]:
    """A CROP x CROP window (or the frame) centred on the region's box."""
    x, y, w, h = frame.boxes[region_id]
    height, width = frame.shape
    top = int(min(max(0, y + h / 2 - CROP / 2), max(0, height - CROP)))
    left = int(min(max(0, x + w / 2 - CROP / 2), max(0, width - CROP)))
    return slice(top, top + CROP), slice(left, left + CROP)


def row(build, written: RegionPlan) -> list[Image.Image]:
    index = dict(source_index(build))
    source = read_sources(((written.tag, index[written.tag]),))[0]
    plans = plan_image(build.recipe, source)
    first = next(
        p for p in plans if (p.version, p.region_id) == (written.version, written.region_id)
    )
    frame = load_frame(build.recipe, source, plans)
    crop = window(frame, first.region_id)
    clean = frame.image.copy()
    clean[outline(frame.masks[first.region_id])] = YELLOW
    tiles = [tile(clean[crop], f"{written.tag}\n{written.version} r{first.region_id} clean",
                  size=CROP, caption_height=CAPTION)]  # fmt: skip
    last = frame.image
    for attempt in range(written.attempts):
        plan = first if attempt == 0 else replan(build.recipe, source, first, attempt)
        out = frame.image.copy()
        render_region(frame, plan, out)
        change = measure(frame, out, plan.region_id)
        caption = f"draw {attempt + 1}: {plan.subtype} {plan.severity}\nmean {change.mean:.2f}"
        tiles.append(tile(out[crop], caption, size=CROP, caption_height=CAPTION))
        last = out
    diff = last.astype(np.float64) - frame.image
    shown = np.clip(128 + GAIN * diff, 0, 255).astype(np.uint8)
    tiles.append(tile(shown[crop], f"last draw - clean x {GAIN}\n-> {written.audit}",
                      size=CROP, caption_height=CAPTION))  # fmt: skip
    return tiles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", type=Path, action="append", required=True)
    parser.add_argument("--per-build", type=int, default=3)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    rows = [row(build, plan) for b in args.build for build, plan in audited(b, args.per_build)]
    columns = max(len(r) for r in rows)
    blank = Image.new("RGB", rows[0][0].size, "white")
    tiles = [t for r in rows for t in [*r, *[blank] * (columns - len(r))]]
    Image.fromarray(contact_sheet(tiles, columns)).save(args.out, optimize=True)
    print(f"wrote {args.out}: {len(rows)} regions")


if __name__ == "__main__":
    main()
