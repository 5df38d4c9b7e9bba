"""Distort speed on realistic frames, CPU time (time.process_time) per image, A and B alternated.

Frames: scikit-image's colour photos (astronaut, coffee, chelsea, rocket, and their mirror
images), centre-cropped to 4:3 and resized to 640 x 480, with SLIC regions (18 to 22), written as
a folder dataset and ingested, so every section renders exactly what the stage renders.

Sections (choose with --sections):
  paths     the 16 versions of each image by the full-frame reference path and by the fast path
            (a fresh frame memo per image), alternated; the ratio; versions with identical bytes
  encode    bare PNG encode of the fast path's versions: fpng, OpenCV level 1 + RLE, OpenCV
            level 3 (the encoder before fpng), alternated; ms per version and size
  stage     the distort stage in this process (1 worker, decode, render, encode, write, plans),
            png_encoder fpng and opencv on fresh builds, alternated; CPU s per image
  subtypes  every sub-type on every region of each image (levels 1, 3, 5 in turn), reference
            vs fast path, alternated; ms per region
  rss       peak RSS of the stage for two image counts of 128 px images (flat in the count)
--against CHECKOUT adds that checkout's paths and stage on the same frames (child processes,
its default recipe), e.g. a checkout of an older commit made with `git worktree add`.

Run: python benchmarks/distort.py [--images 8] [--sections paths encode stage subtypes]
     [--against CHECKOUT]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import yaml
from common import make_dataset, measure
from PIL import Image
from skimage import data
from skimage.segmentation import slic

from pandaset_build import distortions
from pandaset_build.distortions.shared import Shared
from pandaset_build.engine.executors import LocalExecutor
from pandaset_build.render.frame import load_frame
from pandaset_build.render.plan import plan_image
from pandaset_build.render.renderer import render_fast, render_reference
from pandaset_build.stages.distort import distort
from pandaset_build.stages.ingest import ingest
from pandaset_build.store.build import Build, open_build
from pandaset_build.store.catalog import read_sources, source_index
from pandaset_build.store.images import encode_png
from pandaset_build.store.records import RegionPlan, SourceRecord

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")
SIZE = (640, 480)
STAGE_TARGET_S = 1.2
PATHS_TARGET = 5.0
ENCODERS: dict[str, tuple[str, int]] = {
    "fpng": ("fpng", 1),
    "opencv L1 RLE": ("opencv", 1),
}

OTHER_STAGE = """
import time
from pathlib import Path
try:  # this layout, or a checkout from before the package regroup (commit 3389975 and older)
    from pandaset_build.engine.executors import LocalExecutor
    from pandaset_build.render.frame import load_frame as new_load_frame
    from pandaset_build.render.plan import plan_image
    from pandaset_build.render.renderer import render_fast, render_reference
    from pandaset_build.stages.distort import distort
    from pandaset_build.stages.ingest import ingest
    from pandaset_build.store.build import open_build
    from pandaset_build.store.catalog import read_sources, source_index
    load_frame = lambda build, source, plans: new_load_frame(build.recipe, source, plans)
except ImportError:
    from pandaset_build.builddir import open_build
    from pandaset_build.distort import distort, load_frame, read_sources, source_index
    from pandaset_build.executor import LocalExecutor
    from pandaset_build.ingest import ingest
    from pandaset_build.plan import plan_image
    from pandaset_build.render import render_fast, render_reference
build = open_build(Path({build!r}), "default")
ingest(build, "folder", Path({data!r}), LocalExecutor(1))
start = time.process_time()
assert distort(build, LocalExecutor(1)).ok
print(time.process_time() - start)
"""

OTHER_PATHS = """
import time
from collections import defaultdict
from pathlib import Path
try:  # this layout, or a checkout from before the package regroup (commit 3389975 and older)
    from pandaset_build.engine.executors import LocalExecutor
    from pandaset_build.render.frame import load_frame as new_load_frame
    from pandaset_build.render.plan import plan_image
    from pandaset_build.render.renderer import render_fast, render_reference
    from pandaset_build.stages.distort import distort
    from pandaset_build.stages.ingest import ingest
    from pandaset_build.store.build import open_build
    from pandaset_build.store.catalog import read_sources, source_index
    load_frame = lambda build, source, plans: new_load_frame(build.recipe, source, plans)
