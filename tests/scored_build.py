"""A synthetic scored build written directly (sources, plans, scores, version PNGs)."""

from __future__ import annotations

import io
import itertools
import json
from pathlib import Path

import numpy as np
from conftest import write_recipe
from datasets import Dataset, load_dataset
from PIL import Image

from pandaset_build.config import vocab
from pandaset_build.store.build import Build, open_build
from pandaset_build.store.masks import encode_mask
from pandaset_build.store.tables import PLANS, SCORES, SOURCES, write_table

SHARD = 16


def strip_masks(regions: int, size: int) -> list[np.ndarray]:
    """`regions` horizontal strips covering the frame but the last two columns."""
    cuts = np.linspace(0, size, regions + 1).astype(int)
    masks = []
    for top, bottom in itertools.pairwise(cuts):
        mask = np.zeros((size, size), dtype=bool)
        mask[top:bottom, : size - 2] = True
        masks.append(mask)
    return masks


def source_row(tag: str, split: str, path: Path, masks: list[np.ndarray]) -> dict:
    psg = not tag.startswith("seagull_")
    regions = []
    for i, mask in enumerate(masks):
        ys, xs = np.nonzero(mask)
        regions.append(
            {
                "region_id": i,
                "name": f"thing{i}",
                "category_id": i + 1 if psg else -1,
                "isthing": i % 2 == 0,
                "bbox": [
                    float(xs.min()),
                    float(ys.min()),
                    float(np.ptp(xs) + 1),
                    float(np.ptp(ys) + 1),
                ],
                "mask": encode_mask(mask),
                "area": int(mask.sum()),
                "description": f"region {i} of {tag}",
                "iscrowd": psg and i == 1,
            }
        )
    size = masks[0].shape
    return {
        "tag": tag,
        "source": "psg" if psg else "seagull",
        "split": split,
        "width": size[1],
        "height": size[0],
        "image_path": str(path),
        "depth_path": None,
        "isp_path": None,
        "isp_degradations": [],
        "isp_flags": [],
        "regions": regions,
        "relations": [{"subject": 0, "object": 1, "predicate": "on", "predicate_id": 3}]
        if psg
        else [],
    }


def plan_rows(tag: str, version: str, regions: int, rng: np.random.Generator) -> list[dict]:
    rows = []
    for i in range(regions):
        clean = rng.random() < 0.2
        family = str(rng.choice(vocab.FAMILIES)) if version in vocab.MIXED_VERSIONS else version
        severity = "clean" if clean else str(rng.choice(vocab.SEVERITIES[1:]))
        rows.append(
            {
                "tag": tag,
                "version": version,
                "region_id": i,
                "distortion": "clean" if clean else family,
                "subtype": "" if clean else vocab.SUBTYPES[family][0],
                "severity": severity,
                "level": vocab.SEVERITIES.index(severity),
                "params": "{}" if clean else json.dumps({"sigma": 1.5}),
                "seed": int(rng.integers(2**31)),
                "isp": False,
            }
        )
    return rows


def png_bytes(image: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="PNG")
    return out.getvalue()


def make_scored_build(
    tmp_path: Path,
    tags_by_split: dict[str, list[str]],
    regions: int = 3,
    size: int = 32,
    seed: int = 0,
    **recipe: object,
) -> Build:
    """A build whose stages ingest/distort/score are replaced by generated files."""
    recipe_path = write_recipe(tmp_path / "synthetic.yaml", shard_size=SHARD, **recipe)
    build = open_build(tmp_path / "build", recipe_path)
    rng = np.random.default_rng(seed)
    split_of = {tag: split for split, tags in tags_by_split.items() for tag in tags}
    masks = strip_masks(regions, size)
    sources, all_tags = [], sorted(split_of)
    (tmp_path / "images").mkdir(exist_ok=True)
    for start in range(0, len(all_tags), SHARD):
        plans, scores = [], []
        for tag in all_tags[start : start + SHARD]:
            split = split_of[tag]
            clean = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            path = tmp_path / "images" / tag
            Image.fromarray(clean).save(path)
            sources.append(source_row(tag, split, path, masks))
            for version in build.recipe.versions:
                plans.extend(plan_rows(tag, version, regions, rng))
                noisy = np.clip(clean + rng.integers(-20, 20, clean.shape), 0, 255)
                out = build.layout.version_image(version, split, tag)
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(png_bytes(noisy.astype(np.uint8)))
                for region_id in [None, *range(regions)]:
                    scores.append(
                        {
                            "tag": tag,
                            "split": split,
                            "version": version,
                            "region_id": region_id,
                            "score": float(rng.random()),
                            "metric": "ssim",
                            "pyiqa_version": "0.1.14",
                            "weights": "",
                            "precision": "fp32",
                            "device": "cpu: fixture",
                            "torch_version": "2.0",
                            "weights_sha256": "0" * 64,
                            "batch_size": 16,
                        }
                    )
        name = f"{start // SHARD:05d}.parquet"
        write_table(build.layout.plans / name, plans, PLANS)
        write_table(build.layout.scores / name, scores, SCORES)
    for source in ("psg", "seagull"):
        rows = [row for row in sources if row["source"] == source]
        if rows:
            write_table(build.layout.source_shard(source, "00000"), rows, SOURCES)
    return build


def load_split(folder: Path, config: str | None, split: str, cache: Path) -> Dataset:
    """`datasets.load_dataset` of an exported folder with a private cache (no stale hits)."""
    return load_dataset(str(folder), config, split=split, cache_dir=str(cache))
