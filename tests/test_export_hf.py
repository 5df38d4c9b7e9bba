"""HF export: every configuration loads, features and ClassLabels, masks, labels, bad input."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import datasets
import numpy as np
import pyarrow.parquet as pq
import pytest
from datasets import ClassLabel, Features, Value
from huggingface_hub import DatasetCard
from PIL import Image
from pycocotools import mask as mask_utils
from scored_build import load_split, make_scored_build

from pandaset_build.config import vocab
from pandaset_build.config.recipe import load_recipe
from pandaset_build.errors import MissingStageOutputs, ShardLayoutError
from pandaset_build.formats.shard_writer import ShardPlan, ShardWriter, folder_files
from pandaset_build.stages.export import export
from pandaset_build.store.masks import decode_mask

TAGS = {"train": ["a.png", "b.jpg", "c.png"], "test": ["seagull_d.png"]}
SHARD = 20_000  # bytes: about six of the synthetic 32 px version PNGs


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    build = make_scored_build(tmp_path_factory.mktemp("hf"), TAGS, export={"shard_bytes": SHARD})
    summary = export(build, "hf")
    assert summary.rows["pairs"] == {"train": 720, "test": 240}
    return build.root


def class_names(feature: object) -> list[str]:
    assert isinstance(feature, ClassLabel)
    return feature.names


def test_shards_hold_at_most_the_target_bytes_and_are_named_by_count(exported: Path) -> None:
    folder = exported / "export" / "hf" / "data" / "versions"
    names = sorted(p.name for p in folder.iterdir())
    train = [n for n in names if n.startswith("train-")]
    assert train == [f"train-{i:05d}-of-{len(train):05d}.parquet" for i in range(len(train))]
    images = [
        [len(row["image"]["bytes"]) for row in pq.read_table(folder / name).to_pylist()]
        for name in train
    ]
    assert sum(map(len, images)) == 48
    for shard, following in itertools.pairwise(images):
        assert sum(shard) <= SHARD < sum(shard) + following[0] + 4_000
    assert sum(images[-1]) <= SHARD


def test_card_metadata_parses_with_huggingface_hub(exported: Path) -> None:
    out = exported / "export" / "hf"
    card = DatasetCard.load(out / "README.md")
    data = card.data
    assert [c["config_name"] for c in data.configs] == [
        "preview",
        "references",
        "versions",
        "pairs",
    ]
    assert data.configs[0]["default"] is True
    assert data.license == "other"
    assert data.license_name == "polyform-noncommercial-1.0.0"
    assert data.license_link.startswith("https://polyformproject.org/licenses/noncommercial/1.0.0")
    assert data.annotations_creators == ["machine-generated"]
    assert data.size_categories == ["n<1K"]  # 960 pairs rows
    assert data.source_datasets == ["extended|psg", "extended|seagull-100w"]
    assert data.task_categories and data.tags and data.pretty_name.startswith("PandaSet")
    text = card.text
    for key in ("janjua2026panda", "you2024depicting", "chen2024topiq", "yang2022psg",
                "lin2014coco", "chen2024seagull"):  # fmt: skip
        assert f"{{{key}," in text
    for phrase in ("PolyForm Noncommercial", "CC BY 4.0", "Seagull-100w", "ssim", "0.1.14"):
        assert phrase in text
    flat = " ".join(text.split())
    assert "with the reference's pixels outside the region's mask" in flat
    assert "resized into a shape bucket" in flat and "128, 224, 384 px" in flat
    assert "native size" not in flat
    assert "name is its ROI's index" in flat and "`category_id` is -1" in flat
    assert [p.name for p in out.rglob(".*")] == [".export.json"]


def test_card_loading_snippet_runs_on_the_export(
    exported: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = exported / "export" / "hf"
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", exported.parent / "snippet-cache")
    text = (out / "README.md").read_text()
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    exec(code.replace('"path/to/export/hf"', repr(str(out))), {})
    printed = capsys.readouterr().out
    assert printed.split()[:2] == ["thing0", "300"], printed  # strip 0: 10 rows x 30 columns


def test_preview_joins_both_images_and_every_label(exported: Path) -> None:
    out = exported / "export" / "hf"
    preview = load_split(out, "preview", "test", exported.parent / "cache")
    assert 0 < preview.num_rows <= 300
    assert class_names(preview.features["difficulty"]) == ["easy", "medium", "hard"]
    row = preview[0]
    assert row["anchor_image"].size == row["target_image"].size == (32, 32)
    region = row["regions"][0]
    for key in ("name", "bbox", "mask", "anchor_distortion", "target_score", "comparison"):
        assert key in region


def test_hundred_times_the_paper_stays_under_ten_thousand_files_per_folder() -> None:
    """220,000 images, 16 versions, 240 pairs per image; bytes per row of a 640x480 version PNG
    (about 0.6 MB), a reference JPEG (0.2 MB) and a 15-region pairs row (0.5 kB)."""
    recipe = load_recipe("default").export
    images = {"train": 200_000, "val": 5_000, "test": 15_000}
    rows = {"references": 1, "versions": 16, "pairs": 240}
    row_bytes = {"references": 200_000, "versions": 600_000, "pairs": 500}
    layout = {
        f"data/{config}": [ShardPlan(n * k, row_bytes[config], recipe.shard_bytes)
                           for n in images.values()]
        for config, k in rows.items()
    }  # fmt: skip
    layout["data/preview"] = [ShardPlan(recipe.preview_pairs, 1_200_000, recipe.shard_bytes)]
    files = folder_files(layout)
    assert max(files.values()) <= recipe.max_files_per_folder == 10_000
    assert files["data/versions"] > 1_000  # the plan is not trivially small
    with_rows = {f"data/{c}": [ShardPlan(n * k, row_bytes[c], 500 * 500) for n in images.values()]
                 for c, k in rows.items()}  # fmt: skip
    assert max(folder_files(with_rows).values()) > 10_000  # 500-row shards would not fit


def test_writer_makes_the_shards_the_plan_projects(tmp_path: Path) -> None:
    features = Features({"blob": Value("binary")})
    for rows, size, target in ((10, 100, 350), (7, 1000, 999), (3, 10, 10_000), (0, 5, 5)):
        writer = ShardWriter(tmp_path / f"{rows}-{size}", "train", features, rows, target)
        for _ in range(rows):
            writer.write({"blob": b"x" * size})
        assert len(writer.close()) == ShardPlan(rows, size, target).shards


def test_too_many_files_in_a_folder_fails_before_anything_is_kept(tmp_path: Path) -> None:
    build = make_scored_build(tmp_path, {"train": ["a.png"]},
                              export={"shard_bytes": 1, "max_files_per_folder": 10})  # fmt: skip
    with pytest.raises(ShardLayoutError, match=r"data/pairs: 240 files.*export\.shard_bytes"):
        export(build, "hf")
    assert not (build.root / "export").exists()


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
        assert region["iscrowd"] is want["iscrowd"]
    assert [r["iscrowd"] for r in row["regions"]] == [False, True, False]
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
        assert row["score_provenance"] == {
            "metric": "ssim", "pyiqa_version": "0.1.14", "weights": "", "precision": "fp32",
            "device": "cpu: fixture", "torch_version": "2.0", "cuda_version": "",
            "cudnn_version": "", "weights_sha256": "0" * 64, "batch_size": 16,
        }  # fmt: skip
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


def test_an_export_without_a_test_split_has_no_empty_preview(tmp_path: Path) -> None:
    build = make_scored_build(tmp_path, {"train": ["a.png", "b.png"]})
    summary = export(build, "hf")
    assert "preview" not in summary.rows
    out = build.root / "export" / "hf"
    assert not (out / "data" / "preview").exists()
    card = DatasetCard.load(out / "README.md")
    configs = card.data.to_dict()["configs"]
    assert [c["config_name"] for c in configs] == ["references", "versions", "pairs"]
    assert configs[0]["default"] is True
    assert load_split(out, None, "train", tmp_path / "cache").num_rows == 2
