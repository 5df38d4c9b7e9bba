"""Label statistics of a build (the paper's figure 6), accumulated image by image."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from pandaset_build.config import vocab
from pandaset_build.json_types import JsonObject
from pandaset_build.labels.pairs import DIFFICULTIES, Pair
from pandaset_build.store.scored import ScoredImage


def _counters() -> defaultdict[str, Counter[str]]:
    return defaultdict(Counter)


@dataclass
class LabelStats:
    """Per split: images, regions per distortion and severity, pair and comparison counts."""

    images: Counter[str] = field(default_factory=Counter)
    distortions: defaultdict[str, Counter[str]] = field(default_factory=_counters)
    severities: defaultdict[str, Counter[str]] = field(default_factory=_counters)
    comparisons: defaultdict[str, Counter[str]] = field(default_factory=_counters)
    difficulties: defaultdict[str, Counter[str]] = field(default_factory=_counters)

    def add_image(self, image: ScoredImage) -> None:
        self.images[image.split] += 1
        for plans in image.plans.values():
            for plan in plans:
                self.distortions[image.split][plan.distortion] += 1
                self.severities[image.split][plan.severity] += 1

    def add_pair(self, pair: Pair) -> None:
        self.difficulties[pair.split][pair.difficulty] += 1
        for region in pair.regions:
            self.comparisons[pair.split][vocab.COMPARISONS[region.comparison]] += 1

    def to_json(self, splits: list[str]) -> JsonObject:
        """Counts in vocabulary order per split (in the given order), comparison shares."""
        present = [s for s in splits if s in self.images]

        def ordered(counters: dict[str, Counter[str]], names: tuple[str, ...]) -> JsonObject:
            return {s: {n: counters[s][n] for n in names} for s in present}

        shares = {}
        for split in present:
            total = sum(self.comparisons[split].values()) or 1
            shares[split] = {n: self.comparisons[split][n] / total for n in vocab.COMPARISONS}
        return {
            "images": {s: self.images[s] for s in present},
            "regions_per_distortion": ordered(self.distortions, vocab.DISTORTIONS),
            "regions_per_severity": ordered(self.severities, vocab.SEVERITIES),
            "region_comparisons": ordered(self.comparisons, vocab.COMPARISONS),
            "comparison_shares": shares,
            "pairs_per_difficulty": ordered(self.difficulties, DIFFICULTIES),
        }
