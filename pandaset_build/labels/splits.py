"""Seeded, stable split assignment and split manifests."""

from __future__ import annotations

import hashlib

from pandaset_build.config.manifests import read_manifest_json, resolve_manifest_path
from pandaset_build.config.recipe import Recipe
from pandaset_build.errors import ManifestError


def tag_unit(seed: int, tag: str) -> float:
    """A uniform number in [0, 1) fixed by (seed, tag): stable when other images are added."""
    digest = hashlib.sha256(f"{seed}:{tag}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def load_split_manifest(name_or_path: str) -> dict[str, str]:
    """Tag -> split from a manifest file holding `{"splits": {split: [tags]}}`."""
    path = resolve_manifest_path(name_or_path)
    data = read_manifest_json(path)
    splits = data.get("splits") if isinstance(data, dict) else None
    if not isinstance(splits, dict):
        raise ManifestError(f"{path}: a split manifest needs a 'splits' mapping of split -> tags")
    return {tag: split for split, tags in splits.items() for tag in tags}


class SplitRule:
    """Split of a tag: the manifest's if it names the tag, else the seeded fraction rule."""

    def __init__(self, recipe: Recipe) -> None:
        self.seed = recipe.seed
        self.use_source_splits = recipe.use_source_splits
        self.manifest = load_split_manifest(recipe.split_manifest) if recipe.split_manifest else {}
        manifest_splits = set(self.manifest.values())
        fractions = {
            name: f for name, f in recipe.split_fractions.items() if name not in manifest_splits
        }
        total = sum(fractions.values())
        self.fractions = {name: f / total for name, f in fractions.items()} if total else {}
        self.names = set(recipe.splits)

    def __call__(self, tag: str, source_split: str = "") -> str:
        if tag in self.manifest:
            return self.manifest[tag]
        if self.use_source_splits and source_split in self.names:
            return source_split
        u = tag_unit(self.seed, tag)
        cumulative = 0.0
        last = ""
        for name, fraction in self.fractions.items():
            if fraction <= 0:
                continue
            cumulative += fraction
            last = name
            if u < cumulative:
                return name
        return last


def count_shortfall(recipe: Recipe, images: int) -> str | None:
    """A warning when the recipe's split counts ask for more images than the build holds.

    Counts are used as fractions, so the build still splits; but a split may get no image, and
    split-bench stops on an empty test split: the warning says what to change first.
    """
    if not any(size > 1 for size in recipe.splits.values()):
        return None
    wanted = round(sum(recipe.splits.values()))
    if wanted <= images:
        return None
    asked = ", ".join(f"{name} {size:g}" for name, size in recipe.splits.items())
    return (
        f"recipe {recipe.name!r}: splits ask for {wanted} images ({asked}) but the build holds "
        f"{images}; the counts are used as fractions, so a split may get no image: lower the "
        "counts (or give fractions) and rebuild with --restart, or ingest more images"
    )
