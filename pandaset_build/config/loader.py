"""One loader for every recipe: bundled names, YAML with `extends`, and errors that say where.

Every problem is a `RecipeError` whose lines read `file: key.path: problem`, with a "did you
mean" for a mistyped key.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, TypeVar, get_args

import yaml
from pydantic import BaseModel, ValidationError

from pandaset_build.errors import RecipeError

RECIPE_DIR = Path(__file__).parent.parent / "recipes"
ModelT = TypeVar("ModelT", bound=BaseModel)
YamlMapping = dict[str, Any]


def bundled_recipes() -> list[str]:
    return sorted(p.stem for p in RECIPE_DIR.glob("*.yaml"))


def resolve_recipe_path(name_or_path: str | Path) -> Path:
    """A path as given, or a bundled recipe by bare name (`default`, `quickstart`, `panda`)."""
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    bundled = RECIPE_DIR / f"{name_or_path}.yaml"
    if path.suffix == "" and bundled.is_file():
        return bundled
    known = ", ".join(bundled_recipes())
    raise RecipeError(f"{name_or_path}: no such recipe file (bundled recipes: {known})")


def read_yaml(path: Path, seen: tuple[Path, ...] = ()) -> YamlMapping:
    """A recipe file's mapping with its `extends` chain merged (mappings merge, rest replaces)."""
    if path.resolve() in seen:
        raise RecipeError(f"{path}: extends itself in a cycle")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise RecipeError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: a recipe must be a YAML mapping")
    parent = data.pop("extends", None)
    if parent is None:
        return data
    sibling = path.parent / str(parent)
    base_path = sibling if sibling.is_file() else resolve_recipe_path(parent)
    return merge(read_yaml(base_path, (*seen, path.resolve())), data)


def merge(base: YamlMapping, override: YamlMapping) -> YamlMapping:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class KeyedProblem(ValueError):
    """A validation problem deeper than the field it was found in: its key path and value."""

    def __init__(self, key: str, value: object, problem: str) -> None:
        super().__init__(f"{key}: {problem}" if value is None else f"{key}: {value!r}: {problem}")
        self.key, self.value, self.problem = key, value, problem


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names of the (nested) model that holds the key at `loc`, or [] if unknown."""
    current: Any = model
    for part in loc[:-1]:
        field = current.model_fields.get(part) if isinstance(current, type) else None
        if field is None:
            return []
        nested = [a for a in (field.annotation, *get_args(field.annotation)) if _is_model(a)]
        if not nested:
            return []
        current = nested[0]
    return list(current.model_fields) if _is_model(current) else []


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def format_errors(path: Path, model: type[BaseModel], err: ValidationError) -> str:
    """`file: key.path: problem` lines, with a did-you-mean for unknown keys."""
    lines = []
    for error in err.errors():
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        keyed = (error.get("ctx") or {}).get("error")
        if isinstance(keyed, KeyedProblem):
            where = ".".join(p for p in (where if error["loc"] else "", keyed.key) if p)
            message = keyed.problem if keyed.value is None else f"{keyed.value!r}: {keyed.problem}"
        if error["type"] == "extra_forbidden":
            known = _fields_at(model, tuple(error["loc"]))
            close = difflib.get_close_matches(str(error["loc"][-1]), known, n=1)
            message = "unknown key" + (f"; did you mean {close[0]!r}?" if close else "")
        lines.append(f"{path}: {where}: {message}")
    return "\n".join(lines)


def validate(model: type[ModelT], data: YamlMapping, source: str | Path) -> ModelT:
    """`model` from a mapping; a RecipeError naming the source, key path and problem."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise RecipeError(format_errors(Path(source), model, err)) from None


def load(model: type[ModelT], name_or_path: str | Path, section: str | None = None) -> ModelT:
    """Resolve, read (with `extends`) and validate a recipe file as `model`."""
    path = resolve_recipe_path(name_or_path)
    data = read_yaml(path)
    if section is not None and section in data:
        data = data[section]
    return validate(model, data, path)
