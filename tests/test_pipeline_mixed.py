"""The whole pipeline on two sources in one build, as the paper mixes them: the demo photos and a
Seagull-100w miniature in its released layout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import run_cli, write_recipe
from seagull_tree import IDS, write_tree

from pandaset_build.pairsets import load_pairs
from pandaset_build.store.images import read_rgb
from pandaset_build.store.masks import decode_mask


@pytest.mark.slow
def test_demo_and_seagull_release_in_one_build(tmp_path: Path) -> None:
    root = tmp_path / "SEAGULL-100w"
    write_tree(root)
    recipe = write_recipe(tmp_path / "mixed.yaml", splits={"train": 0.5, "val": 0.0, "test": 0.5})
    build = tmp_path / "build"
    common = ["--build", str(build), "--recipe", str(recipe)]
    run_cli("ingest", "--source", "demo", *common)
    result = run_cli(
        "run", "--source", "seagull", "--root", str(root), "--metric", "psnr", *common
    )  # fmt: skip
    assert "regions dropped (empty)" in result.stderr

    sources = {r["tag"]: r for r in pq.read_table(build / "sources").to_pylist()}
    seagull_tags = {f"seagull_{i}.png" for i in IDS}
    assert {t for t, r in sources.items() if r["source"] == "seagull"} == seagull_tags
    assert {r["source"] for r in sources.values()} == {"demo", "seagull"}
    splits = json.loads((build / "splits.json").read_text())
    assert sorted(t for tags in splits.values() for t in tags) == sorted(sources)

    plans = pq.read_table(build / "plans").to_pylist()
    isp = [p for p in plans if p["isp"]]
    assert isp and {p["tag"] for p in isp} <= seagull_tags
    assert all(p["distortion"] in ("blur", "noise") and p["isp_folder"] for p in isp)
    synthetic = [p for p in plans if p["tag"] in seagull_tags and p["distortion"] == "blur"]
    assert all(p["isp"] for p in synthetic)  # Seagull blur keeps the released pixels
    for plan in isp[:6]:
        source = sources[plan["tag"]]
        mask = decode_mask(source["regions"][plan["region_id"]]["mask"])
        version = read_rgb(
            build / "versions" / plan["version"] / source["split"] / f"{plan['tag']}.png"
        )
        kind = plan["distortion"].capitalize()
        ref_id = plan["tag"].removeprefix("seagull_").removesuffix(".png")
        chosen = read_rgb(root / "Dist.Images" / kind / plan["isp_folder"] / f"{ref_id}.png")
        assert np.array_equal(version[mask], chosen[mask])

    card = (build / "export" / "hf" / "README.md").read_text()
    assert "Sources: demo, seagull" in card and "roi 3" in card and "isp_folder" in card
    assert "shape bucket" in card and "native size" not in card
    for split in ("train", "test"):
        stats = json.loads(
            (build / "export" / "pandabench" / "stats" / f"{split}_stats_mixed.json").read_text()
        )
        for tag, entry in stats.items():
            for region in entry["regions"]:
                assert ("category_id" in region) is (not tag.startswith("seagull_"))
    benches = {kind: load_pairs(build / "bench" / kind) for kind in ("easy", "medium", "hard")}
    tags = {pair.tag for pairs in benches.values() for pair in pairs}
    assert tags <= set(splits["test"]) and tags
