"""Weather knobs: what each severity must achieve, and the rules that keep severities nested."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pandaset_build.config.loader import RECIPE_DIR
from pandaset_build.config.recipe import load_recipe, recipe_from_dict
from pandaset_build.errors import RecipeError


def variant(tmp_path: Path, family: str, **knobs: object) -> Path:
    data = yaml.safe_load((RECIPE_DIR / "default.yaml").read_text())
    data["weather"][family].update(knobs)
    path = tmp_path / "variant.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("family", "knobs", "problem"),
    [
        ("haze", {"transmission": [0.8, 0.8, 0.4]}, "transmission must strictly decrease"),
        ("haze", {"transmission": [0.8, 0.6, 1.2]}, "must lie in (0, 1)"),
        ("haze", {"airlight_range": [0.9, 0.8]}, "airlight_range"),
        ("haze", {"depth_source": "sonar"}, "depth_source"),
        ("haze", {"layout": {"far": {"sky": 1.5}}}, "far.sky"),
        ("rain", {"alpha": [0.5, 0.4, 0.6]}, "alpha must not decrease"),
        ("rain", {"min_change": [6.0, 4.0, 8.0]}, "min_change must not decrease"),
        ("rain", {"min_change": [4.0, 4.0, 4.0]}, "min_change / alpha must not decrease"),
        ("rain", {"length_min": 0.2}, "length_min"),
        ("rain", {"density_max": 500}, "density_max 500.0 is below"),
        ("snow", {"opacity": [0.9, 0.8, 1.0]}, "opacity must not decrease"),
        ("snow", {"min_change": [2.0, 2.0, 2.0]}, "min_change / opacity must not decrease"),
    ],
)
def test_weather_knobs_that_break_nesting_or_meaning_are_refused(tmp_path, family, knobs, problem):
    path = variant(tmp_path, family, **knobs)
    with pytest.raises(RecipeError) as caught:
        load_recipe(path)
    assert str(path) in str(caught.value)
    assert f"weather.{family}" in str(caught.value)
    assert problem in str(caught.value)


def test_default_weather_targets():
    weather = load_recipe("default").weather
    assert weather.haze.transmission == [0.8, 0.6, 0.4]
    assert weather.haze.depth_source == "auto"
    assert weather.rain.length_min == min(weather.rain.length)
    assert weather.rain.length_max == max(weather.rain.length)
    assert weather.rain.min_change[0] >= 2.0  # one grey level of margin over truncation
    assert weather.snow.density_max > max(weather.snow.density)  # room for the top-up


def test_resolved_weather_round_trips_through_build_json():
    recipe = load_recipe("default")
    assert recipe_from_dict(recipe.model_dump(mode="json")) == recipe