except ImportError:
    from pandaset_build.builddir import open_build
    from pandaset_build.distort import distort, load_frame, read_sources, source_index
    from pandaset_build.executor import LocalExecutor
    from pandaset_build.ingest import ingest
    from pandaset_build.plan import plan_image
    from pandaset_build.render import render_fast, render_reference
build = open_build(Path({build!r}), "default")
ingest(build, "folder", Path({data!r}), LocalExecutor(1))
totals = {{"reference": 0.0, "fast": 0.0}}
sources = read_sources(tuple(source_index(build)))
for n, source in enumerate(sources):
    plans = plan_image(build.recipe, source)
    grouped = defaultdict(list)
    for plan in plans:
        grouped[plan.version].append(plan)
    paths = (("reference", render_reference), ("fast", render_fast))
    for name, render in paths[:: 1 if n % 2 == 0 else -1]:
        frame = load_frame(build, source, plans)
        start = time.process_time()
        for version_plans in grouped.values():
            render(frame, version_plans)
        totals[name] += time.process_time() - start
print(totals["reference"] / len(sources), totals["fast"] / len(sources))
"""

STAGE_RSS = """
from pathlib import Path
from pandaset_build.store.build import open_build
from pandaset_build.engine.executors import LocalExecutor
from pandaset_build.stages.ingest import ingest
from pandaset_build.stages.distort import distort
build = open_build(Path({build!r}), "default")
ingest(build, "folder", Path({data!r}), LocalExecutor(1))
assert distort(build, LocalExecutor(1)).ok
"""


def frame_photo(index: int) -> np.ndarray:
    """Photo `index` (mirrored from the fifth on), centre-cropped to 4:3, 640 x 480."""
    image = getattr(data, PHOTOS[index % len(PHOTOS)])()
    if (index // len(PHOTOS)) % 2:
        image = image[:, ::-1]
    height, width = image.shape[:2]
    crop_w = min(width, height * 4 // 3)
    crop_h = crop_w * 3 // 4
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    crop = Image.fromarray(np.ascontiguousarray(image[top : top + crop_h, left : left + crop_w]))
    return np.asarray(crop.resize(SIZE, Image.LANCZOS))


def write_dataset(root: Path, count: int) -> Path:
    """`count` frames and their SLIC label masks (ids from 1) as a folder dataset."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    for i in range(count):
        image = frame_photo(i)
        labels = slic(image, n_segments=30, compactness=10, start_label=1)
        Image.fromarray(image).save(root / "images" / f"frame{i:03d}.png")
        mask = Image.fromarray(labels.astype(np.uint8), mode="L")
        mask.save(root / "masks" / f"frame{i:03d}.png")
    return root


def recipe_file(root: Path, encoder: str, level: int) -> Path:
    path = root / f"recipe-{encoder}-{level}.yaml"
    name = f"bench-{encoder}-{level}"
    body = {"extends": "default", "name": name, "png_encoder": encoder, "png_level": level}
    path.write_text(yaml.safe_dump(body))
    return path


def ingested(root: Path, dataset: Path, name: str, recipe: Path) -> Build:
    build = open_build(root / name, recipe)
    ingest(build, "folder", dataset, LocalExecutor(1))
    return build


def frames(build: Build) -> list[tuple[SourceRecord, list[RegionPlan]]]:
    """(source record, plans) per ingested image."""
    sources = read_sources(tuple(source_index(build)))
    return [(source, plan_image(build.recipe, source)) for source in sources]


