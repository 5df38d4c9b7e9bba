"""Type (b) pair prompts and type (a) region prompts, as the paper prints them or extended.

Two bundled prompt sets: `paper` (appendix figures 9 and 10, verbatim: system prompts, the paper's
label spellings, regions numbered from 1 with x1/y1/x2/y2 boxes) and `extended` (this project's
own wording, regions from 0 with xywh boxes). A folder of `.txt` files replaces any template of the
chosen set by name.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from string import Template
from typing import Literal

from pandaset_build.config import vocab
from pandaset_build.errors import TemplateError, UsageError
from pandaset_build.json_types import JsonObject
from pandaset_build.pairsets import SIDES, PairRecord, PairRegion
from pandaset_build.pairsets.record import Box
from pandaset_build.panda.graph import DistortionGraph

from . import paper
from .hints import RegionHint, region_hints
from .views import box_pixels, data_url, open_rgb, region_views

PromptType = Literal["pair", "region"]
PromptSet = Literal["paper", "extended"]
PROMPT_SETS: tuple[str, ...] = ("paper", "extended")
TEMPLATE_NAMES = ("pair_system", "pair", "region_system", "region", "hint")
SEVERITY_TEXT = "0 = clean (no distortion), 1 = minor, 2 = moderate, 3 = severe"
IMAGE_NAMES = {"anchor": "image A (anchor)", "target": "image B (target)"}


@dataclass(frozen=True)
class Prompt:
    """One chat request: its system and user text, its encoded images, what it asks about."""

    pair: int
    region: int | None  # None for a type (b) request, which covers every region
    side: str | None  # "anchor" or "target" for a type (a) request
    text: str
    images: list[bytes] = field(repr=False)
    system: str = ""

    @property
    def name(self) -> str:
        """`pair`, or `region{i}_{side}`: the file stem of its rendered inputs."""
        return "pair" if self.region is None else f"region{self.region:03d}_{self.side}"

    def messages(self) -> list[JsonObject]:
        """Chat-completions messages: the system prompt (if any), then one user turn with the text
        and then the images as data URLs, in the protocol's order."""
        parts: list[JsonObject] = [{"type": "text", "text": self.text}]
        parts += [{"type": "image_url", "image_url": {"url": data_url(im)}} for im in self.images]
        system = [{"role": "system", "content": self.system}] if self.system else []
        return [*system, {"role": "user", "content": parts}]


@dataclass(frozen=True)
class Templates:
    """The templates of one prompt set (`string.Template` syntax: `$name`, `$$` for a dollar)."""

    prompt_set: str
    texts: dict[str, str]
    origins: dict[str, str]  # where each text came from: `bundled:<set>/<file>` or a path

    @classmethod
    def load(cls, folder: Path | None = None, prompt_set: str = "paper") -> Templates:
        """Bundled templates of `prompt_set`, each replaced by `<folder>/<name>.txt` if present."""
        if prompt_set not in PROMPT_SETS:
            raise TemplateError(f"prompts {prompt_set!r}: choose one of {', '.join(PROMPT_SETS)}")
        if folder is not None and not Path(folder).is_dir():
            raise TemplateError(f"{folder}: no such template folder")
        bundled = resources.files("pandaset_build.mllm") / "templates"
        if prompt_set == "paper":
            bundled = bundled / "paper"
        texts, origins = {}, {}
        for name in TEMPLATE_NAMES:
            override = Path(folder) / f"{name}.txt" if folder is not None else None
            packaged = bundled / f"{name}.txt"
            if override is not None and override.exists():
                texts[name], origins[name] = override.read_text(), str(override)
            elif packaged.is_file():
                texts[name], origins[name] = packaged.read_text(), f"bundled:{prompt_set}/{name}"
            else:  # the extended set has no system prompts
                texts[name], origins[name] = "", f"bundled:{prompt_set}/none"
        return cls(prompt_set, texts, origins)

    @property
    def paper(self) -> bool:
        """True for the paper's formats (numbering from 1, label spellings, box formats)."""
        return self.prompt_set == "paper"

    @property
    def first_index(self) -> int:
        """The number of the first region in the prompt (and in the expected answer)."""
        return 1 if self.paper else 0

    def hashes(self) -> dict[str, str]:
        """sha256 of every template's text, by name."""
        return {name: hashlib.sha256(t.encode()).hexdigest() for name, t in self.texts.items()}

    def fill(self, name: str, values: JsonObject) -> str:
        """A template with its placeholders replaced; unknown ones raise `TemplateError`."""
        try:
            return Template(self.texts[name]).substitute(values)
        except (KeyError, ValueError) as err:
            raise TemplateError(
                f"template {self.origins[name]}: unknown or bad placeholder {err}"
            ) from err


def find_hint(hint_dir: Path, pair: PairRecord) -> Path | None:
    """The graph `{n}_{tag}_{anchor}_{target}_{exp}.json` of a pair, if there is exactly one."""
    found = []
    for path in sorted(Path(hint_dir).glob("*.json")):
        n, _, rest = path.stem.partition("_")
        if n.isdigit() and rest.startswith(pair.key + "_"):
            found.append(path)
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise UsageError(f"{hint_dir}: several graphs for {pair.key}: {names}")
    return found[0] if found else None


def _paper_box(bbox: Box) -> str:
    """Type (b) box: `[x1=0.0, y1=290.0, x2=1023.0, y2=675.0]` from an xywh box."""
    x, y, w, h = bbox
    return f"[x1={x:.1f}, y1={y:.1f}, x2={x + w:.1f}, y2={y + h:.1f}]"


