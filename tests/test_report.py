"""report: statistics JSON agrees with the stored plans; plot and sample sheets are written."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
from PIL import Image
from rich.console import Console
from scored_build import make_scored_build

from pandaset_build.stages.report import report


def test_report_outputs(tmp_path: Path) -> None:
    build = make_scored_build(tmp_path, {"train": ["a.png", "b.png"], "test": ["c.png"]})
    console = Console(record=True, width=140)
    paths = report(build, console)
    assert [p.name for p in paths] == [
        "stats.json",
        "stats.png",
        "labels_sheet.png",
        "pairs_sheet.png",
    ]
    stats = json.loads(paths[0].read_text())
    assert stats["images"] == {"test": 1, "train": 2}
    plans = pq.read_table(build.layout.plans).to_pylist()
    train = Counter(p["distortion"] for p in plans if p["tag"] != "c.png")
    assert {k: v for k, v in stats["regions_per_distortion"]["train"].items() if v} == train
    assert sum(stats["region_comparisons"]["test"].values()) == 240 * 3
    assert abs(sum(stats["comparison_shares"]["train"].values()) - 1) < 1e-9
    assert stats["pairs_per_difficulty"]["train"] == {"easy": 364, "medium": 112, "hard": 4}
    for path in paths[1:]:
        with Image.open(path) as img:
            assert img.format == "PNG" and img.width > 100
    assert "comparison: same" in console.export_text()
