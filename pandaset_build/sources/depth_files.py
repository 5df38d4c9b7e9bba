"""Optional depth maps: find the file for an image in a `--depth DIR` folder."""

from __future__ import annotations

import glob
from pathlib import Path

DEPTH_EXTS = (".png", ".npy", ".tif", ".tiff", ".exr")


def find_depth(depth_dir: Path, tag: str, image_path: str) -> str | None:
    """Absolute path of `<image stem>.<ext>` or else `<tag>.*` in `depth_dir`; None if absent."""
    depth_dir = Path(depth_dir)
    stem = Path(image_path).stem
    candidates = [depth_dir / f"{stem}{ext}" for ext in DEPTH_EXTS]
    candidates += sorted(depth_dir.glob(f"{glob.escape(tag)}.*"))
    found = next((p for p in candidates if p.is_file()), None)
    return str(found.resolve()) if found else None
