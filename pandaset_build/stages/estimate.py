"""The cost of a build before the work: what each stage writes, the disk space, and the time.

Counts come from the recipe and the images (ingested, or listed from the source and not yet
ingested). Sizes and times come from a short calibration on a few of the build's own images,
run by the stages' own shard functions in a temporary folder: ingest (decode, checks), distort
(render, encode, write), score (a quarter of the versions, on the chosen device), and the
parquet writing of an export. Nothing is written into the build.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

from pandaset_build.config.recipe import Recipe
from pandaset_build.engine.drift import load_records
from pandaset_build.engine.shards import Shard, make_shards
from pandaset_build.errors import PandasetError
from pandaset_build.labels.pairs import DIFFICULTIES
from pandaset_build.sources.common import Item, ReaderOptions
from pandaset_build.stages.bench import BENCH_SPLIT
from pandaset_build.store.build import Build, read_build_record
from pandaset_build.store.catalog import read_sources, source_index
from pandaset_build.store.layout import BuildLayout
from pandaset_build.store.records import SourceRecord
from pandaset_build.store.tables import parquet_files

SAMPLE = 2  # images the calibration ingests and distorts
SCORED_VERSIONS = 4  # versions of one image the calibration scores
CALIBRATION = "calibration"


@dataclass
class StageCost:
    """One stage's share of the work that is left."""

    stage: str
    images: int
    files: int
    bytes: int
    seconds: float | None
    note: str = ""


@dataclass
class Estimate:
    """What a build will hold and cost, and what the calibration measured (seconds)."""

    recipe: str
    device: str
    workers: int
    images: int
    images_ingested: int
    regions: int
    versions: int
    region_crops: int
    pairs: int
    region_comparisons: int
    regions_estimated: bool = False  # some images' region counts are the sample's mean
    stages: list[StageCost] = field(default_factory=list)
    measured: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float | None:
        known = [s.seconds for s in self.stages if s.seconds is not None]
        return sum(known) if len(known) == len(self.stages) else None

    @property
    def bytes(self) -> int:
        return sum(s.bytes for s in self.stages)

    def to_json(self) -> dict[str, object]:
        return {**asdict(self), "seconds": self.seconds, "bytes": self.bytes}


@dataclass
class Sample:
    """The calibration's images and what it measured of them."""

    sources: list[SourceRecord]
    seconds: dict[str, float] = field(default_factory=dict)
    sizes: dict[str, float] = field(default_factory=dict)  # bytes per unit (pixel, row)
    problems: list[str] = field(default_factory=list)


def listed_items(
    recipe: Recipe,
    source: str,
    root: Path | None,
    reader_options: ReaderOptions,
    limit: int | None,
    tags: Path | None,
) -> list[Item]:
    """The items `ingest` would read from the source (with its options, `--limit`, `--tags`)."""
    from pandaset_build.stages.ingest import (
        check_reader_options,
        list_source,
        read_tag_list,
        select,
    )

    check_reader_options(source, reader_options)
    items, _ = list_source(source, root or Path("."), reader_options)
    wanted = read_tag_list(tags) if tags is not None else None
    return select(items, recipe.seed, limit, wanted)[0]


