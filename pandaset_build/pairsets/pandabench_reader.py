"""Pairs of one split of the published PandaBench folder layout (`export --layout pandabench`).

The layout stores no comparisons: as the published loader does, they come from the region score
differences, with the thresholds the export's manifest records (the build's own), or the
published 0.1 / 0.3 for a folder without one (the released PandaBench).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from pathlib import Path

from pandaset_build.config.recipe import Comparison
from pandaset_build.config.vocab import DISTORTION_ID, MIXED_VERSIONS, NO_CATEGORY
from pandaset_build.errors import InputNotFound
from pandaset_build.formats.manifest import find_manifest
from pandaset_build.labels.pairs import compare
from pandaset_build.pairsets.record import (
    PairRecord,
    PairRegion,
    SideLabels,
    read_predicate_classes,
)
from pandaset_build.store.predicates import PREDICATE_FILE
from pandaset_build.store.records import Row

NON_VERSION_FOLDERS = frozenset({"stats", "depth", "gt"})
Triple = tuple[str, str, str]  # (anchor version, target version, tag)


def list_versions(root: Path) -> list[str]:
    """Pairable versions: every root folder except stats, depth and gt, sorted."""
    return sorted(
        p.name for p in root.iterdir() if p.is_dir() and p.name not in NON_VERSION_FOLDERS
    )


def list_tags(root: Path, split: str) -> list[str]:
    """A split's image tags, from the file names in `gt/<split>/`, sorted."""
    folder = root / "gt" / split
    if not folder.is_dir():
        raise InputNotFound(f"{folder} is missing: the split's tags are read from gt/{split}/")
    return sorted(p.name for p in folder.iterdir())


def enumerate_pairs(versions: Sequence[str], tags: Sequence[str], mode: str) -> list[Triple]:
    """Every ordered version pair per tag (`all`), or only (mixed, mixed2) both ways (`hard`)."""
    pool = versions if mode == "all" else [v for v in versions if v in MIXED_VERSIONS]
    return [(a, t, tag) for tag in tags for a, t in itertools.permutations(pool, 2)]


def _labels(raw: Row) -> SideLabels:
    return SideLabels(
        DISTORTION_ID[raw["degradation"]], int(raw["severity"]), float(raw["score_fr"])
    )


class PandaBenchSource:
    """Pairs of one split of a PandaBench root: `all` (train/val), `hard`, or explicit triples."""

    def __init__(self, root: str | Path, split: str, pairs: str | Sequence[Triple] = "all") -> None:
        self.root, self.split = Path(root), split
        if isinstance(pairs, str):
            self.pairs = enumerate_pairs(
                list_versions(self.root), list_tags(self.root, split), pairs
            )
        else:
            self.pairs = [tuple(p) for p in pairs]
        manifest = find_manifest(self.root)
        same, significant = manifest.thresholds if manifest else (0.1, 0.3)
        self.rule = Comparison(same_below=same, significant_from=significant)
        self._stats: dict[str, dict[str, Row]] = {}
        self.predicate_classes = read_predicate_classes(self.root / "stats" / PREDICATE_FILE)

    def _load_stats(self, version: str) -> dict[str, Row]:
        """One version's stats JSON, loaded whole once."""
        if version not in self._stats:
            path = self.root / "stats" / f"{self.split}_stats_{version}.json"
            if not path.is_file():
                raise InputNotFound(f"{path} is missing: every version needs a stats file")
            self._stats[version] = json.loads(path.read_text())
        return self._stats[version]

    def _entry(self, version: str, tag: str) -> Row:
        """The stats entry of `tag` in `version`."""
        stats = self._load_stats(version)
        if tag not in stats:
            raise InputNotFound(f"{tag} has no entry in stats/{self.split}_stats_{version}.json")
        return stats[tag]

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> PairRecord:
        """The pair at `index`, read from the stats files."""
        anchor, target, tag = self.pairs[index]
        a, t = self._entry(anchor, tag), self._entry(target, tag)
        regions = []
        for i, (ra, rt) in enumerate(zip(a["regions"], t["regions"], strict=True)):
            present = all(
                r.get(k) is not None for r in (ra, rt) for k in ("segmentation_mask", "bbox")
            )
            la, lt = _labels(ra), _labels(rt)
            regions.append(
                PairRegion(
                    index=i,
                    name=ra.get("name", ""),
                    bbox=tuple(ra["bbox"]) if present else None,  # type: ignore[arg-type]
                    mask=ra["segmentation_mask"] if present else None,
                    anchor=la,
                    target=lt,
                    comparison=compare(la.score - lt.score, self.rule),
                    description=ra.get("description") or "",
                    category_id=int(ra.get("category_id", NO_CATEGORY)),
                )
            )
        relations = a.get("relations") or []
        return PairRecord(
            tag=tag,
            anchor_version=anchor,
            target_version=target,
            anchor_image=self.root / anchor / self.split / tag,
            target_image=self.root / target / self.split / tag,
            anchor_score=float(a["score_fr"]),
            target_score=float(t["score_fr"]),
            image_comparison=compare(float(a["score_fr"]) - float(t["score_fr"]), self.rule),
            regions=regions,
            relations=[list(map(int, rel)) for rel in (relations[0] if relations else [])],
        )
