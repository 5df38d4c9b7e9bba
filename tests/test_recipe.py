"""Recipe loading and validation: the paper's numbers, and errors naming file, key and problem."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pandaset_build.config import vocab
from pandaset_build.config.loader import RECIPE_DIR
from pandaset_build.config.recipe import load_recipe
from pandaset_build.errors import RecipeError


def write_variant(tmp_path: Path, edit) -> Path:
    data = yaml.safe_load((RECIPE_DIR / "default.yaml").read_text())
    edit(data)
    path = tmp_path / "variant.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_default_recipe_holds_the_paper_settings() -> None:
    recipe = load_recipe("default")
    assert recipe.splits == {"train": 2000, "val": 50, "test": 150}
    assert recipe.versions == list(vocab.VERSIONS)
    assert recipe.assignment.clean_probability == 0.2
    assert recipe.assignment.severity_levels == {"minor": 1, "moderate": 3, "severe": 5}
    assert (recipe.comparison.same_below, recipe.comparison.significant_from) == (0.1, 0.3)
    assert (recipe.bench.easy, recipe.bench.medium, recipe.bench.hard) == (300, 300, 300)
    tables = recipe.distortions
    assert sum(len(subs) for subs in tables.values()) == 32
    assert recipe.distortion_params("blur/motion", 5) == {"radius": 20, "sigma": 12}
    assert recipe.distortion_params("compression/jpeg", 1) == {"quality": 25}
    assert len(recipe.distortion_params("blur/zoom", 5)["factors"]) == 11
    assert recipe.distortion_params("rain/rain", 3)["density"] == 1100


def test_bundled_names_and_extends_resolve() -> None:
    quick = load_recipe("quickstart")
    assert quick.scoring.metric == "fsim"
    assert quick.distortions == load_recipe("default").distortions
    assert load_recipe("recipes/quickstart.yaml") == quick


def test_hash_changes_with_any_number(tmp_path: Path) -> None:
    def edit(data: dict) -> None:
        data["distortions"]["blur"]["gaussian"]["sigma"][0] = 1.5

    assert load_recipe(write_variant(tmp_path, edit)).digest() != load_recipe("default").digest()


@pytest.mark.parametrize(
    ("edit", "key", "problem"),
    [
        (lambda d: d.update(bogus=1), "bogus", "unknown key"),
        (
            lambda d: d["distortions"]["blur"].update(fancy={"a": [1] * 5}),
            "distortions.blur.fancy",
            "unknown sub-type",
        ),
        (
            lambda d: d["distortions"].update(sparkle={"x": {"a": [1] * 5}}),
            "distortions.sparkle",
            "unknown DepictQA family",
        ),
        (
            lambda d: d["assignment"].update(clean_probability=1.5),
            "assignment.clean_probability",
            "less than or equal to 1",
        ),
        (
            lambda d: d["distortions"]["noise"]["poisson"].update(factor=[80, 60]),
            "distortions.noise.poisson.factor",
            "[80, 60]: expected a list of 5 levels",
        ),
        (
            lambda d: d["weather"]["rain"].update(alpha=[0.1, 0.2]),
            "weather",
            "rain.alpha: expected 3 values",
        ),
        (lambda d: d.update(versions=["blur", "sparkle"]), "versions", "unknown versions"),
        (
            lambda d: d["assignment"].update(severity_levels={"minor": 1, "moderate": 9}),
            "assignment.severity_levels",
            "needs exactly the keys",
        ),
    ],
)
def test_broken_recipe_names_file_key_and_problem(tmp_path: Path, edit, key, problem) -> None:
    path = write_variant(tmp_path, edit)
    with pytest.raises(RecipeError) as err:
        load_recipe(path)
    message = str(err.value)
    assert str(path) in message
    assert f": {key}: " in message
    assert problem in message


def test_missing_recipe_lists_the_bundled_ones() -> None:
    with pytest.raises(RecipeError, match="quickstart"):
        load_recipe("no-such-recipe")


@pytest.mark.parametrize(
    ("table", "levels", "problem"),
    [
        ("blur.gaussian.sigma", [-1, -2, -3, -4, -5], "level 1: -1 must be > 0"),
        ("blur.gaussian.sigma", [1, 2, "x", 4, 5], "level 3: 'x' is not a number"),
        ("blur.gaussian.sigma", [1, 2, 3, 2, 5], "level 4 (2) goes back past level 3 (3)"),
        ("compression.jpeg.quality", [25, 18, 12, 8, 0], "level 5: 0 must be >= 1"),
        ("compression.jpeg.quality", [25, 18, 12, 8, 101], "level 5: 101 must be <= 100"),
        ("compression.jpeg.quality", [25, 18, 12.5, 8, 5], "level 3: 12.5 is not an integer"),
        ("noise.impulse.amount", [0.01, 0.03, 0.05, 0.07, 1.5], "level 5: 1.5 must be <= 1"),
        ("pixelate.pixelate.factor", [0.5, 0.4, 0.3, 0.25, 0], "level 5: 0 must be > 0"),
        (
            "blur.zoom.factors",
            [[1.0], [1.0, 0.9], [1.0], [1.0], [1.0]],
            "level 2: 0.9 must be >= 1",
        ),
    ],
)
def test_distortion_parameter_values_are_checked_at_load(
    tmp_path: Path, table: str, levels: list, problem: str
) -> None:
    family, subtype, param = table.split(".")

    def edit(d: dict) -> None:
        d["distortions"][family][subtype][param] = levels

    with pytest.raises(RecipeError) as err:
        load_recipe(write_variant(tmp_path, edit))
    line = str(err.value)
    assert f": distortions.{table}: {levels!r}: {problem}" in line
    assert "(expected " in line


def test_a_mistyped_parameter_name_suggests_the_right_one(tmp_path: Path) -> None:
    def edit(d: dict) -> None:
        d["distortions"]["blur"]["gaussian"] = {"sigmaa": [1, 2, 3, 4, 5]}

    with pytest.raises(RecipeError, match=r"blur\.gaussian\.sigmaa: .*did you mean 'sigma'"):
        load_recipe(write_variant(tmp_path, edit))