def calibrate(
    recipe: Recipe, items: list[Item], ingested: list[SourceRecord], source: str, device: str
) -> Sample:
    """Run ingest, depth (model tier only), distort and score on a few images in a temporary
    build; time each."""
    from pandaset_build.stages.depth_maps import DepthOptions, depth_shard
    from pandaset_build.stages.distort import DistortOptions, distort_shard
    from pandaset_build.stages.ingest import IngestOptions, ingest_shard

    folder = Path(tempfile.mkdtemp(prefix="pandaset-estimate-"))
    try:
        build = Build(folder, recipe)
        sample = Sample([])
        if items:
            chosen = items[:SAMPLE]
            shard = Shard("ingest-cal", 0, tuple(i.tag for i in chosen), tuple(chosen))
            start = time.perf_counter()
            ingest_shard(build, shard, IngestOptions(source, None, CALIBRATION))
            sample.seconds["ingest per image"] = (time.perf_counter() - start) / len(chosen)
            index = source_index(build)
        else:
            from pandaset_build.store.tables import SOURCES, write_table

            path = build.layout.source_shard(CALIBRATION, "00000")
            write_table(path, [r.to_row() for r in ingested[:SAMPLE]], SOURCES)
            index = source_index(build)
        if not index:
            return sample
        sample.sources = read_sources(tuple(index))
        pixels = sum(s.width * s.height for s in sample.sources)
        references = sum(Path(s.image_path).stat().st_size for s in sample.sources)
        sample.sizes["reference bytes per image"] = references / len(sample.sources)
        shard = make_shards("distort", [t for t, _ in index], index, len(index))[0]
        if recipe.weather.haze.depth_source == "model":  # distort reads the depth stage's maps
            start = time.perf_counter()
            depth_shard(build, shard, DepthOptions(device))
            sample.seconds["depth per image"] = (time.perf_counter() - start) / len(index)
        start = time.perf_counter()
        distort_shard(build, shard, DistortOptions())
        sample.seconds["distort per pixel"] = (time.perf_counter() - start) / pixels
        versions = sum(p.stat().st_size for p in build.layout.versions.rglob("*.png"))
        sample.sizes["version bytes per pixel"] = versions / pixels / len(recipe.versions)
        sample.sizes["plan bytes per region"] = _per_region(build.layout.plans, sample.sources)
        _calibrate_score(build, recipe, index[:1], device, sample)
        _calibrate_export(build, sample)
        return sample
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _per_region(folder: Path, sources: list[SourceRecord]) -> float:
    regions = sum(len(s.regions) for s in sources) or 1
    return sum(p.stat().st_size for p in parquet_files(folder)) / regions


