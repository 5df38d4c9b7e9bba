"""Tolerant reading of model answers: JSON extraction, label normalisation, region matching."""

from __future__ import annotations

import ast
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from pandaset_build.config import vocab
from pandaset_build.json_types import JsonObject
from pandaset_build.pairsets import SIDES

FENCE = re.compile(r"```[a-zA-Z]*\s*\n?(.*?)```", re.DOTALL)
TRAILING_COMMA = re.compile(r",\s*([}\]])")
PY_WORDS = {"true": "True", "false": "False", "null": "None"}

DISTORTION_ALIASES = {
    "decreased_contrast": "contrast_dec",
    "reduced_contrast": "contrast_dec",
    "low_contrast": "contrast_dec",
    "increased_contrast": "contrast_inc",
    "high_contrast": "contrast_inc",
    "saturation_increase": "saturate_inc",
    "saturation_inc": "saturate_inc",
    "increased_saturation": "saturate_inc",
    "oversaturation": "saturate_inc",
    "oversaturated": "saturate_inc",
    "saturation_decrease": "saturate_dec",
    "saturation_dec": "saturate_dec",
    "decreased_saturation": "saturate_dec",
    "desaturation": "saturate_dec",
    "desaturated": "saturate_dec",
    "jpeg": "compression",
    "jpeg_compression": "compression",
    "jpeg2000": "compression",
    "brighten": "brightness",
    "brightening": "brightness",
    "overexposure": "brightness",
    "overexposed": "brightness",
    "brightness_decrease": "darken",
    "decreased_brightness": "darken",
    "dark": "darken",
    "darkness": "darken",
    "underexposure": "darken",
    "underexposed": "darken",
    "over_sharpen": "oversharpen",
    "over_sharpening": "oversharpen",
    "sharpening": "oversharpen",
    "noisy": "noise",
    "blurry": "blur",
    "hazy": "haze",
    "fog": "haze",
    "foggy": "haze",
    "rainy": "rain",
    "snowy": "snow",
    "pixelation": "pixelate",
    "pixelated": "pixelate",
    "none": "clean",
    "no_distortion": "clean",
    "pristine": "clean",
}
SEVERITY_WORDS = {
    "clean": 0,
    "none": 0,
    "no": 0,
    "pristine": 0,
    "minor": 1,
    "mild": 1,
    "slight": 1,
    "low": 1,
    "moderate": 2,
    "medium": 2,
    "severe": 3,
    "high": 3,
    "strong": 3,
    "heavy": 3,
}
COMPARISON_ALIASES = {
    "equal": "same",
    "similar": "same",
    "same_quality": "same",
    "no_difference": "same",
}
FIELDS = (
    "comparison",
    "anchor_distortion",
    "target_distortion",
    "anchor_severity",
    "target_severity",
    "anchor_score",
    "target_score",
)


def token(value: str) -> str:
    """Lower case, other characters as one underscore: `Contrast Dec` -> contrast_dec."""
    return re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_")


def _balanced(text: str, start: int) -> str | None:
    """The bracketed span opening at `start`, skipping brackets inside quoted strings."""
    closer = {"{": "}", "[": "]"}
    stack: list[str] = []
    quote: str | None = None
    escaped = False
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in closer:
            stack.append(closer[ch])
        elif ch in "}]":
            if not stack or ch != stack.pop():
                return None
            if not stack:
                return text[start : i + 1]
    return None


def _loads(candidate: str) -> Any:
    """JSON, then JSON without trailing commas, then a Python literal (single quotes)."""
    try:
        return json.loads(candidate)
    except ValueError:
        pass
    cleaned = TRAILING_COMMA.sub(r"\1", candidate)
    try:
        return json.loads(cleaned)
    except ValueError:
        pass
    pythonic = re.sub(r"\b(true|false|null)\b", lambda m: PY_WORDS[m.group(1)], candidate)
    try:
        return ast.literal_eval(pythonic)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None


def extract_json(text: str | None) -> Any:
    """The first JSON object or array in an answer (fenced blocks first), or None."""
    if not text:
        return None
    for chunk in [*FENCE.findall(text), text]:
        for match in re.finditer(r"[{\[]", chunk):
            span = _balanced(chunk, match.start())
            value = _loads(span) if span else None
            if isinstance(value, dict | list):
                return value
    return None