def cpu(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.process_time()
    result = fn()
    return time.process_time() - start, result


def by_version(plans: list[RegionPlan]) -> dict[str, list[RegionPlan]]:
    grouped: dict[str, list[RegionPlan]] = defaultdict(list)
    for plan in plans:
        grouped[plan.version].append(plan)
    return grouped


def compare_paths(build: Build) -> list[list[np.ndarray]]:
    """Reference vs fast path per image, alternated; returns the fast path's versions."""
    totals = {"reference": 0.0, "fast": 0.0}
    identical = versions = regions = 0
    outputs = []
    for n, (source, plans) in enumerate(frames(build)):
        grouped = by_version(plans)
        regions += len(source.regions)

        frame = load_frame(build.recipe, source, plans)

        def reference(frame=frame, grouped=grouped):
            return [render_reference(frame, p) for p in grouped.values()]

        def fast(frame=frame, grouped=grouped):
            fresh = replace(frame, shared=Shared())  # nothing carried over from another run
            return [render_fast(fresh, p) for p in grouped.values()]

        runs = {}
        for name, fn in (("reference", reference), ("fast", fast))[:: 1 if n % 2 == 0 else -1]:
            seconds, runs[name] = cpu(fn)
            totals[name] += seconds
        identical += sum(np.array_equal(a, b) for a, b in zip(*runs.values(), strict=True))
        versions += len(grouped)
        outputs.append(runs["fast"])
    images = len(outputs)
    print(f"{images} images {SIZE[0]}x{SIZE[1]}, {regions / images:.1f} regions per image, "
          f"{versions // images} versions each, CPU time per image")  # fmt: skip
    for name, seconds in totals.items():
        print(f"  {name:10s} path {seconds / images:7.3f} s")
    ratio = totals["reference"] / totals["fast"]
    verdict = "reached" if ratio >= PATHS_TARGET else "NOT reached"
    print(f"  fast vs reference {ratio:6.2f}x (target >= {PATHS_TARGET:.0f}x: {verdict})")
    print(f"  identical bytes: {identical} of {versions} versions")
    return outputs


def opencv_level3(image: np.ndarray) -> bytes:
    """The encoder before fpng: OpenCV PNG level 3, default strategy."""
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    return cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 3])[1].tobytes()


def compare_encoders(outputs: list[list[np.ndarray]]) -> None:
    """Bare encode of every fast-path version, encoders alternated per image."""
    encoders: dict[str, Callable[[np.ndarray], bytes]] = {
        name: lambda image, e=encoder, lv=level: encode_png(image, e, lv)
        for name, (encoder, level) in ENCODERS.items()
    }
    encoders["opencv L3"] = opencv_level3
    seconds = dict.fromkeys(encoders, 0.0)
    sizes = dict.fromkeys(encoders, 0)
    count = 0
    for n, versions in enumerate(outputs):
        order = list(encoders)[n % len(encoders) :] + list(encoders)[: n % len(encoders)]
        for name in order:
            spent, blobs = cpu(lambda f=encoders[name], vs=versions: [f(v) for v in vs])
            seconds[name] += spent
            sizes[name] += sum(len(b) for b in blobs)
        count += len(versions)
    print(f"PNG encode of {count} versions, per version")
    base = "opencv L3"
    for name in encoders:
        ms, kib = 1000 * seconds[name] / count, sizes[name] / count / 1024
        print(f"  {name:14s} {ms:7.2f} ms  {kib:7.1f} KiB  ({seconds[base] / seconds[name]:5.1f}x "
              f"faster, {sizes[name] / sizes[base]:.2f}x the bytes of {base})")  # fmt: skip


def in_other(tree: Path, template: str, root: Path, dataset: Path, name: str) -> list[float]:
    """Run a template against another checkout (its default recipe) in a child; its numbers."""
    code = template.format(build=str(root / name), data=str(dataset))
    env = {**os.environ, "PYTHONPATH": str(tree)}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tree, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    return [float(v) for v in result.stdout.strip().splitlines()[-1].split()]


def other_paths(tree: Path, root: Path, dataset: Path) -> None:
    """The other checkout's reference and fast paths on the same frames, alternated."""
    reference, fast = in_other(tree, OTHER_PATHS, root, dataset, "other-paths")
    print(f"  {tree}: reference {reference:.3f} s, fast {fast:.3f} s, "
          f"{reference / fast:.2f}x")  # fmt: skip


