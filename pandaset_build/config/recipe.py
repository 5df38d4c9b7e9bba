"""The dataset recipe: its pydantic schema (every number that describes the dataset)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pandaset_build.config import vocab
from pandaset_build.config.loader import RECIPE_DIR, load, validate

SEVERITY_NAMES = vocab.SEVERITIES[1:]


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


def _fill_density_max(data: Any) -> Any:
    """`density_max` (the severity-independent candidate pool) defaults to the largest density."""
    if isinstance(data, dict) and data.get("density_max") is None and data.get("density"):
        return {**data, "density_max": max(data["density"])}
    return data


def _check_density_max(density: list[float], density_max: float | None) -> None:
    if density_max is None or density_max < max(density):
        raise ValueError(f"density_max {density_max} is below the largest density {max(density)}")


class Rain(Strict):
    density: list[float]
    density_max: float | None = None
    length: list[float]
    alpha: list[float]
    angle_max_deg: float = 20.0
    blur_sigma_min_px: float = 0.5
    blur_sigma_per_side: float = 0.002

    _fill = model_validator(mode="before")(_fill_density_max)

    @model_validator(mode="after")
    def _pool(self) -> Rain:
        _check_density_max(self.density, self.density_max)
        return self


class Snow(Strict):
    density: list[float]
    density_max: float | None = None
    opacity: list[float]
    radius_range: tuple[float, float] = (0.002, 0.008)
    flake_opacity_range: tuple[float, float] = (0.6, 1.0)
    veil: list[float] = [0.0, 0.0, 0.0]

    _fill = model_validator(mode="before")(_fill_density_max)

    @model_validator(mode="after")
    def _pool(self) -> Snow:
        _check_density_max(self.density, self.density_max)
        return self


class Haze(Strict):
    beta: list[float]
    airlight_range: tuple[float, float] = (0.6, 0.9)
    d_max: float = 0.7
    box_px: int = 22
    depth_source: Literal["auto", "file", "cap", "ramp", "constant"] = "auto"
    depth_near_is_bright: bool = True
    cap_min_filter: int = 15
    ramp_top: float = 1.0
    ramp_bottom: float = 0.0
    depth_constant: float | None = None

    @model_validator(mode="after")
    def _constant_needs_value(self) -> Haze:
        if self.depth_source == "constant" and self.depth_constant is None:
            raise ValueError("depth_source 'constant' needs depth_constant")
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


class Scoring(Strict):
    metric: str = "topiq_fr"
    batch_size: int = Field(8, ge=1)
    bucket_long_sides: list[int] = [128, 224, 384]
    min_short_side: int = Field(32, ge=1)
    cpu_threads: int = Field(1, ge=1)


class Comparison(Strict):
    same_below: float = Field(0.1, ge=0.0)
    significant_from: float = Field(0.3, ge=0.0)


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
    scoring: Scoring = Scoring()
    comparison: Comparison = Comparison()
    bench: Bench = Bench()
    export: Export = Export()

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
        unknown = [v for v in value if v not in vocab.VERSIONS]
        if unknown:
            raise ValueError(f"unknown versions {unknown}; known: {list(vocab.VERSIONS)}")
        if len(set(value)) != len(value):
            raise ValueError("versions must not repeat")
        return value

    @field_validator("distortions")
    @classmethod
    def _tables(cls, value: DistortionTables) -> DistortionTables:
        for family, subtypes in value.items():
            if family not in vocab.SUBTYPES or family in vocab.WEATHER_FAMILIES:
                raise ValueError(f"{family}: unknown DepictQA family")
            for subtype, params in subtypes.items():
                if subtype not in vocab.SUBTYPES[family]:
                    known = list(vocab.SUBTYPES[family])
                    raise ValueError(f"{family}.{subtype}: unknown sub-type; known: {known}")
                for param, levels in params.items():
                    if len(levels) != vocab.DEPICTQA_LEVELS:
                        raise ValueError(
                            f"{family}.{subtype}.{param}: expected {vocab.DEPICTQA_LEVELS} "
                            f"levels, got {len(levels)}"
                        )
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