def _hint_block(
    templates: Templates,
    pair: PairRecord,
    graph: DistortionGraph,
    region: PairRegion | None,
    side: str | None,
) -> str:
    """The paper set's hint: figure 5's per-region form, for every region or for one."""
    hints: dict[int, RegionHint] = region_hints(pair, graph)
    if region is None:
        lines = [f"{i + templates.first_index}. {hints[i].text()}" for i in sorted(hints)]
        focus = ""
    else:
        lines = [hints[region.index].text()] if region.index in hints else []
        focus = f" The images of this request show the region in {IMAGE_NAMES[side or 'anchor']}."
    if not lines:
        return ""
    return templates.fill("hint", {"regions": "\n".join(lines), "focus": focus})


def hint_text(
    templates: Templates,
    pair: PairRecord,
    graph: DistortionGraph | None,
    region: PairRegion | None = None,
    side: str | None = None,
) -> str:
    """The rendered hint block, or nothing without a graph."""
    if graph is None:
        return ""
    if templates.paper:
        return _hint_block(templates, pair, graph, region, side)
    focus = ""
    if region is not None and side is not None:
        number = SIDES.index(side) + 1
        focus = f' Here you judge region {region.index} ("{region.label}") in image "{number}".'
    return templates.fill("hint", {"graph": json.dumps(graph), "focus": focus})


def paper_pair_values(regions: Sequence[tuple[str, Box]]) -> JsonObject:
    """Placeholder values of the paper's type (b) templates for regions (name, xywh box)."""
    lines = [
        f"{i}. Region: {name} | Box: {_paper_box(box)}" for i, (name, box) in enumerate(regions, 1)
    ]
    return {
        "count": len(regions),
        "regions": "\n".join(lines),
        "distortions": paper.distortion_list(),
        "severities": paper.severity_number_list(),
        "comparisons": paper.comparison_dict(),
        "comparison_names": paper.as_list(paper.COMPARISONS),
    }


def paper_pair_texts(regions: Sequence[tuple[str, Box]]) -> tuple[str, str]:
    """The paper's type (b) system and user texts, without a hint, for regions (name, box)."""
    templates = Templates.load(None, "paper")
    values = paper_pair_values(regions)
    return templates.fill("pair_system", values), templates.fill("pair", {**values, "hint": ""})


def _pair_values(templates: Templates, pair: PairRecord) -> JsonObject:
    """Placeholder values of the type (b) templates."""
    count = len(pair.regions)
    if templates.paper:
        return paper_pair_values([(r.name, r.bbox) for r in pair.regions])
    width, height = open_rgb(pair.anchor_image).size
    lines = [f"{r.index}: {r.label}, box {[round(v) for v in r.bbox]}" for r in pair.regions]
    return {
        "count": count,
        "width": width,
        "height": height,
        "regions": "\n".join(lines),
        "distortions": ", ".join(vocab.DISTORTIONS),
        "severities": SEVERITY_TEXT,
        "comparisons": ", ".join(vocab.COMPARISONS),
        "comparison_names": ", ".join(vocab.COMPARISONS),
    }


def pair_prompt(
    templates: Templates, n: int, pair: PairRecord, graph: DistortionGraph | None = None
) -> Prompt:
    """Type (b): image A (anchor) then image B (target), every region's name and box."""
    values = _pair_values(templates, pair)
    text = templates.fill("pair", {**values, "hint": hint_text(templates, pair, graph)})
    system = templates.fill("pair_system", values)
    return Prompt(n, None, None, text, [pair.anchor_image, pair.target_image], system)


def _region_values(templates: Templates, region: PairRegion, image: bytes) -> JsonObject:
    """Placeholder values of the type (a) templates."""
    if templates.paper:
        box = list(box_pixels(region.bbox, *open_rgb(image).size))
        return {
            "name": region.name,
            "box": str(box),
            "distortions": paper.distortion_list(),
            "severities": paper.severity_word_list(),
        }
    return {
        "name": region.label,
        "index": region.index,
        "distortions": ", ".join(vocab.DISTORTIONS),
        "severities": SEVERITY_TEXT,
    }


def region_prompts(
    templates: Templates, n: int, pair: PairRecord, graph: DistortionGraph | None = None
) -> list[Prompt]:
    """Type (a): one request per region and image, with the crop of the region's box, then the
    full image dimmed outside the region (its box for `paper`, its mask for `extended`) and the
    box outlined in red."""
    prompts = []
    system = templates.fill("region_system", {})
    for region in pair.regions:
        for side in SIDES:
            image = pair.image(side)
            mask = None if templates.paper else region.mask
            crop, context = region_views(image, region.bbox, mask)
            values = {**_region_values(templates, region, image), "side": side}
            values["hint"] = hint_text(templates, pair, graph, region, side)
            text = templates.fill("region", values)
            prompts.append(Prompt(n, region.index, side, text, [crop, context], system))
    return prompts


def prompts_for(
    templates: Templates,
    prompt_type: PromptType,
    n: int,
    pair: PairRecord,
    graph: DistortionGraph | None = None,
) -> list[Prompt]:
    """Every request a pair needs with the chosen prompt type (none when it has no regions)."""
    if not pair.regions:
        return []
    if prompt_type == "pair":
        return [pair_prompt(templates, n, pair, graph)]
    return region_prompts(templates, n, pair, graph)
