"""Ordered version pairs of an image: comparison labels, score differences, difficulty class."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pandaset_build.config import vocab
from pandaset_build.config.recipe import Comparison
from pandaset_build.store.scored import ScoredBuild, ScoredImage

DIFFICULTIES: tuple[str, ...] = ("easy", "medium", "hard")


def compare(d: float, rule: Comparison) -> int:
    """Comparison id of anchor minus target score `d` (the published loader's rule)."""
    if abs(d) < rule.same_below:
        name = "same"
    elif abs(d) < rule.significant_from:
        name = "slightly_better" if d > 0 else "slightly_worse"
    else:
        name = "significantly_better" if d > 0 else "significantly_worse"
    return vocab.COMPARISON_ID[name]


def difficulty(anchor: str, target: str) -> str:
    """easy: both single-family; medium: exactly one mixed; hard: both mixed."""
    mixed = (anchor in vocab.MIXED_VERSIONS) + (target in vocab.MIXED_VERSIONS)
    return DIFFICULTIES[mixed]


@dataclass(frozen=True)
class RegionComparison:
    region_id: int
    comparison: int
    score_diff: float


@dataclass(frozen=True)
class Pair:
    tag: str
    split: str
    anchor: str
    target: str
    difficulty: str
    image_comparison: int
    image_score_diff: float
    regions: tuple[RegionComparison, ...]


def make_pair(image: ScoredImage, anchor: str, target: str, rule: Comparison) -> Pair:
    """The pair (anchor, target) of one image, regions matched by index."""
    diffs = [
        a - t for a, t in zip(image.region_scores[anchor], image.region_scores[target], strict=True)
    ]
    image_diff = image.image_scores[anchor] - image.image_scores[target]
    return Pair(
        tag=image.tag,
        split=image.split,
        anchor=anchor,
        target=target,
        difficulty=difficulty(anchor, target),
        image_comparison=compare(image_diff, rule),
        image_score_diff=image_diff,
        regions=tuple(
            RegionComparison(region.region_id, compare(d, rule), d)
            for region, d in zip(image.source.regions, diffs, strict=True)
        ),
    )


def image_pairs(image: ScoredImage, versions: list[str], rule: Comparison) -> Iterator[Pair]:
    """Every ordered pair of distinct versions, anchor-major in recipe version order."""
    for anchor in versions:
        for target in versions:
            if anchor != target:
                yield make_pair(image, anchor, target, rule)


def iter_pairs(scored: ScoredBuild, split: str | None = None) -> Iterator[Pair]:
    """All pairs of a build (or one split), streamed image by image."""
    rule = scored.build.recipe.comparison
    for image in scored.iter_images(split):
        yield from image_pairs(image, scored.versions, rule)