def _calibrate_score(
    build: Build, recipe: Recipe, index: list[tuple[str, str]], device: str, sample: Sample
) -> None:
    """Seconds per scored crop (a region or a frame of a version) and to load the metric."""
    start = time.perf_counter()
    from pandaset_build.stages.score import ScoreOptions, cached_metric, score_shard

    sample.seconds["start-up (imports)"] = time.perf_counter() - start
    scoring = recipe.scoring
    options = ScoreOptions(
        metric=scoring.metric,
        device=device,
        batch_size=scoring.batch_size,
        frame_batch_size=scoring.frame_batch_size,
        prefetch_images=scoring.prefetch_images,
    )
    start = time.perf_counter()
    try:
        cached_metric(options, device)
    except PandasetError as err:
        sample.problems.append(f"score not calibrated: {err}")
        return
    sample.seconds["metric load"] = time.perf_counter() - start
    step = max(1, len(recipe.versions) // SCORED_VERSIONS)
    subset = recipe.model_copy(update={"versions": recipe.versions[::step]})
    sampled = Build(build.root, subset)
    shard = make_shards("score", [t for t, _ in index], index, 1)[0]
    start = time.perf_counter()
    outcome = score_shard(sampled, shard, options)
    crops = outcome.counts.get("regions scored", 0) + len(subset.versions)
    sample.seconds["score per crop"] = (time.perf_counter() - start) / max(crops, 1)
    written = sum(p.stat().st_size for p in parquet_files(sampled.layout.scores))
    sample.sizes["score bytes per row"] = written / max(crops, 1)


def _calibrate_export(build: Build, sample: Sample) -> None:
    """Seconds per byte to read PNGs and write them into a parquet file, as exports do, and to
    import the export and report modules."""
    start = time.perf_counter()
    import pandaset_build.stages.export
    import pandaset_build.stages.report  # noqa: F401

    sample.seconds["export start-up (imports)"] = time.perf_counter() - start
    files = sorted(build.layout.versions.rglob("*.png"))
    start = time.perf_counter()
    table = pa.table({"image": [p.read_bytes() for p in files]})
    pq.write_table(table, build.root / "export.parquet", compression="zstd")
    total = sum(p.stat().st_size for p in files) or 1
    sample.seconds["export per byte"] = (time.perf_counter() - start) / total


def free_cores() -> float:
    """Cores not busy with other work now (from the load average): what extra workers gain."""
    cores = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except OSError:
        return cores
    return max(1.0, cores - busy)


def worker_start_seconds() -> float:
    """Seconds a fresh worker process takes to import the stages (what a spawn pool pays)."""
    start = time.perf_counter()
    code = "import pandaset_build.stages.distort, pandaset_build.stages.score"
    subprocess.run([sys.executable, "-c", code], check=False, capture_output=True)
    return time.perf_counter() - start


def estimate(
    build_root: Path,
    recipe: Recipe,
    items: list[Item],
    device: str = "cpu",
    workers: int = 1,
    source: str = "",
) -> Estimate:
    """The estimate for the build at `build_root` plus `items` not yet ingested in it."""
    layout = BuildLayout(build_root)
    exists = read_build_record(build_root) is not None
    build = Build(build_root, recipe)
    free = free_cores()
    ingested = read_sources(tuple(source_index(build))) if exists else []
    known = {s.tag for s in ingested}
    new = [i for i in items if i.tag not in known]
    sample = calibrate(recipe, new, ingested, source, device)
    per_image_regions = _mean([len(s.regions) for s in sample.sources]) or 0.0
    per_image_pixels = _mean([s.width * s.height for s in sample.sources]) or 0.0
    regions_of = {s.tag: len(s.regions) for s in ingested}
    pixels_of = {s.tag: s.width * s.height for s in ingested}
    guessed = False
    for item in new:
        listed = item.payload.get("segments") or item.payload.get("regions")
        regions_of[item.tag] = len(listed) if listed else round(per_image_regions)
        pixels_of[item.tag] = round(per_image_pixels)
        guessed = guessed or not listed
    tags = sorted(regions_of)
    n, v = len(tags), len(recipe.versions)
    regions = sum(regions_of.values())
    found = Estimate(
        recipe=recipe.name,
        device=device,
        workers=workers,
        images=n,
        images_ingested=len(ingested),
        regions=regions,
        versions=n * v,
        region_crops=regions * v,
        pairs=n * v * (v - 1),
        region_comparisons=regions * v * (v - 1),
        regions_estimated=guessed,
        measured={**sample.seconds, **sample.sizes},
    )
    found.notes.extend(sample.problems)
    if not sample.sources:
        found.notes.append("no image could be calibrated: no time estimate")
        return found
    done = {stage: _done_tags(build, stage) for stage in ("distort", "score")}
    left = {stage: [t for t in tags if t not in done[stage]] for stage in done}
    shards = lambda count: math.ceil(count / recipe.shard_size)  # noqa: E731
    cores = max(1, min(workers, free))
    found.measured["free cores"] = free
    spawn = worker_start_seconds() if workers > 1 else 0.0
    if spawn:
        found.measured["worker start-up"] = spawn
    parallel = lambda seconds, count: (  # noqa: E731
        None if seconds is None else seconds / max(1, min(cores, shards(count)))
    )
    s = sample.seconds
    z = sample.sizes
    ingest_s = s.get("ingest per image", 0.0) * len(new)
    found.stages.append(
        StageCost("ingest", len(new), shards(len(new)), _sources_bytes(layout, new, ingested),
                  parallel(ingest_s, len(new)) if new else 0.0)
    )  # fmt: skip
    pixels_left = sum(pixels_of[t] for t in left["distort"])
    distort_s = s["distort per pixel"] * pixels_left
    version_bytes = z["version bytes per pixel"] * v
    found.stages.append(
        StageCost(
            "distort",
            len(left["distort"]),
            len(left["distort"]) * v + shards(len(left["distort"])),
            round(version_bytes * pixels_left
                  + z["plan bytes per region"] * sum(regions_of[t] for t in left["distort"])),
            (parallel(distort_s, len(left["distort"])) or 0.0) + spawn
            if left["distort"] else 0.0,
        )
    )  # fmt: skip
    crops_left = sum((regions_of[t] + 1) * v for t in left["score"])
    if "score per crop" in s:
        score_s = s["score per crop"] * crops_left
        wall = parallel(score_s, len(left["score"]))
        score_seconds = (
            (wall or 0.0)
            + s["metric load"] * (2 if workers > 1 else 1)  # the driver's, then the workers'
            + s.get("start-up (imports)", 0.0)
            + spawn
            if left["score"]
            else 0.0
        )
        score_bytes = round(z["score bytes per row"] * crops_left)
    else:
        score_seconds, score_bytes = None, 0
    found.stages.append(
        StageCost("score", len(left["score"]), shards(len(left["score"])), score_bytes,
                  score_seconds, "" if score_seconds is not None else "metric not loaded")
    )  # fmt: skip
    all_versions = version_bytes * sum(pixels_of.values())
    references = z["reference bytes per image"] * n
    per_version = all_versions / max(n * v, 1)
    splits = [f for f in recipe.split_fractions.values() if f * n >= 0.5] or [1.0]
    test = recipe.split_fractions.get(BENCH_SPLIT, 0.0)
    bench_pairs = min(recipe.bench.easy + recipe.bench.medium + recipe.bench.hard,
                      round(found.pairs * test))  # fmt: skip
    preview = min(recipe.export.preview_pairs, bench_pairs) * 2 * per_version
    shard_files = lambda size_: max(1, math.ceil(size_ / recipe.export.shard_bytes))  # noqa: E731
    hf_files = (
        2
        + shard_files(preview)
        + sum(shard_files(references * f) + shard_files(all_versions * f) + 1 for f in splits)
    )
    exports = {
        "export hf": (all_versions + references + preview, hf_files),
        "export pandabench": (all_versions + references, n * v + 2 * n + len(splits) * v + 1),
        "split-bench": (bench_pairs * 2 * per_version, 3 * len(DIFFICULTIES)),
    }
    start_up = s["export start-up (imports)"]
    for stage, (size_, files) in exports.items():
        seconds = size_ * s["export per byte"] + start_up
        found.stages.append(StageCost(stage, n, files, round(size_), seconds))
        start_up = 0.0
    return found


def _mean(values: list[int]) -> float | None:
    return sum(values) / len(values) if values else None


def _done_tags(build: Build, stage: str) -> set[str]:
    return {t for r in load_records(build, stage) if not r.failures for t in r.tags}


def _sources_bytes(layout: BuildLayout, new: list[Item], ingested: list[SourceRecord]) -> int:
    """Parquet bytes of the new source records, at the build's bytes per ingested image."""
    files = parquet_files(layout.sources)
    if not files or not ingested:
        return 0
    return round(sum(p.stat().st_size for p in files) / len(ingested) * len(new))


def estimate_run(
    build: Path,
    recipe: Recipe,
    source: str,
    root: Path | None,
    reader_options: ReaderOptions | None = None,
    *,
    limit: int | None = None,
    tags: Path | None = None,
    device: str = "cpu",
    workers: int = 1,
) -> Estimate:
    """The estimate of `run` with these options: the build as it is plus the listed images."""
    items = listed_items(recipe, source, root, reader_options or {}, limit, tags)
    return estimate(build, recipe, items, device, workers, source)


def duration(seconds: float | None) -> str:
    """Seconds as `1 h 02 min`, `3 min 05 s` or `12.3 s`."""
    if seconds is None:
        return "unknown"
    if seconds >= 3600:
        return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"
    if seconds >= 60:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{seconds:.1f} s"


def size(n: float) -> str:
    """Bytes in B, KB, MB, GB or TB (powers of 1000)."""
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def print_estimate(found: Estimate, console: Console) -> None:
    """The estimate on one screen."""
    about = "about " if found.regions_estimated else ""
    console.print(
        f"[bold]estimate[/bold] recipe {found.recipe}: {found.images} images "
        f"({found.images_ingested} ingested), {about}{found.regions} regions, {found.versions} "
        f"versions, {about}{found.region_crops} region crops, {found.pairs} pairs "
        f"({about}{found.region_comparisons} region comparisons); on {found.device}, "
        f"{found.workers} worker(s)"
    )
    if found.regions_estimated:
        console.print(
            "(the source does not list its regions: counts of images not yet ingested use the "
            "calibration images' mean)"
        )
    table = Table(title="work left")
    for column in ("stage", "images", "files", "disk", "time"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for s in found.stages:
        table.add_row(s.stage, str(s.images), str(s.files), size(s.bytes), duration(s.seconds))
    table.add_row("total", "", "", size(found.bytes), duration(found.seconds))
    console.print(table)
    measured = ", ".join(f"{k} {v:.3g}" for k, v in sorted(found.measured.items()))
    console.print(f"calibration: {measured}")
    for note in found.notes:
        console.print(f"note: {note}")
