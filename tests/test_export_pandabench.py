"""PandaBench layout, read the way the published PANDA loader reads it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image
from pycocotools import mask as mask_utils
from scored_build import make_scored_build

from pandaset_build.config import vocab
from pandaset_build.pairsets import PandaBenchSource
from pandaset_build.stages.export import export
from pandaset_build.store.images import read_rgb
from pandaset_build.store.masks import decode_mask, uncompressed_rle

TAGS = {"train": ["2391273_000000307074.jpg", "b.png"], "test": ["seagull_r5e443e5dt.png"]}


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    build = make_scored_build(tmp_path_factory.mktemp("pb"), TAGS)
    summary = export(build, "pandabench")
    return build.root, summary.folder


def loader_versions(root: Path) -> list[str]:
    """The published loader: every root folder but stats, depth and gt is a version."""
    folders = os.listdir(root)
    folders.remove("stats")
    folders.remove("depth")
    folders.remove("gt")
    return sorted(folders)


def test_folder_walk(bench: tuple[Path, Path]) -> None:
    build, root = bench
    assert loader_versions(root) == sorted(vocab.VERSIONS)
    for split, tags in TAGS.items():
        assert sorted(os.listdir(root / "gt" / split)) == sorted(tags)
        for version in vocab.VERSIONS:
            assert sorted(os.listdir(root / version / split)) == sorted(tags)
            for tag in tags:
                stored = build / "versions" / version / split / f"{tag}.png"
                assert (root / version / split / tag).read_bytes() == stored.read_bytes()
    hidden = [p.relative_to(root).as_posix() for p in root.rglob(".*")]
    assert hidden == ["stats/.export.json"]  # the export record, kept out of the loader's walk


def test_an_empty_split_is_an_empty_folder_the_loader_opens(bench: tuple[Path, Path]) -> None:
    _, root = bench
    assert "val" not in TAGS  # the build has no val image
    for folder in ("gt", *loader_versions(root)):
        assert os.listdir(root / folder / "val") == []
    for version in loader_versions(root):
        assert json.loads((root / "stats" / f"val_stats_{version}.json").read_text()) == {}
    assert len(PandaBenchSource(root, "val", "all")) == 0


def test_gt_pixels_are_the_reference(bench: tuple[Path, Path], tmp_path: Path) -> None:
    build, root = bench
    for split, tags in TAGS.items():
        for tag in tags:
            original = build.parent / "images" / tag
            assert np.array_equal(read_rgb(root / "gt" / split / tag), read_rgb(original))
    jpeg = root / "gt" / "train" / TAGS["train"][0]
    assert jpeg.read_bytes() == (build.parent / "images" / TAGS["train"][0]).read_bytes()


def test_stats_json_like_the_loader(bench: tuple[Path, Path]) -> None:
    _, root = bench
    predicates = json.loads((root / "stats" / "predicate_classes.json").read_text())
    for split, tags in TAGS.items():
        for version in loader_versions(root):
            stats = json.loads((root / "stats" / f"{split}_stats_{version}.json").read_text())
            assert sorted(stats) == sorted(tags)
            for tag, entry in stats.items():
                assert isinstance(entry["score_fr"], float)
                relations = entry["relations"][0]
                if tag.startswith("seagull_"):
                    assert relations == []
                else:
                    assert relations == [[0, 1, 3]] and predicates[3] == "on"
                image = Image.open(root / version / split / tag)
                for i, region in enumerate(entry["regions"]):
                    rle = region["segmentation_mask"]
                    assert all(isinstance(c, int) for c in rle["counts"])
                    h, w = rle["size"]
                    mask = mask_utils.decode(mask_utils.frPyObjects(rle, h, w))
                    assert mask.shape == (image.height, image.width)
                    assert mask.any()
                    assert len(region["bbox"]) == 4
                    assert isinstance(region["name"], str)
                    assert isinstance(region["description"], str)
                    if tag.startswith("seagull_"):  # no class: absent, as released
                        assert "category_id" not in region
                    else:
                        assert isinstance(region["category_id"], int)
                    assert region["iscrowd"] is (i == 1 and not tag.startswith("seagull_"))
                    assert int(region["severity"]) in range(4)
                    assert isinstance(region["score_fr"], float)
                    assert region["degradation"] in vocab.DISTORTIONS
                    assert region["name"] == f"thing{i}"


def test_masks_match_sources_and_regions_match_by_index(bench: tuple[Path, Path]) -> None:
    _, root = bench
    anchor = json.loads((root / "stats" / "test_stats_mixed.json").read_text())
    target = json.loads((root / "stats" / "test_stats_blur.json").read_text())
    tag = TAGS["test"][0]
    assert len(anchor[tag]["regions"]) == len(target[tag]["regions"]) == 3
    for a, t in zip(anchor[tag]["regions"], target[tag]["regions"], strict=True):
        assert a["segmentation_mask"] == t["segmentation_mask"]
        assert t["degradation"] in ("clean", "blur")
    source = pq.read_table(root.parent.parent / "sources").to_pylist()
    regions = {r["tag"]: r["regions"] for r in source}[tag]
    for region, want in zip(anchor[tag]["regions"], regions, strict=True):
        rle = region["segmentation_mask"]
        got = mask_utils.decode(mask_utils.frPyObjects(rle, *rle["size"])).astype(bool)
        assert np.array_equal(got, decode_mask(want["mask"]))


def test_uncompressed_rle_edge_cases() -> None:
    for mask in (np.ones((3, 4), bool), np.zeros((3, 4), bool), np.eye(4, dtype=bool)):
        rle = uncompressed_rle(mask)
        decoded = mask_utils.decode(mask_utils.frPyObjects(rle, *rle["size"]))
        assert np.array_equal(decoded.astype(bool), mask)
