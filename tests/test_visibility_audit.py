"""The visibility audit: measures stored as measured, the three policies, deterministic redraws,
one weather scene seed per version, the report's per-family figures."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from test_weather_scene import streak_angle

from pandaset_build.config import vocab
from pandaset_build.config.recipe import Visibility
from pandaset_build.distortions import changed_share, mean_abs_change
from pandaset_build.engine.executors import LocalExecutor
from pandaset_build.labels.visibility import VisibilityStats
from pandaset_build.render.audit import audit_version
from pandaset_build.render.frame import load_frame
from pandaset_build.render.plan import plan_image, replan, scene_seed
from pandaset_build.render.renderer import render_fast
from pandaset_build.stages.ingest import ingest
from pandaset_build.store.build import open_build
from pandaset_build.store.catalog import read_sources, source_index
from pandaset_build.store.records import RegionPlan, SourceRecord
from pandaset_build.store.scored import ScoredImage


@pytest.fixture(scope="module")
def demo_build(tmp_path_factory: pytest.TempPathFactory):
    build = open_build(tmp_path_factory.mktemp("demo") / "b", "quickstart")
    ingest(build, "demo", Path("."), LocalExecutor(1))
    return build


def demo_record(build, tag: str):
    """The quickstart recipe, a demo record, its plans and frame."""
    index = dict(source_index(build))
    source = read_sources(((tag, index[tag]),))[0]
    plans = plan_image(build.recipe, source)
    return build.recipe, source, plans, load_frame(build.recipe, source, plans)


@pytest.fixture(scope="module")
def demo(demo_build):
    return demo_record(demo_build, "rocket.png")


@pytest.mark.parametrize("tag", ["astronaut.png", "chelsea.png", "coffee.png", "rocket.png"])
def test_one_rain_angle_per_version_in_the_written_pixels(demo_build, tag: str) -> None:
    """Measured from the rendering of the build's rain version, as distort writes it."""
    record = demo_record(demo_build, tag)
    frame = record[3]
    out, audited = audit(record, "rain", Visibility())
    measured = [
        streak_angle(frame.image, out, frame.masks[p.region_id]) for p in audited if p.degraded
    ]
    angles = [angle for angle, pixels in measured if pixels >= 2000]
    assert len(angles) >= 2
    assert max(angles) - min(angles) <= 5.0, np.round(angles, 1)


def version_plans(plans: list[RegionPlan], version: str) -> list[RegionPlan]:
    return [plan for plan in plans if plan.version == version]


def audit(demo, version: str, settings: Visibility):
    recipe, source, plans, frame = demo
    return audit_version(
        frame, version_plans(plans, version), settings, partial(replan, recipe, source)
    )


def test_first_redraw_attempt_is_the_plan_itself(demo) -> None:
    recipe, source, plans, _ = demo
    for plan in plans:
        assert replan(recipe, source, plan, 0) == plan


def test_redraws_keep_clean_family_and_severity_and_change_the_draw(demo) -> None:
    recipe, source, plans, _ = demo
    degraded = [p for p in plans if p.degraded and p.distortion not in vocab.WEATHER_FAMILIES]
    for plan in degraded:
        again = replan(recipe, source, plan, 1)
        assert (again.distortion, again.severity, again.level) == (
            plan.distortion,
            plan.severity,
            plan.level,
        )
        assert again.seed != plan.seed
        assert replan(recipe, source, plan, 1) == again  # deterministic


def test_weather_regions_share_the_version_scene_seed(demo) -> None:
    recipe, source, plans, _ = demo
    weather = [p for p in plans if p.distortion in vocab.WEATHER_FAMILIES]
    assert weather
    for plan in weather:
        assert plan.seed == scene_seed(recipe.seed, source.tag, plan.version)
    assert len({scene_seed(recipe.seed, source.tag, v) for v in vocab.VERSIONS}) == len(
        vocab.VERSIONS
    )
    haze = [p for p in plans if p.distortion == "haze"]
    assert haze and {p.depth_tier for p in haze} == {"layout"}
    assert all(p.depth_tier == "" for p in plans if p.distortion != "haze")


@pytest.mark.parametrize("version", ["blur", "saturate_dec", "mixed", "rain", "haze"])
def test_stored_measures_are_those_of_the_written_pixels(demo, version: str) -> None:
    _, _, _, frame = demo
    out, audited = audit(demo, version, Visibility(min_mean_change=1.0))
    for plan in audited:
        mask = frame.masks[plan.region_id]
        assert plan.mean_change == pytest.approx(mean_abs_change(frame.image, out, mask))
        assert plan.changed_share == pytest.approx(changed_share(frame.image, out, mask))
        if plan.degraded:
            assert plan.mean_change >= 1.0
            assert plan.audit in ("visible", "redrawn") and 1 <= plan.attempts <= 4
        else:
            assert plan.mean_change == 0.0
            assert np.array_equal(out[mask], frame.image[mask])


