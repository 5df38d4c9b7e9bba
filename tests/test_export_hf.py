"""HF export: every configuration loads, features and ClassLabels, masks, labels, bad input."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from datasets import ClassLabel
from PIL import Image
from pycocotools import mask as mask_utils
from scored_build import load_split, make_scored_build

from pandaset_build.config import vocab
from pandaset_build.errors import MissingStageOutputs
from pandaset_build.stages.export import export
from pandaset_build.store.masks import decode_mask

TAGS = {"train": ["a.png", "b.jpg", "c.png"], "test": ["seagull_d.png"]}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    build = make_scored_build(tmp_path_factory.mktemp("hf"), TAGS, export={"rows_per_shard": 100})
    summary = export(build, "hf")
    assert summary.rows["pairs"] == {"train": 720, "test": 240}
    return build.root


def class_names(feature: object) -> list[str]:
    assert isinstance(feature, ClassLabel)
    return feature.names


def test_shard_names_and_card(exported: Path) -> None:
    out = exported / "export" / "hf"
    names = sorted(p.name for p in (out / "data" / "pairs").iterdir())
    assert names == [
        "test-00000-of-00003.parquet",
        "test-00001-of-00003.parquet",
        "test-00002-of-00003.parquet",
        *(f"train-{i:05d}-of-00008.parquet" for i in range(8)),
    ]
    text = (out / "README.md").read_text()
    header = yaml.safe_load(text.split("---\n")[1])
    assert [c["config_name"] for c in header["configs"]] == ["references", "versions", "pairs"]
    for phrase in ("PolyForm Noncommercial", "CC BY 4.0", "Seagull-100w", "ssim", "0.1.14"):
        assert phrase in text
    assert not list(out.rglob(".*"))


def test_references_masks_decode_to_source_masks(exported: Path) -> None:
    out = str(exported / "export" / "hf")
    refs = load_split(Path(out), "references", "train", exported.parent / "cache")
    assert refs.num_rows == 3
    sources = {r["tag"]: r for r in pq.read_table(exported / "sources").to_pylist()}
    row = refs[1]
    assert row["tag"] == "b.jpg"
    source = sources["b.jpg"]
    assert row["image"].size == (32, 32)
    original = Image.open(source["image_path"])
    assert np.array_equal(np.asarray(row["image"]), np.asarray(original))
    for region, want in zip(row["regions"], source["regions"], strict=True):
        rle = {"size": region["mask"]["size"], "counts": region["mask"]["counts"].encode()}
        assert np.array_equal(mask_utils.decode(rle).astype(bool), decode_mask(want["mask"]))
        assert region["bbox"] == want["bbox"]
        assert len(region["bbox"]) == 4
    assert row["relations"] == [{"subject": 0, "object": 1, "predicate": "on", "predicate_id": 3}]


def test_versions_features_and_bytes(exported: Path) -> None:
    out = str(exported / "export" / "hf")
    versions = load_split(Path(out), "versions", "test", exported.parent / "cache")
    assert versions.num_rows == 16
    regions = versions.features["regions"].feature
    assert class_names(regions["distortion"]) == list(vocab.DISTORTIONS)
    assert class_names(regions["severity"]) == list(vocab.SEVERITIES)
    raw = versions.cast_column("image", versions.features["image"].__class__(decode=False))
    for row in raw:
        path = exported / "versions" / row["version"] / "test" / f"{row['tag']}.png"
        assert row["image"]["bytes"] == path.read_bytes()
    plans = pq.read_table(exported / "plans").to_pylist()
    plan = {(p["tag"], p["version"], p["region_id"]): p for p in plans}
    for row in versions:
        for region in row["regions"]:
            want = plan[row["tag"], row["version"], region["region_id"]]
            assert vocab.DISTORTIONS[region["distortion"]] == want["distortion"]
            assert vocab.SEVERITIES[region["severity"]] == want["severity"]


def test_pairs_labels_agree_with_scores(exported: Path) -> None:
    pairs = load_split(exported / "export" / "hf", "pairs", "train", exported.parent / "cache")
    assert pairs.num_rows == 720
    regions = pairs.features["regions"].feature
    assert class_names(regions["comparison"]) == list(vocab.COMPARISONS)
    assert class_names(pairs.features["image_comparison"]) == list(vocab.COMPARISONS)
    assert class_names(pairs.features["difficulty"]) == ["easy", "medium", "hard"]
    scores = pq.read_table(exported / "scores").to_pylist()
    score = {(s["tag"], s["version"], s["region_id"]): s["score"] for s in scores}
    for row in pairs:
        for region in row["regions"]:
            i = region["region_id"]
            d = (
                score[row["tag"], row["anchor_version"], i]
                - score[row["tag"], row["target_version"], i]
            )
            band = 0 if abs(d) < 0.1 else 1 if abs(d) < 0.3 else 2
            name = ["same", "slightly_", "significantly_"][band]
            if band:
                name += "better" if d > 0 else "worse"
            assert vocab.COMPARISONS[region["comparison"]] == name


def test_missing_scores_name_the_images_and_write_nothing(tmp_path: Path) -> None:
    build = make_scored_build(tmp_path, {"train": [f"t{i:02d}.png" for i in range(20)]})
    (build.layout.scores / "00001.parquet").unlink()
    with pytest.raises(MissingStageOutputs, match=r"scores are missing .* run `score`") as err:
        export(build, "hf")
    assert "t16.png" in str(err.value)
    assert not (build.root / "export").exists()
    with pytest.raises(MissingStageOutputs):
        export(build, "pandabench")
    assert not (build.root / "export").exists()


def test_missing_region_scores_mid_export_leave_nothing(tmp_path: Path) -> None:
    build = make_scored_build(tmp_path, {"train": ["a.png", "b.png"]})
    path = build.layout.scores / "00000.parquet"
    table = pq.read_table(path)
    keep = [not (r["tag"] == "b.png" and r["region_id"] == 2) for r in table.to_pylist()]
    pq.write_table(table.filter(keep), path)
    with pytest.raises(MissingStageOutputs, match=r"b\.png"):
        export(build, "hf")
    assert not (build.root / "export").exists()


def test_png_version_bytes_decode_as_stored(exported: Path) -> None:
    path = next((exported / "export" / "hf" / "data" / "versions").glob("train-*.parquet"))
    row = pq.read_table(path).slice(0, 1).to_pylist()[0]
    assert Image.open(io.BytesIO(row["image"]["bytes"])).format == "PNG"
