"""The generated dataset card (README.md): YAML configs and features, how the build was made."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from datasets import Features

from pandaset_build import __version__
from pandaset_build.formats.features import CONFIGS
from pandaset_build.labels.stats import LabelStats
from pandaset_build.store.atomic import write_bytes_atomic
from pandaset_build.store.build import Build
from pandaset_build.store.scored import ScoredBuild

LICENCE = """\
## Licences

- **PSG / COCO**: the panoptic and scene-graph annotations are CC BY 4.0; the images are Flickr
  photos under their own licences (see the COCO terms of use).
- **Seagull-100w** (and RAISE, its image source): redistributed under their own terms; check them
  before sharing derived images.
- **Scores**: TOPIQ weights and pyiqa are released under the PolyForm Noncommercial licence 1.0.0;
  scores made with them inherit that restriction for commercial use.
"""


def card_yaml(configs: dict[str, Features], splits: dict[str, list[str]]) -> dict[str, Any]:
    """Front matter: one `configs` entry per configuration (the first is the default)."""
    entries = []
    for i, config in enumerate(configs):
        entry: dict[str, Any] = {"config_name": config}
        if i == 0:
            entry["default"] = True
        entry["data_files"] = [
            {"split": split, "path": f"data/{config}/{split}-*.parquet"} for split in splits[config]
        ]
        entries.append(entry)
    info = [
        {"config_name": config, "features": features._to_yaml_list()}
        for config, features in configs.items()
    ]
    return {"configs": entries, "dataset_info": info}


def front_matter(data: dict[str, Any]) -> str:
    return "---\n" + yaml.safe_dump(data, sort_keys=False) + "---\n"


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def counts_section(rows: dict[str, dict[str, int]], stats: dict[str, Any]) -> str:
    splits = list(stats["images"])
    text = "## Counts\n\n"
    text += markdown_table(
        ["configuration", *splits],
        [[c, *(per.get(s, 0) for s in splits)] for c, per in rows.items()],
    )
    for key, title in (
        ("regions_per_distortion", "Regions per distortion (over all versions)"),
        ("regions_per_severity", "Regions per severity (over all versions)"),
        ("region_comparisons", "Region comparisons over all ordered pairs"),
        ("pairs_per_difficulty", "Pairs per difficulty class"),
    ):
        names = list(next(iter(stats[key].values()), {}))
        text += f"\n### {title}\n\n"
        text += markdown_table(
            ["label", *splits], [[n, *(stats[key][s][n] for s in splits)] for n in names]
        )
    return text


def card_text(
    build: Build, scored: ScoredBuild, rows: dict[str, dict[str, int]], stats: LabelStats
) -> str:
    recipe = build.recipe
    identity = scored.score_identity()
    summary = stats.to_json(scored.splits)
    splits = {config: list(per_split) for config, per_split in rows.items()}
    body = f"""
# PandaSet build `{recipe.name}`

Region-level pairwise image-quality data made by pandaset-build {__version__}: every image is
rendered in {len(scored.versions)} versions ({", ".join(scored.versions)}); every region of every
version carries a distortion label, sub-type, severity, parameters and a full-reference score;
every ordered pair of versions of an image gets per-region comparison labels.

## How it was built

- Recipe: `{recipe.name}`, SHA-256 `{recipe.digest()}`, seed {recipe.seed}
- Metric: {", ".join(identity["metric"])}; pyiqa {", ".join(identity["pyiqa_version"])};
  weights: {", ".join(w or "(pyiqa default)" for w in identity["weights"])}
- Scores: each region is cropped to its box in the version and the reference, with reference
  pixels outside its mask; the metric runs at native size (it is not resolution-invariant).
- Comparison of anchor A and target T from d = s_A - s_T: |d| < {recipe.comparison.same_below}
  same; |d| < {recipe.comparison.significant_from} slightly better / worse by sign; else
  significantly better / worse.
- Difficulty: easy (both versions single-family), medium (exactly one of `mixed`, `mixed2`),
  hard (`mixed` and `mixed2`).

## Configurations

- `references`: one row per image: the clean reference (original file bytes), its regions
  (COCO xywh boxes, COCO compressed RLE masks) and scene relations.
- `versions`: one row per image and version: the stored lossless PNG (the scored pixels), the
  image score, per region its distortion, sub-type, severity, DepictQA level, parameters (JSON)
  and score. Regions are matched across versions by index (`region_id`).
- `pairs`: one row per ordered pair of versions: difficulty, image comparison, per region the
  comparison label and score difference.

```python
from datasets import load_dataset
pairs = load_dataset("path/to/export/hf", "pairs", split="{next(iter(summary["images"]), "train")}")
```

Label ids follow the published PANDA code: distortion, severity and comparison `ClassLabel`s.

{counts_section(rows, summary)}
```json
{json.dumps(summary["comparison_shares"], indent=1)}
```

{LICENCE}"""
    return front_matter(card_yaml(CONFIGS, splits)) + body


def write_card(
    path: Path,
    build: Build,
    scored: ScoredBuild,
    rows: dict[str, dict[str, int]],
    stats: LabelStats,
) -> None:
    """Write the card README.md atomically."""
    write_bytes_atomic(path, card_text(build, scored, rows, stats).encode())