def test_policies_under_an_unreachable_minimum(demo) -> None:
    _, _, plans, frame = demo
    first = version_plans(plans, "blur")
    degraded = [p.region_id for p in first if p.degraded]
    assert degraded
    high = 1e6

    kept_out, kept = audit(demo, "blur", Visibility(min_mean_change=high, policy="keep"))
    assert np.array_equal(kept_out, render_fast(frame, first))
    assert [p.audit for p in kept if p.region_id in degraded] == ["kept"] * len(degraded)
    assert all(p.attempts == 1 for p in kept if p.degraded)

    clean_out, relabelled = audit(demo, "blur", Visibility(min_mean_change=high, policy="relabel"))
    assert np.array_equal(clean_out, frame.image)
    for plan in relabelled:
        if plan.region_id in degraded:
            assert (plan.distortion, plan.severity, plan.audit) == ("clean", "clean", "relabelled")
            assert plan.relabelled_from.startswith("blur/") and plan.attempts == 1

    settings = Visibility(min_mean_change=high, policy="redraw", max_attempts=3)
    redrawn_out, redrawn = audit(demo, "blur", settings)
    assert np.array_equal(redrawn_out, frame.image)  # exhausted: relabelled
    assert all(p.attempts == 3 and p.audit == "relabelled" for p in redrawn if p.audit)
    again_out, again = audit(demo, "blur", settings)
    assert np.array_equal(again_out, redrawn_out) and again == redrawn

    settings = settings.model_copy(update={"exhausted": "keep"})
    _, flagged = audit(demo, "blur", settings)
    assert all(p.audit == "kept" and p.degraded for p in flagged if p.region_id in degraded)


def test_redraw_rescues_a_region_a_later_draw_makes_visible(demo) -> None:
    """With a minimum between the first draw's change and a later one's, the region is
    redrawn, keeps its family and severity and stores the visible draw."""
    _, _, _, frame = demo
    _, first = audit(demo, "blur", Visibility(min_mean_change=0.0))
    rescued = None
    for plan in first:
        if not plan.degraded:
            continue
        minimum = plan.mean_change + 1e-6
        out, audited = audit(demo, "blur", Visibility(min_mean_change=minimum, max_attempts=8))
        result = next(p for p in audited if p.region_id == plan.region_id)
        if result.audit == "redrawn":
            rescued = result
            assert result.mean_change >= minimum and result.attempts > 1
            assert (result.distortion, result.severity) == (plan.distortion, plan.severity)
            mask = frame.masks[plan.region_id]
            assert result.mean_change == pytest.approx(mean_abs_change(frame.image, out, mask))
            break
    assert rescued is not None


def test_visibility_stats_count_outcomes_and_order_scores() -> None:
    def plan(i: int, severity: str, audit: str, **extra: object) -> RegionPlan:
        base = RegionPlan("t", "blur", i, "blur", "gaussian", severity, 1, "{}", 0, False)
        return replace(base, audit=audit, attempts=1, **extra)

    plans = [
        plan(0, "minor", "visible"),
        plan(
            1,
            "clean",
            "relabelled",
            relabelled_from="blur/gaussian/minor",
            distortion="clean",
            subtype="",
        ),
        plan(2, "moderate", "redrawn"),
        plan(3, "severe", "kept"),
        RegionPlan("t", "blur", 4, "clean", "", "clean", 0, "{}", 0, False),
    ]
    source = SourceRecord("t", "x", 8, 8, "t.png", [])
    image = ScoredImage(source, {"blur": plans}, {"blur": [0.9, 1.0, 0.5, 0.2, 1.0]}, {}, {})
    stats = VisibilityStats()
    stats.add_image(image)
    out = stats.to_json()
    assert out["regions"] == 4 and out["relabelled"] == 1 and out["kept"] == 1
    assert out["under_minimum_first_draw"] == 0.75 and out["under_minimum_written"] == 0.25
    minor = out["families"]["blur"]["minor"]
    assert minor["regions"] == 2 and minor["under_minimum_first_draw"] == 0.5
    order = out["severity_order"]["blur"]
    assert order["mean_score"] == {"minor": 0.9, "moderate": 0.5, "severe": 0.2}
    assert order["ordered"] is True
