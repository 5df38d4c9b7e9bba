"""A tiny PandaBench-layout dataset and a tiny PANDA config, generated for tests."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from pandaset_build.config.panda import PandaConfig
from pandaset_build.config.vocab import DISTORTIONS, VERSIONS

torch.set_num_threads(1)  # tests share few cores with other processes: avoid oversubscription

H, W, SIZE = 40, 64, 56  # source image size, model image size
TAGS = ("a.png", "b.png", "empty.png")  # "empty.png" keeps no region at all


def uncompressed_rle(mask: np.ndarray) -> dict:
    """COCO uncompressed RLE: column-major runs, starting with zeros."""
    flat = mask.flatten(order="F").astype(np.uint8)
    changes = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat[0] == 1:
        counts = [0, *counts]
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": [int(c) for c in counts]}


def vanishing_pixel() -> tuple[int, int]:
    """A pixel whose single-pixel mask is empty after the nearest resize to SIZE."""
    for y in range(H):
        for x in range(W):
            m = np.zeros((H, W), np.uint8)
            m[y, x] = 1
            if not cv2.resize(m, (SIZE, SIZE), interpolation=cv2.INTER_NEAREST).any():
                return y, x
    raise AssertionError("no vanishing pixel")


def region_masks() -> list[np.ndarray]:
    """Four regions: left half, top right, a vanishing pixel, bottom right."""
    masks = [np.zeros((H, W), np.uint8) for _ in range(4)]
    masks[0][:, : W // 2] = 1
    masks[1][: H // 2, W // 2 :] = 1
    masks[2][vanishing_pixel()] = 1
    masks[3][H // 2 :, W // 2 :] = 1
    return masks


def region_score(v: int, tag: int, i: int) -> float:
    """Deterministic region score spread over [0, 1]."""
    return round(((v * 7 + tag * 3 + i * 5) % 16) / 15, 3)


def build_tiny_bench(root: Path, splits: tuple[str, ...] = ("train", "test")) -> Path:
    """Write 16 versions x TAGS per split, gt/, depth/ and stats with uncompressed RLE."""
    rng = np.random.default_rng(0)
    masks = region_masks()
    (root / "depth").mkdir(parents=True)
    for split in splits:
        (root / "gt" / split).mkdir(parents=True)
        for tag in TAGS:
            Image.fromarray(rng.integers(0, 255, (H, W, 3), np.uint8)).save(
                root / "gt" / split / tag
            )
        for v, version in enumerate(VERSIONS):
            (root / version / split).mkdir(parents=True)
            stats = {}
            for t, tag in enumerate(TAGS):
                image = rng.integers(0, 255, (H, W, 3), np.uint8)
                Image.fromarray(image).save(root / version / split / tag)
                regions = []
                for i, m in enumerate(masks):
                    region = {
                        "segmentation_mask": uncompressed_rle(m),
                        "bbox": [0, 0, 4, 4],
                        "name": f"obj{i}",
                        "severity": (v + i) % 4,
                        "score_fr": region_score(v, t, i),
                        "degradation": DISTORTIONS[(v + i) % len(DISTORTIONS)],
                    }
                    if i == 1 and version == "mixed2":
                        region["segmentation_mask"] = None
                    if i == 3 and version == "blur":
                        region["bbox"] = None
                    if tag == "empty.png" and i != 2:
                        region["segmentation_mask"] = None
                    regions.append(region)
                stats[tag] = {
                    "score_fr": round(v * 0.07, 3),
                    "relations": [[[0, 1, 3], [2, 0, 5], [1, 3, 7], [3, 0, 9]]],
                    "regions": regions,
                }
            path = root / "stats" / f"{split}_stats_{version}.json"
            path.parent.mkdir(exist_ok=True)
            path.write_text(json.dumps(stats))
    return root


def tiny_config(**train: object) -> PandaConfig:
    """A 2-block, 32-dim PANDA on 56 x 56 inputs with a 1-block timm stand-in backbone."""
    return PandaConfig.model_validate(
        {
            "model": {
                "image_size": SIZE,
                "dim": 32,
                "projector_dim": 64,
                "ffn_dim": 64,
                "blocks": 2,
                "heads": 2,
                "num_tokens": 8,
                "head_dims": [16, 8],
                "backbone_kwargs": {"embed_dim": 32, "depth": 1, "num_heads": 2},
            },
            "train": {"epochs": 2, "batch_size": 4, "num_workers": 0, "val_every": 0, **train},
        }
    )
