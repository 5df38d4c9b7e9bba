"""The distort stage: 16 lossless versions per image and their plans."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import partial

from pandaset_build.engine import drift
from pandaset_build.engine.executors import Executor
from pandaset_build.engine.shards import Shard, ShardOutcome, make_shards
from pandaset_build.engine.stage import Stage, StageReport
from pandaset_build.errors import BadInput, MissingStageOutputs
from pandaset_build.render.audit import audit_version
from pandaset_build.render.frame import load_frame
from pandaset_build.render.plan import plan_image, replan
from pandaset_build.stages.depth_maps import fingerprint, uses_model
from pandaset_build.store.build import Build
from pandaset_build.store.catalog import read_sources, source_index
from pandaset_build.store.images import write_png
from pandaset_build.store.records import RegionPlan, Row
from pandaset_build.store.tables import PLANS, write_table


@dataclass(frozen=True)
class DistortOptions:
    """The distort stage takes all its settings from the recipe."""


def distort_shard(build: Build, shard: Shard, options: DistortOptions) -> ShardOutcome:
    """Render and audit every version of every image of a shard, then write the shard's plans
    (as audited: measures, attempts, outcome)."""
    outcome = ShardOutcome()
    outcome.read(*sorted({path for _, path in shard.items}))
    plan_rows: list[Row] = []
    for source in read_sources(shard.items):
        outcome.read(source.image_path, source.depth_path, source.isp_path)
        plans = plan_image(build.recipe, source)
        depth_map = build.layout.depth_map(source.tag)
        if uses_model(build.recipe, source):
            outcome.read(depth_map)
        try:
            frame = load_frame(build.recipe, source, plans, depth_map)
        except BadInput as err:
            outcome.fail(err.path, err.problem)
            continue
        by_version: dict[str, list[RegionPlan]] = defaultdict(list)
        for plan in plans:
            by_version[plan.version].append(plan)
        audited: list[RegionPlan] = []
        for version, version_plans in by_version.items():
            rendered, version_audited = audit_version(
                frame,
                version_plans,
                build.recipe.visibility,
                partial(replan, build.recipe, source),
            )
            audited.extend(version_audited)
            path = build.layout.version_image(version, source.split, source.tag)
            write_png(path, rendered, build.recipe.png_encoder, build.recipe.png_level)
            outcome.wrote(path)
            outcome.add("versions")
        for plan in audited:
            outcome.add(f"distortion:{plan.distortion}")
            outcome.add(f"severity:{plan.severity}")
            if plan.audit not in ("", "visible"):
                outcome.add(f"audit:{plan.audit}")
        plan_rows.extend(plan.to_row() for plan in audited)
        outcome.add("images")
    write_table(build.layout.plan_shard(shard.name), plan_rows, PLANS)
    outcome.wrote(build.layout.plan_shard(shard.name))
    return outcome


STAGE = Stage("distort", distort_shard, reads=("ingest", "depth"))


def distort(build: Build, executor: Executor, retry_failed: bool = False) -> StageReport:
    """Render the versions of every ingested image; rerunning skips completed shards."""
    index = source_index(build)
    if not index:
        raise MissingStageOutputs(f"{build.layout.sources}: no ingested images: run `ingest` first")
    tags = [tag for tag, _ in index]
    if build.recipe.weather.haze.depth_source == "model":
        drift.require_finished(build, "depth", tags, "distort", fingerprint(build.recipe))
    shards = make_shards(STAGE.name, tags, index, build.recipe.shard_size)
    return STAGE.run(build, shards, DistortOptions(), executor, retry_failed=retry_failed)