def stage_cpu(root: Path, dataset: Path, repeats: int, against: Path | None) -> None:
    """The distort stage on fresh builds, png_encoder fpng and opencv (and another checkout's
    stage) alternated."""
    names = [*ENCODERS, *(["other checkout"] if against else [])]
    seconds = dict.fromkeys(names, 0.0)
    images = len(list((dataset / "images").iterdir()))
    for r in range(repeats):
        for name in names[:: 1 if r % 2 == 0 else -1]:
            if name == "other checkout":
                seconds[name] += in_other(against, OTHER_STAGE, root, dataset, f"other-{r}")[0]
                continue
            encoder, level = ENCODERS[name]
            recipe = recipe_file(root, encoder, level)
            build = ingested(root, dataset, f"stage-{encoder}-{r}", recipe)
            spent, report = cpu(lambda b=build: distort(b, LocalExecutor(1)))
            assert report.ok, report.failures
            seconds[name] += spent
    print(f"distort stage, 1 worker, {images} images, {repeats} runs each, CPU per image "
          "(decode, render 16 versions, encode, write, plans)")  # fmt: skip
    for name, total in seconds.items():
        per_image = total / (repeats * images)
        verdict = "reached" if per_image <= STAGE_TARGET_S else "NOT reached"
        label = f"{against} (default recipe)" if name == "other checkout" else f"png_encoder {name}"
        print(f"  {label:28s} {per_image:6.3f} s  (target <= {STAGE_TARGET_S} s: {verdict})")


def level_of(key: str, index: int) -> int:
    weather = key.split("/")[0] in ("rain", "snow", "haze")
    return (1, 2, 3)[index % 3] if weather else (1, 3, 5)[index % 3]


def subtype_table(build: Build, images: int) -> None:
    """Each sub-type on every region (levels cycling), reference vs fast, ms per region."""
    recipe = build.recipe
    rows = []
    for key in distortions.names():
        family, subtype = key.split("/")
        totals = {"reference": 0.0, "fast": 0.0}
        count = 0
        for n, (source, _) in enumerate(frames(build)[:images]):
            plans = []
            for i, region in enumerate(source.regions):
                level = level_of(key, i)
                params = json.dumps(recipe.distortion_params(key, level), sort_keys=True)
                plans.append(
                    RegionPlan(source.tag, "mixed", region.region_id, family, subtype,
                               "minor", level, params, 1000 + i, False)
                )  # fmt: skip
            frame = load_frame(build.recipe, source, plans)
            paths = (("reference", render_reference), ("fast", render_fast))
            for name, render in paths[:: 1 if n % 2 == 0 else -1]:
                fresh = replace(frame, shared=Shared())
                spent, _ = cpu(lambda f=fresh, r=render, p=plans: r(f, p))
                totals[name] += spent
            count += len(plans)
        rows.append((key, 1000 * totals["reference"] / count, 1000 * totals["fast"] / count))
    print(f"per sub-type, every region of {images} images, levels cycling, ms per region")
    print("| sub-type | reference | fast | ratio |")
    print("|---|---|---|---|")
    for key, reference, fast in rows:
        print(f"| {key} | {reference:.2f} | {fast:.2f} | {reference / fast:.1f}x |")


def stage_rss(counts: list[int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for count in counts:
            dataset = make_dataset(Path(tmp) / f"d{count}", count, size=128, regions=16)
            code = STAGE_RSS.format(build=str(Path(tmp) / f"b{count}"), data=str(dataset))
            result = measure(code)
            print(f"  distort stage, {count:4d} images of 128 px: {result['seconds']:6.1f} s wall, "
                  f"peak RSS {result['peak_mb']:.0f} MB")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--stage-repeats", type=int, default=2)
    parser.add_argument("--subtype-images", type=int, default=2)
    parser.add_argument("--rss-counts", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--against", type=Path, help="another checkout: its stage, alternated")
    parser.add_argument("--sections", nargs="+", default=["paths", "encode", "stage", "subtypes"],
                        choices=["paths", "encode", "stage", "subtypes", "rss"])  # fmt: skip
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        dataset = write_dataset(root / "data", args.images)
        build = ingested(root, dataset, "paths", recipe_file(root, "fpng", 1))
        if "paths" in args.sections or "encode" in args.sections:
            outputs = compare_paths(build)
            if args.against:
                other_paths(args.against, root, dataset)
            if "encode" in args.sections:
                compare_encoders(outputs)
        if "stage" in args.sections:
            stage_cpu(root, dataset, args.stage_repeats, args.against)
        if "subtypes" in args.sections:
            subtype_table(build, args.subtype_images)
    if "rss" in args.sections:
        stage_rss(args.rss_counts)


if __name__ == "__main__":
    main()
