"""Type (b) pair prompts and type (a) region prompts rendered from editable text templates."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any, Literal

from pandaset_build.config import vocab
from pandaset_build.errors import TemplateError

from .bench import SIDES, BenchPair
from .images import data_url, open_rgb, region_views

PromptType = Literal["pair", "region"]
TEMPLATE_NAMES = ("pair", "region", "hint")
SEVERITY_TEXT = "0 = clean (no distortion), 1 = minor, 2 = moderate, 3 = severe"


@dataclass(frozen=True)
class Prompt:
    """One chat request: its text, its encoded images, and what it asks about."""

    pair: int
    region: int | None  # None for a type (b) request, which covers every region
    side: str | None  # "anchor" or "target" for a type (a) request
    text: str
    images: list[bytes] = field(repr=False)

    @property
    def name(self) -> str:
        """`pair`, or `region{i}_{side}`: the file stem of its rendered inputs."""
        return "pair" if self.region is None else f"region{self.region:03d}_{self.side}"

    def messages(self) -> list[dict[str, Any]]:
        """Chat-completions messages: one user turn, the text then the images as data URLs."""
        parts: list[dict[str, Any]] = [{"type": "text", "text": self.text}]
        parts += [{"type": "image_url", "image_url": {"url": data_url(im)}} for im in self.images]
        return [{"role": "user", "content": parts}]


@dataclass(frozen=True)
class Templates:
    """The three prompt templates (`string.Template` syntax: `$name`, `$$` for a dollar)."""

    pair: str
    region: str
    hint: str

    @classmethod
    def load(cls, folder: Path | None = None) -> Templates:
        """Bundled templates, each replaced by `<folder>/<name>.txt` where that file exists."""
        if folder is not None and not Path(folder).is_dir():
            raise TemplateError(f"{folder}: no such template folder")
        bundled = resources.files("pandaset_build.mllm") / "templates"
        texts = {}
        for name in TEMPLATE_NAMES:
            override = Path(folder) / f"{name}.txt" if folder is not None else None
            if override is not None and override.exists():
                texts[name] = override.read_text()
            else:
                texts[name] = (bundled / f"{name}.txt").read_text()
        return cls(**texts)


def _fill(template: str, name: str, values: dict[str, Any]) -> str:
    try:
        return Template(template).substitute(values)
    except (KeyError, ValueError) as err:
        raise TemplateError(f"template {name}.txt: unknown or bad placeholder {err}") from err


def _labels(names: tuple[str, ...]) -> str:
    return ", ".join(names)


def find_hint(hint_dir: Path, pair: BenchPair) -> Path | None:
    """The graph `{n}_{tag}_{anchor}_{target}_{exp}.json` of a pair, if there is exactly one."""
    found = []
    for path in sorted(Path(hint_dir).glob("*.json")):
        n, _, rest = path.stem.partition("_")
        if n.isdigit() and rest.startswith(pair.key + "_"):
            found.append(path)
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise ValueError(f"{hint_dir}: several graphs for {pair.key}: {names}")
    return found[0] if found else None


def hint_text(templates: Templates, graph: dict[str, Any] | None, focus: str = "") -> str:
    """The rendered hint block, or nothing without a graph."""
    if graph is None:
        return ""
    return _fill(templates.hint, "hint", {"graph": json.dumps(graph), "focus": focus})


def pair_prompt(
    templates: Templates, n: int, pair: BenchPair, graph: dict[str, Any] | None = None
) -> Prompt:
    """Type (b): both images, every region's name and box, the full answer schema."""
    width, height = open_rgb(pair.anchor_image).size
    lines = [f"{r.index}: {r.label}, box {[round(v) for v in r.bbox]}" for r in pair.regions]
    values = {
        "count": len(pair.regions),
        "width": width,
        "height": height,
        "regions": "\n".join(lines),
        "distortions": _labels(vocab.DISTORTIONS),
        "severities": SEVERITY_TEXT,
        "comparisons": _labels(vocab.COMPARISONS),
        "hint": hint_text(templates, graph),
    }
    text = _fill(templates.pair, "pair", values)
    return Prompt(n, None, None, text, [pair.anchor_image, pair.target_image])


def region_prompts(
    templates: Templates, n: int, pair: BenchPair, graph: dict[str, Any] | None = None
) -> list[Prompt]:
    """Type (a): per region and side, the crop and the dimmed full image with a red box."""
    prompts = []
    for region in pair.regions:
        for number, side in enumerate(SIDES, 1):
            crop, context = region_views(pair.image(side), region.bbox, region.mask)
            focus = f' Here you judge region {region.index} ("{region.label}") in image "{number}".'
            values = {
                "name": region.label,
                "index": region.index,
                "side": side,
                "distortions": _labels(vocab.DISTORTIONS),
                "severities": SEVERITY_TEXT,
                "hint": hint_text(templates, graph, focus),
            }
            text = _fill(templates.region, "region", values)
            prompts.append(Prompt(n, region.index, side, text, [crop, context]))
    return prompts


def prompts_for(
    templates: Templates,
    prompt_type: PromptType,
    n: int,
    pair: BenchPair,
    graph: dict[str, Any] | None = None,
) -> list[Prompt]:
    """Every request a pair needs with the chosen prompt type (none when it has no regions)."""
    if not pair.regions:
        return []
    if prompt_type == "pair":
        return [pair_prompt(templates, n, pair, graph)]
    return region_prompts(templates, n, pair, graph)
