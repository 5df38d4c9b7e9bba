"""Shared fixtures: small generated datasets and recipes, made on the fly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image


def make_folder_dataset(root: Path, count: int, size: int = 64, seed: int = 0) -> Path:
    """`root/images/*.png` photos of noise and `root/masks/*.png` with 2-5 block regions each."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    for i in range(count):
        image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        ids = np.zeros((size, size), dtype=np.uint8)
        cuts = np.sort(
            rng.choice(np.arange(4, size - 4), size=int(rng.integers(1, 5)), replace=False)
        )
        for region, (top, bottom) in enumerate(zip([0, *cuts], [*cuts, size], strict=True), 1):
            ids[top:bottom, : size - 3] = region
        Image.fromarray(image).save(root / "images" / f"img{i:04d}.png")
        Image.fromarray(ids, mode="L").save(root / "masks" / f"img{i:04d}.png")
    return root


def write_recipe(path: Path, **overrides: object) -> Path:
    """A recipe extending quickstart with top-level overrides."""
    path.write_text(yaml.safe_dump({"extends": "quickstart", "name": path.stem, **overrides}))
    return path


@pytest.fixture
def folder_dataset(tmp_path: Path) -> Path:
    return make_folder_dataset(tmp_path / "folder", count=12)
