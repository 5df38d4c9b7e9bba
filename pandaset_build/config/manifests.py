"""Manifest files (split lists, bench pair lists): found by path or bundled name, read as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pandaset_build.errors import ManifestError

MANIFEST_DIR = Path(__file__).parent.parent / "manifests"


def resolve_manifest_path(name_or_path: str) -> Path:
    """A manifest file as given, or a bundled one by name (`published`, `published_test_tags`)."""
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    bundled = MANIFEST_DIR / f"{name_or_path}.json"
    if bundled.is_file():
        return bundled
    known = ", ".join(sorted(p.stem for p in MANIFEST_DIR.glob("*.json")))
    raise ManifestError(f"{name_or_path}: no such manifest file (bundled ones: {known})")


def read_manifest_json(path: Path) -> Any:
    """The parsed JSON of a manifest; a file that is not JSON is an error naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ManifestError(
            f"{path}: not a valid JSON manifest ({err}); fix or replace it"
        ) from None