def distortion_id(value: Any) -> int | None:
    """Distortion id of a label as a model may write it (`Motion Blur` -> blur), or None."""
    if not isinstance(value, str):
        return None
    t = token(value)
    t = DISTORTION_ALIASES.get(t, t)
    if t in vocab.DISTORTION_ID:
        return vocab.DISTORTION_ID[t]
    matches = [name for name in vocab.DISTORTIONS if t.startswith(name)]
    matches = matches or [name for name in vocab.DISTORTIONS if t.endswith("_" + name)]
    return vocab.DISTORTION_ID[max(matches, key=len)] if matches else None


def severity_id(value: Any) -> int | None:
    """Severity 0..3 from a number, a numeric string or a word, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value) if float(value).is_integer() and 0 <= value <= 3 else None
    if not isinstance(value, str):
        return None
    t = token(value)
    if re.fullmatch(r"[0-3](_0)?", t):
        return int(t[0])
    first = t.split("_")[0]
    if first in SEVERITY_WORDS:
        return SEVERITY_WORDS[first]
    digit = re.match(r"([0-3])_", t)
    return int(digit.group(1)) if digit else None


def comparison_id(value: Any) -> int | None:
    """Comparison id of a label (`significantly-worse`, `Slightly Better than`, ...) or of its
    number in the paper's ranking dict (`{0: 'same', 1: 'slightly-worse', ...}`), or None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value < len(vocab.COMPARISONS) else None
    if not isinstance(value, str):
        return None
    if value.strip().isdigit():
        return comparison_id(int(value.strip()))
    t = token(value).replace("significant_", "significantly_").replace("slight_", "slightly_")
    t = COMPARISON_ALIASES.get(t, t)
    if t in vocab.COMPARISON_ID:
        return vocab.COMPARISON_ID[t]
    prefixes = [name for name in vocab.COMPARISONS if t.startswith(name + "_")]
    return vocab.COMPARISON_ID[prefixes[0]] if prefixes else None


