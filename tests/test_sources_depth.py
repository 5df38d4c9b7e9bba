"""find_depth: depth maps found by image stem first, then by tag."""

from __future__ import annotations

from pathlib import Path

from pandaset_build.sources.depth_files import find_depth


def test_find_depth(tmp_path: Path) -> None:
    for name in ("000000417720.npy", "000000417720.exr", "seagull_[x]t.png.tiff", "other.png"):
        (tmp_path / name).write_bytes(b"0")
    (tmp_path / "dir.png").mkdir()
    found = find_depth(tmp_path, "107902_000000417720.jpg", "/data/coco/000000417720.jpg")
    assert found == str((tmp_path / "000000417720.npy").resolve())
    found = find_depth(tmp_path, "seagull_[x]t.png", "/data/ref/[x]t.png")
    assert found == str((tmp_path / "seagull_[x]t.png.tiff").resolve())
    assert find_depth(tmp_path, "dir.png", "/data/dir.png") is None
    assert find_depth(tmp_path, "a.jpg", "/data/a.jpg") is None
    assert find_depth(tmp_path / "missing", "a.jpg", "/data/a.jpg") is None
