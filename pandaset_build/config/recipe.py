"""The dataset recipe: its pydantic schema (every number that describes the dataset)."""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pandaset_build.config import vocab
from pandaset_build.config.loader import RECIPE_DIR, KeyedProblem, load, validate
from pandaset_build.config.manifests import read_manifest_json, resolve_manifest_path

SEVERITY_NAMES = vocab.SEVERITIES[1:]


def _families() -> list[str]:
    return [f for f in vocab.SUBTYPES if f not in vocab.WEATHER_FAMILIES]


def _unknown(what: str, name: str, known: Sequence[str]) -> str:
    """`unknown sub-type; did you mean 'gaussian'? (known: ...)`."""
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown {what}; {hint}(known: {', '.join(known)})"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Assignment(Strict):
    clean_probability: float = Field(0.2, ge=0.0, le=1.0)
    severity_levels: dict[str, int] = {"minor": 1, "moderate": 3, "severe": 5}
    severity_levels_by_family: dict[str, dict[str, int]] = {}

    @field_validator("severity_levels")
    @classmethod
    def _levels(cls, value: dict[str, int]) -> dict[str, int]:
        return _check_level_map(value)

    @field_validator("severity_levels_by_family")
    @classmethod
    def _family_levels(cls, value: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
        for family, levels in value.items():
            if family not in vocab.SUBTYPES or family in vocab.WEATHER_FAMILIES:
                raise ValueError(f"unknown DepictQA family {family!r}")
            _check_level_map(levels)
        return value

    def level(self, family: str, severity: str) -> int:
        """DepictQA level (1..5) for a PANDA severity; weather uses the severity index (1..3)."""
        if family in vocab.WEATHER_FAMILIES:
            return SEVERITY_NAMES.index(severity) + 1
        return self.severity_levels_by_family.get(family, self.severity_levels)[severity]


def _check_level_map(levels: dict[str, int]) -> dict[str, int]:
    if sorted(levels) != sorted(SEVERITY_NAMES):
        raise ValueError(f"needs exactly the keys {list(SEVERITY_NAMES)}, got {sorted(levels)}")
    for name, level in levels.items():
        if not 1 <= level <= vocab.DEPICTQA_LEVELS:
            raise ValueError(f"{name}: level {level} is outside 1..{vocab.DEPICTQA_LEVELS}")
    return levels


def _fill_pool(data: Any) -> Any:
    """Severity-independent knobs default from their lists: density_max, length_min/length_max."""
    if not isinstance(data, dict):
        return data
    filled = dict(data)
    for knob, source, pick in (
        ("density_max", "density", max),
        ("length_min", "length", min),
        ("length_max", "length", max),
    ):
        if filled.get(knob) is None and filled.get(source):
            filled[knob] = pick(filled[source])
    return filled


def _check_pool(density: list[float], density_max: float | None) -> None:
    if density_max is None or density_max < max(density):
        raise ValueError(f"density_max {density_max} is below the largest density {max(density)}")


def _check_rising(name: str, values: list[float], strict: bool = False) -> None:
    """Severity knobs only grow (nesting): minor <= moderate <= severe (< when strict)."""
    for lower, upper in itertools.pairwise(values):
        if upper < lower or (strict and upper == lower):
            order = "strictly increase" if strict else "not decrease"
            raise ValueError(f"{name} must {order} from minor to severe, got {values}")


def _check_targets(min_change: list[float], strength: list[float], strength_name: str) -> None:
    """The visibility top-up stays nested only if min_change / strength does not decrease."""
    if any(value < 0 for value in min_change):
        raise ValueError(f"min_change must be >= 0 grey levels, got {min_change}")
    if any(value <= 0 for value in strength):
        raise ValueError(f"{strength_name} must be > 0 at every severity, got {strength}")
    _check_rising(
        f"min_change / {strength_name}",
        [change / value for change, value in zip(min_change, strength, strict=False)],
    )


Colour = tuple[float, float, float]


class Rain(Strict):
    """Streaks: scene density, length and alpha per severity; `min_change` per region."""

    density: list[float]
    density_max: float | None = None
    length: list[float]
    length_min: float | None = None
    length_max: float | None = None
    alpha: list[float]
    min_change: list[float]
    colour: Colour = (0.86, 0.88, 0.92)
    streak_opacity_range: tuple[float, float] = (0.6, 1.0)
    angle_max_deg: float = 20.0
    blur_sigma_min_px: float = 0.5
    blur_sigma_per_side: float = 0.002

    _fill = model_validator(mode="before")(_fill_pool)

    @model_validator(mode="after")
    def _nested(self) -> Rain:
        _check_pool(self.density, self.density_max)
        for name in ("density", "length", "alpha", "min_change"):
            _check_rising(name, getattr(self, name))
        if self.length_min is None or self.length_min > min(self.length):
            raise ValueError(f"length_min {self.length_min} is above the shortest length")
        if self.length_max is None or self.length_max < max(self.length):
            raise ValueError(f"length_max {self.length_max} is below the longest length")
        _check_targets(self.min_change, self.alpha, "alpha")
        return self


class Snow(Strict):
    """Flakes: scene density and opacity per severity; `min_change` per region."""

    density: list[float]
    density_max: float | None = None
    opacity: list[float]
    min_change: list[float]
    colour: Colour = (1.0, 1.0, 1.0)
    radius_range: tuple[float, float] = (0.002, 0.008)
    flake_opacity_range: tuple[float, float] = (0.6, 1.0)
    veil: list[float] = [0.0, 0.0, 0.0]

    _fill = model_validator(mode="before")(_fill_pool)

    @model_validator(mode="after")
    def _nested(self) -> Snow:
        _check_pool(self.density, self.density_max)
        for name in ("density", "opacity", "min_change", "veil"):
            _check_rising(name, getattr(self, name))
        _check_targets(self.min_change, self.opacity, "opacity")
        return self


class Layout(Strict):
    """The panoptic-layout depth prior: distance of far stuff, by category base name."""

    far: dict[str, float] = {
        "sky": 1.0,
        "mountain": 0.95,
        "building": 0.85,
        "house": 0.85,
        "bridge": 0.85,
        "roof": 0.85,
        "tree": 0.8,
        "wall": 0.8,
        "ceiling": 0.8,
    }

    @field_validator("far")
    @classmethod
    def _unit(cls, value: dict[str, float]) -> dict[str, float]:
        for name, distance in value.items():
            if not 0.0 <= distance <= 1.0:
                raise ValueError(f"far.{name}: distance {distance} is outside [0, 1]")
        return value


DepthSource = Literal["auto", "file", "model", "layout", "cap", "ramp", "constant"]


class Haze(Strict):
    """Scattering with a calibrated density: each region's mean transmission is its target."""

    transmission: list[float]
    airlight_range: tuple[float, float] = (0.8, 0.95)
    airlight_tint: float = Field(0.02, ge=0.0, le=0.1)
    d_max: float = Field(0.7, gt=0.0, le=1.0)
    depth_floor: float = Field(0.2, gt=0.0, le=1.0)
    box_px: int = Field(22, ge=1)
    depth_source: DepthSource = "auto"
    depth_model: str = "depth-anything/Depth-Anything-V2-Small-hf"
    depth_near_is_bright: bool = True
    cap_min_filter: int = 15
    ramp_top: float = 1.0
    ramp_bottom: float = 0.0
    depth_constant: float | None = None
    layout: Layout = Layout()

    @model_validator(mode="after")
    def _checks(self) -> Haze:
        if self.depth_source == "constant" and self.depth_constant is None:
            raise ValueError("depth_source 'constant' needs depth_constant")
        if not all(0.0 < t < 1.0 for t in self.transmission):
            raise ValueError(f"transmission targets must lie in (0, 1), got {self.transmission}")
        if any(b >= a for a, b in itertools.pairwise(self.transmission)):
            raise ValueError(
                f"transmission must strictly decrease from minor to severe, got {self.transmission}"
            )
        low, high = self.airlight_range
        if not 0.0 < low <= high <= 1.0:
            raise ValueError(f"airlight_range must satisfy 0 < low <= high <= 1, got {low, high}")
        return self


class Weather(Strict):
    rain: Rain
    snow: Snow
    haze: Haze

    @model_validator(mode="after")
    def _severity_lists(self) -> Weather:
        for family in vocab.WEATHER_FAMILIES:
            for key, value in getattr(self, family).model_dump().items():
                if isinstance(value, list) and len(value) != len(SEVERITY_NAMES):
                    raise ValueError(
                        f"{family}.{key}: expected {len(SEVERITY_NAMES)} values "
                        f"(minor, moderate, severe), got {len(value)}"
                    )
        return self


class Visibility(Strict):
    """The visibility audit: every degraded region must change its pixels by at least
    `min_mean_change` grey levels on average, measured on the written version."""

    min_mean_change: float = Field(1.0, ge=0.0)
    policy: Literal["redraw", "relabel", "keep"] = "redraw"
    max_attempts: int = Field(4, ge=1)  # renderings per region under `redraw`, the first included
    exhausted: Literal["relabel", "keep"] = "relabel"  # `redraw` after max_attempts renderings


class Scoring(Strict):
    metric: str = "topiq_fr"
    batch_size: int = Field(8, ge=1)
    bucket_long_sides: list[int] = [128, 224, 384]
    min_short_side: int = Field(32, ge=1)
    cpu_threads: int = Field(1, ge=1)
    frame_batch_size: int = Field(4, ge=1)  # whole frames per forward pass (one image's shape)
    prefetch_images: int = Field(2, ge=1)  # images decoded and cropped ahead of the forward


class Comparison(Strict):
    same_below: float = Field(0.1, ge=0.0)
    significant_from: float = Field(0.3, ge=0.0)

    @model_validator(mode="after")
    def _ordered(self) -> Comparison:
        if self.same_below >= self.significant_from:
            raise ValueError(
                f"same_below ({self.same_below}) must be below significant_from "
                f"({self.significant_from}): a score difference below same_below is 'same', "
                "from significant_from on 'significant'; swap or fix them"
            )
        return self


class Bench(Strict):
    easy: int = Field(300, ge=0)
    medium: int = Field(300, ge=0)
    hard: int = Field(300, ge=0)


class Export(Strict):
    shard_bytes: int = Field(500_000_000, ge=1)
    max_files_per_folder: int = Field(10_000, ge=1)
    preview_pairs: int = Field(300, ge=0)


DistortionTables = dict[str, dict[str, dict[str, list[Any]]]]


class Recipe(Strict):
    name: str
    seed: int = 0
    shard_size: int = Field(16, ge=1)
    pixel_scale: Literal["native", "short_side_224"] = "native"
    stat_domain: Literal["mask", "frame"] = "mask"
    png_encoder: Literal["fpng", "opencv"] = "fpng"
    png_level: int = Field(1, ge=0, le=9)
    splits: dict[str, float]
    use_source_splits: bool = False
    split_manifest: str | None = None
    versions: list[str]
    assignment: Assignment = Assignment()
    distortions: DistortionTables
    weather: Weather
    visibility: Visibility = Visibility()
    scoring: Scoring = Scoring()
    comparison: Comparison = Comparison()
    bench: Bench = Bench()
    export: Export = Export()
    min_image_side: int = Field(32, ge=1)  # smaller images are rejected at ingest (DepictQA's)

    @field_validator("splits")
    @classmethod
    def _splits(cls, value: dict[str, float]) -> dict[str, float]:
        if not value or any(v < 0 for v in value.values()) or sum(value.values()) <= 0:
            raise ValueError("needs non-negative sizes or fractions with a positive total")
        for name in value:
            if not name.isidentifier():
                raise ValueError(f"split name {name!r} must be a word (letters, digits, _)")
        return value

    @field_validator("versions")
    @classmethod
    def _versions(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError(f"needs at least one version; known: {list(vocab.VERSIONS)}")
        unknown = [v for v in value if v not in vocab.VERSIONS]
        if unknown:
            raise ValueError(f"unknown versions {unknown}; known: {list(vocab.VERSIONS)}")
        if len(set(value)) != len(value):
            raise ValueError("versions must not repeat")
        return value

    @field_validator("split_manifest")
    @classmethod
    def _manifest(cls, value: str | None) -> str | None:
        if value is not None:
            path = resolve_manifest_path(value)
            data = read_manifest_json(path)
            if not isinstance(data, dict) or not isinstance(data.get("splits"), dict):
                raise ValueError(
                    f"{path}: a split manifest needs a 'splits' mapping of split -> tags"
                )
        return value

    @field_validator("distortions")
    @classmethod
    def _tables(cls, value: DistortionTables) -> DistortionTables:
        from pandaset_build import distortions  # the registry imports this module

        for family, subtypes in value.items():
            if family not in vocab.SUBTYPES or family in vocab.WEATHER_FAMILIES:
                raise KeyedProblem(family, None, _unknown("DepictQA family", family, _families()))
            for subtype, params in subtypes.items():
                if subtype not in vocab.SUBTYPES[family]:
                    problem = _unknown("sub-type", subtype, vocab.SUBTYPES[family])
                    raise KeyedProblem(f"{family}.{subtype}", None, problem)
                schema = distortions.get(f"{family}/{subtype}").params
                for param, levels in params.items():
                    key = f"{family}.{subtype}.{param}"
                    if param not in schema:
                        raise KeyedProblem(key, levels, _unknown("parameter", param, list(schema)))
                    if not isinstance(levels, list) or len(levels) != vocab.DEPICTQA_LEVELS:
                        raise KeyedProblem(
                            key, levels, f"expected a list of {vocab.DEPICTQA_LEVELS} levels"
                        )
                    problem = schema[param].problem(levels)
                    if problem:
                        expected = schema[param].expected()
                        raise KeyedProblem(key, levels, f"{problem} (expected {expected})")
                missing = [name for name in schema if name not in params]
                if missing:
                    raise KeyedProblem(f"{family}.{subtype}", params, f"missing {missing}")
        missing = [
            f"{family}/{sub}"
            for family, subs in vocab.SUBTYPES.items()
            if family not in vocab.WEATHER_FAMILIES
            for sub in subs
            if sub not in value.get(family, {})
        ]
        if missing:
            raise ValueError(f"missing tables for {missing}")
        return value

    @property
    def split_fractions(self) -> dict[str, float]:
        total = sum(self.splits.values())
        return {name: size / total for name, size in self.splits.items()}

    def distortion_params(self, key: str, level: int) -> dict[str, Any]:
        """Parameters of `family/subtype` at DepictQA level 1..5 (weather: severity 1..3)."""
        family, subtype = key.split("/")
        if family in vocab.WEATHER_FAMILIES:
            knobs = getattr(self.weather, family).model_dump()
            return {k: v[level - 1] if isinstance(v, list) else v for k, v in knobs.items()}
        table = self.distortions[family][subtype]
        return {param: levels[level - 1] for param, levels in table.items()}

    def digest(self) -> str:
        """SHA-256 of the canonical JSON of the resolved recipe."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def load_recipe(name_or_path: str | Path) -> Recipe:
    """Load, merge `extends` and validate a recipe; raise RecipeError naming file and key."""
    return load(Recipe, name_or_path)


def recipe_from_dict(data: dict[str, Any], source: str | Path = "<recipe>") -> Recipe:
    return validate(Recipe, data, source)


def default_recipe() -> Recipe:
    return load_recipe(RECIPE_DIR / "default.yaml")