def score_value(value: Any) -> float | None:
    """A finite score from a number or a numeric string (`85%` -> 0.85), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        scale = 100.0 if text.endswith("%") else 1.0
        try:
            value = float(text.rstrip("%")) / scale
        except ValueError:
            return None
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


@dataclass
class RegionAnswer:
    """Parsed fields of one region; None marks a miss."""

    comparison: int | None = None
    distortion: dict[str, int | None] = field(default_factory=lambda: dict.fromkeys(SIDES))
    severity: dict[str, int | None] = field(default_factory=lambda: dict.fromkeys(SIDES))
    score: dict[str, float | None] = field(default_factory=lambda: dict.fromkeys(SIDES))

    def fields(self) -> JsonObject:
        """Flat `comparison`, `anchor_distortion`, ... values."""
        flat: JsonObject = {"comparison": self.comparison}
        for side in SIDES:
            flat[f"{side}_distortion"] = self.distortion[side]
            flat[f"{side}_severity"] = self.severity[side]
            flat[f"{side}_score"] = self.score[side]
        return flat


SIDE_KEYS = {
    "anchor": ("anchor", "a", "image_a", "imagea", "image_1", "first"),
    "target": ("target", "b", "image_b", "imageb", "image_2", "second"),
}
FIELD_KEYS = {
    "distortion": ("distortion", "dist", "distortion_type", "degradation", "type"),
    "severity": ("severity", "sev", "severity_level", "level"),
    "score": ("score", "quality", "quality_score"),
}
LOOSE_ENTRY = re.compile(
    r"(?<![\w.\-])(\d{1,3})\s*[.):]\s*(?=[\[{(\s\"']*(?:a|anchor|image\s*a)[\"']?\s*[:=])",
    re.IGNORECASE,
)
LOOSE_SIDE = re.compile(
    r"[\"']?\b(a|b|anchor|target|image\s*a|image\s*b)\b[\"']?\s*[:=]\s*[{(]([^{}()]*)[})]",
    re.IGNORECASE,
)
LOOSE_PAIR = re.compile(r"[\"']?([a-z_ ]+?)[\"']?\s*[:=]\s*[\"']?([^,;\"'{}()]+)", re.IGNORECASE)
LOOSE_COMPARISON = re.compile(
    r"[\"']?\bcomparison[\"']?\s*[:=]\s*[\"']?([a-z0-9][a-z0-9 _\-]*)", re.IGNORECASE
)


def _get(entry: JsonObject, names: tuple[str, ...]) -> Any:
    """The value of the first key of `names` the entry has (keys compared as tokens)."""
    by_token = {token(str(k)): v for k, v in entry.items()}
    return next((by_token[n] for n in names if n in by_token), None)


def _index(entry: JsonObject) -> int | None:
    value = _get(entry, ("index", "region_index", "region", "id"))
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _has_side(entry: JsonObject) -> bool:
    return any(isinstance(_get(entry, keys), dict) for keys in SIDE_KEYS.values())


def region_entries(value: Any) -> list[JsonObject]:
    """The region objects of a type (b) answer: `{"regions": [...]}`, a bare list, or one object."""
    if isinstance(value, dict):
        inner = _get(value, ("regions",))
        value = inner if isinstance(inner, list) else [value]
    if not isinstance(value, list):
        return []
    return [entry for entry in value if isinstance(entry, dict)]


def loose_entries(text: str | None) -> list[JsonObject]:
    """Region entries of an answer in figure 14's loose form, `1. A: {dist: blur, sev: minor,
    score: 0.78}, B: {...}, comparison: slightly-worse}`, as the JSON entries they stand for."""
    if not text:
        return []
    starts = list(LOOSE_ENTRY.finditer(text))
    entries = []
    for k, start in enumerate(starts):
        end = starts[k + 1].start() if k + 1 < len(starts) else len(text)
        chunk = text[start.end() : end]
        entry: JsonObject = {"index": int(start.group(1))}
        for side in LOOSE_SIDE.finditer(chunk):
            key = token(side.group(1))
            fields = {
                m.group(1).strip(): m.group(2).strip() for m in LOOSE_PAIR.finditer(side.group(2))
            }
            entry.setdefault(key, fields)
        comparison = LOOSE_COMPARISON.search(chunk)
        if comparison:
            entry["comparison"] = comparison.group(1).strip()
        entries.append(entry)
    return entries


def pair_entries(text: str | None) -> list[JsonObject]:
    """Region entries of a type (b) answer: from its JSON, else from figure 14's loose form."""
    entries = region_entries(extract_json(text))
    if any(_has_side(e) or "comparison" in e for e in entries):
        return entries
    return loose_entries(text) or entries


def _side_fields(answer: RegionAnswer, side: str, value: Any) -> None:
    if not isinstance(value, dict):
        return
    answer.distortion[side] = distortion_id(_get(value, FIELD_KEYS["distortion"]))
    answer.severity[side] = severity_id(_get(value, FIELD_KEYS["severity"]))
    answer.score[side] = score_value(_get(value, FIELD_KEYS["score"]))


def _base(indices: list[int | None], count: int, first_index: int) -> int:
    """The answer's first index: the prompt's, unless the indices plainly use the other base
    (1-based prompt, an index 0 and none equal to count; or the reverse)."""
    present = {i for i in indices if i is not None}
    if first_index == 1 and 0 in present and count not in present:
        return 0
    if first_index == 0 and 0 not in present and count in present:
        return 1
    return first_index


def parse_pair_answer(text: str | None, count: int, first_index: int = 0) -> list[RegionAnswer]:
    """One answer per region 0..count-1, matched by `index` (numbered from `first_index`, as the
    prompt numbers them), by position if no entry has one; sides `anchor`/`target` or `a`/`b`."""
    entries = pair_entries(text)
    answers = [RegionAnswer() for _ in range(count)]
    indexed = [(_index(e), e) for e in entries]
    if all(i is None for i, _ in indexed):
        indexed = list(enumerate(entries))
    else:
        base = _base([i for i, _ in indexed], count, first_index)
        indexed = [(None if i is None else i - base, e) for i, e in indexed]
    seen: set[int] = set()
    for i, entry in indexed:
        if i is None or not 0 <= i < count or i in seen:
            continue
        seen.add(i)
        answers[i].comparison = comparison_id(_get(entry, ("comparison", "rank", "ranking")))
        for side in SIDES:
            _side_fields(answers[i], side, _get(entry, SIDE_KEYS[side]))
    return answers


def region_fields(text: str | None, side: str | None = None) -> JsonObject | None:
    """The answer object of a type (a) reply; with `side`, an `{"anchor": ..., "target": ...}`
    answer (figure 13's form) gives that side's object."""
    value = extract_json(text)
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, dict)), None)
    if not isinstance(value, dict):
        return None
    if side is not None and isinstance(_get(value, SIDE_KEYS[side]), dict):
        return _get(value, SIDE_KEYS[side])
    return value


def parse_region_answer(text: str | None, side: str | None = None) -> tuple[int | None, int | None]:
    """(distortion id, severity) of a type (a) answer; None marks a miss."""
    value = region_fields(text, side)
    if value is None:
        return None, None
    distortion = distortion_id(_get(value, FIELD_KEYS["distortion"]))
    return distortion, severity_id(_get(value, FIELD_KEYS["severity"]))
