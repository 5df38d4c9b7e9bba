"""The distort stage: 16 lossless versions per image and their plans."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from .builddir import Build
from .distortions import haze_distance
from .executor import Executor, Failure, Shard, ShardOutcome, StageReport, make_shards, run_stage
from .images import read_rgb, write_png
from .plan import RegionPlan, plan_image
from .render import Frame, render_fast
from .sources.record import BadInput, decode_mask
from .tables import PLANS, read_sources, source_index, version_path, write_table

STAGE = "distort"


def load_frame(build: Build, source: dict[str, Any], plans: list[RegionPlan]) -> Frame:
    """Decode the clean image, masks, and (only when a plan needs them) depth and ISP pixels."""
    image = read_rgb(source["image_path"])
    if image.shape[:2] != (source["height"], source["width"]):
        raise BadInput(source["image_path"], "image size changed since ingest")
    masks = [decode_mask(region["mask"]) for region in source["regions"]]
    isp = read_rgb(source["isp_path"]) if any(p.isp for p in plans) else None
    distance = None
    if any(p.distortion == "haze" for p in plans):
        knobs = build.recipe.distortion_params("haze/haze", 1)
        distance = haze_distance(image, knobs, source.get("depth_path"))
    return Frame(
        image=image,
        masks=masks,
        boxes=[region["bbox"] for region in source["regions"]],
        stat_domain=build.recipe.stat_domain,
        distance=distance,
        isp=isp,
    )


def distort_shard(build: Build, shard: Shard, options: dict[str, Any]) -> ShardOutcome:
    """Render every version of every image of a shard, then write the shard's plans."""
    outcome = ShardOutcome()
    plan_rows: list[dict[str, Any]] = []
    for source in read_sources(shard.items):
        plans = plan_image(build.recipe, source)
        try:
            frame = load_frame(build, source, plans)
        except BadInput as err:
            outcome.failures.append(Failure(err.path, err.problem))
            outcome.add("failed")
            continue
        by_version: dict[str, list[RegionPlan]] = defaultdict(list)
        for plan in plans:
            by_version[plan.version].append(plan)
        for version, version_plans in by_version.items():
            rendered = render_fast(frame, version_plans)
            path = version_path(build, version, source["split"], source["tag"])
            write_png(path, rendered, build.recipe.png_encoder, build.recipe.png_level)
            outcome.add("versions")
        for plan in plans:
            outcome.add(f"distortion:{plan.distortion}")
            outcome.add(f"severity:{plan.severity}")
        plan_rows.extend(plan.to_row() for plan in plans)
        outcome.add("images")
    write_table(build.path("plans", f"{shard.name}.parquet"), plan_rows, PLANS)
    return outcome


def distort(build: Build, executor: Executor) -> StageReport:
    """Render the versions of every ingested image; rerunning skips completed shards."""
    index = source_index(build)
    if not index:
        raise BadInput(build.path("sources"), "no ingested images: run `ingest` first")
    shards = make_shards(STAGE, [tag for tag, _ in index], index, build.recipe.shard_size)
    return run_stage(build, STAGE, shards, distort_shard, {}, executor)
