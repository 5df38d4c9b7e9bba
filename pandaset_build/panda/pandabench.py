"""`PairSource` over the published PandaBench folder layout (reference/panda_published.md §1-2)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pandaset_build.config.vocab import DISTORTION_ID, MIXED_VERSIONS
from pandaset_build.errors import InputNotFound
from pandaset_build.panda.records import PairRecord, RegionLabels

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


def enumerate_pairs(
    versions: Sequence[str], tags: Sequence[str], mode: Literal["all", "hard"]
) -> list[Triple]:
    """Every ordered version pair per tag (`all`), or only (mixed, mixed2) both ways (`hard`)."""
    pool = versions if mode == "all" else [v for v in versions if v in MIXED_VERSIONS]
    return [(a, t, tag) for tag in tags for a, t in itertools.permutations(pool, 2)]


def _region(raw: dict[str, Any]) -> RegionLabels:
    """A stats-file region entry as `RegionLabels`."""
    return RegionLabels(
        mask=raw.get("segmentation_mask"),
        bbox=raw.get("bbox"),
        distortion=DISTORTION_ID[raw["degradation"]],
        severity=int(raw["severity"]),
        score=float(raw["score_fr"]),
    )


class PandaBenchSource:
    """Pairs of one split of a PandaBench root: `all` (train/val), `hard`, or explicit triples."""

    def __init__(
        self, root: str | Path, split: str, pairs: Literal["all", "hard"] | Sequence[Triple] = "all"
    ) -> None:
        self.root, self.split = Path(root), split
        if isinstance(pairs, str):
            self.pairs = enumerate_pairs(
                list_versions(self.root), list_tags(self.root, split), pairs
            )
        else:
            self.pairs = [tuple(p) for p in pairs]
        self._stats: dict[str, dict[str, Any]] = {}

    def _load_stats(self, version: str) -> dict[str, Any]:
        """One version's stats JSON, loaded whole once."""
        if version not in self._stats:
            path = self.root / "stats" / f"{self.split}_stats_{version}.json"
            if not path.is_file():
                raise InputNotFound(f"{path} is missing: every version needs a stats file")
            self._stats[version] = json.loads(path.read_text())
        return self._stats[version]

    def _entry(self, version: str, tag: str) -> dict[str, Any]:
        """The stats entry of `tag` in `version`."""
        stats = self._load_stats(version)
        if tag not in stats:
            raise KeyError(f"{tag} has no entry in stats/{self.split}_stats_{version}.json")
        return stats[tag]

    def __len__(self) -> int:
        """Number of pairs."""
        return len(self.pairs)

    def __getitem__(self, index: int) -> PairRecord:
        """The pair at `index`, read from the stats files."""
        anchor, target, tag = self.pairs[index]
        a, t = self._entry(anchor, tag), self._entry(target, tag)
        relations = a.get("relations") or []
        return PairRecord(
            tag=tag,
            anchor_version=anchor,
            target_version=target,
            anchor_image=self.root / anchor / self.split / tag,
            target_image=self.root / target / self.split / tag,
            anchor_score=float(a["score_fr"]),
            target_score=float(t["score_fr"]),
            anchor_regions=[_region(r) for r in a["regions"]],
            target_regions=[_region(r) for r in t["regions"]],
            names=[r.get("name", "") for r in a["regions"]],
            descriptions=[r.get("description") or "" for r in a["regions"]],
            relations=[list(map(int, rel)) for rel in (relations[0] if relations else [])],
        )
