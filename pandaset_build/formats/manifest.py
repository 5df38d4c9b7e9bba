"""`.export.json`: the manifest each export and bench folder gets last, once it is complete.

It says what the folder is (its layout), what made it (tool version, recipe hash, the comparison
thresholds of its labels, the SHA-256 of every score shard it read), what it holds (every file
with its size, rows per table and split). It has no timestamps: the same build exports the same
bytes. Readers dispatch on it (`pairsets.open_pairs`) and `publish`
uses it to refuse missing, incomplete or stale exports.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pandaset_build import __version__
from pandaset_build.errors import InputNotFound
from pandaset_build.store.atomic import write_json_atomic
from pandaset_build.store.build import Build
from pandaset_build.store.fingerprints import file_sha256
from pandaset_build.store.tables import parquet_files

MANIFEST = ".export.json"
LAYOUTS = ("hf", "pandabench", "llava", "bench")
Rows = dict[str, dict[str, int]]  # table -> split -> rows


@dataclass(frozen=True)
class FolderManifest:
    """What one export or bench folder is and holds."""

    layout: str
    recipe_hash: str
    scores: dict[str, str]
    files: dict[str, int]
    version: str = ""
    rows: Rows = field(default_factory=dict)
    same_below: float = 0.1
    significant_from: float = 0.3

    @property
    def thresholds(self) -> tuple[float, float]:
        """The comparison thresholds the folder's labels were made with."""
        return self.same_below, self.significant_from


def score_digests(build: Build) -> dict[str, str]:
    """Score shard name -> SHA-256 of its bytes: what an export was made from."""
    return {p.name: file_sha256(p) for p in parquet_files(build.layout.scores)}


def manifest_path(folder: Path, layout: str) -> Path:
    """Where a layout keeps its manifest: `stats/` for pandabench, whose loader takes every root
    entry for a version; the folder itself otherwise."""
    return folder / "stats" / MANIFEST if layout == "pandabench" else folder / MANIFEST


def write_manifest(folder: Path, build: Build, layout: str, rows: Rows | None = None) -> None:
    """Record every file of `folder` (relative path -> size) with what made it; write it last."""
    files = {
        p.relative_to(folder).as_posix(): p.stat().st_size
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }
    comparison = build.recipe.comparison
    manifest = FolderManifest(
        layout=layout,
        recipe_hash=build.recipe.digest(),
        scores=score_digests(build),
        files=files,
        version=__version__,
        rows=rows or {},
        same_below=comparison.same_below,
        significant_from=comparison.significant_from,
    )
    write_json_atomic(manifest_path(folder, layout), asdict(manifest))


def find_manifest(folder: Path) -> FolderManifest | None:
    """The manifest of an export or bench folder, or None (e.g. the published PandaBench)."""
    for path in (folder / MANIFEST, folder / "stats" / MANIFEST):
        if path.is_file():
            try:
                return FolderManifest(**json.loads(path.read_text()))
            except (json.JSONDecodeError, TypeError) as err:
                raise InputNotFound(
                    f"{path}: not a readable export manifest ({err}); export the folder again"
                ) from None
    return None


def export_problems(folder: Path, build: Build, layout: str) -> list[str]:
    """Why `folder` cannot be published as it is: missing, incomplete or stale; [] when fine."""
    name = folder.relative_to(build.root).as_posix()
    manifest = find_manifest(folder) if folder.is_dir() else None
    if manifest is None or manifest.layout != layout:
        return [f"{name}: no {MANIFEST} (missing or unfinished export); run the export again"]
    problems = []
    if manifest.recipe_hash != build.recipe.digest():
        problems.append(
            f"{name}: made with recipe hash {manifest.recipe_hash[:12]}, the build's is "
            f"{build.recipe.digest()[:12]}; run the export again"
        )
    now = score_digests(build)
    changed = sorted(
        n for n in now.keys() | manifest.scores.keys() if now.get(n) != manifest.scores.get(n)
    )
    if changed:
        problems.append(
            f"{name}: scores/{changed[0]} ({len(changed)} shard(s) in all) changed since the "
            "export; run the export again"
        )
    missing = [rel for rel, size in manifest.files.items() if _size(folder / rel) != size]
    if missing:
        problems.append(
            f"{name}: {len(missing)} file(s) missing or changed since the export, e.g. "
            f"{missing[0]}; run the export again"
        )
    return problems


def _size(path: Path) -> int | None:
    return path.stat().st_size if path.is_file() else None
