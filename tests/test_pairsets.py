"""One pair reader for bench, hf and pandabench folders; PANDA trains on the build's own labels."""

from __future__ import annotations

from pathlib import Path

import pytest
from panda_tiny import tiny_config
from scored_build import make_scored_build

from pandaset_build.config.recipe import Comparison
from pandaset_build.errors import InputNotFound
from pandaset_build.labels.pairs import compare
from pandaset_build.pairsets import (
    BenchSource,
    HFExportSource,
    PandaBenchSource,
    load_pairs,
    open_pairs,
)
from pandaset_build.panda import data as panda_data
from pandaset_build.panda.data import PandaPairDataset, collate_pairs
from pandaset_build.panda.train import _dataset
from pandaset_build.stages.bench import split_bench
from pandaset_build.stages.export import export
from pandaset_build.store.build import Build

TAGS = {"train": ["a.png", "b.png"], "test": ["c.png", "d.png"]}
NARROW = {"same_below": 0.01, "significant_from": 0.02}  # far from the published 0.1 / 0.3


@pytest.fixture(scope="module")
def narrow(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """A scored build labelled with other thresholds than the published ones, all exported."""
    build = make_scored_build(tmp_path_factory.mktemp("narrow"), TAGS, regions=4, comparison=NARROW)
    export(build, "hf")
    export(build, "pandabench")
    split_bench(build)
    return build


def test_readers_dispatch_on_the_folder_manifest(narrow: Build) -> None:
    layout = narrow.layout
    assert isinstance(open_pairs(layout.export("hf"), "train"), HFExportSource)
    assert isinstance(open_pairs(layout.export("pandabench"), "train"), PandaBenchSource)
    assert isinstance(open_pairs(layout.bench_split("easy")), BenchSource)
    with pytest.raises(InputNotFound, match=r"no \.export\.json manifest"):
        open_pairs(narrow.layout.versions)


def test_every_reader_gives_the_labels_the_build_wrote(narrow: Build) -> None:
    default = Comparison()
    hf = HFExportSource(narrow.layout.export("hf"), "train")
    pandabench = PandaBenchSource(narrow.layout.export("pandabench"), "train")
    by_key = {
        (p.tag, p.anchor_version, p.target_version): p
        for p in map(pandabench.__getitem__, range(len(pandabench)))
    }
    differ = 0
    for i in range(len(hf)):
        pair = hf[i]
        other = by_key[pair.tag, pair.anchor_version, pair.target_version]
        for region, same_region in zip(pair.regions, other.regions, strict=True):
            d = region.anchor.score - region.target.score
            assert region.comparison == compare(d, Comparison(**NARROW))
            assert same_region.comparison == region.comparison
            differ += region.comparison != compare(d, default)
    assert differ > 0  # the narrow thresholds really change labels
    for pair in load_pairs(narrow.layout.bench_split("hard")):
        for region in pair.regions:
            d = region.anchor.score - region.target.score
            assert region.comparison == compare(d, Comparison(**NARROW))


def test_panda_trains_on_the_builds_labels_not_its_own_thresholds(narrow: Build) -> None:
    cfg = tiny_config()
    source = HFExportSource(narrow.layout.export("hf"), "train")
    batch = collate_pairs([_dataset(cfg, source, train=True)[i] for i in range(len(source))])
    valid = batch["region_mask_flags"]
    want = []
    for i in range(len(source)):
        pair = source[i]
        want.append([pair.image_comparison] + [r.comparison for r in pair.regions])
    width = batch["comparison"].shape[1]
    expected = [row + [-1] * (width - len(row)) for row in want]
    assert batch["comparison"].tolist() == expected
    assert valid.any()


def test_masks_are_decoded_once_per_region(narrow: Build, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = panda_data.resize_nearest
    monkeypatch.setattr(panda_data, "resize_nearest", lambda m, s: calls.append(1) or real(m, s))
    source = HFExportSource(narrow.layout.export("hf"), "train")
    dataset = PandaPairDataset(source, image_size=32)
    for _ in range(2):  # two epochs
        for i in range(len(dataset)):
            dataset[i]
    assert len(source) == 2 * 16 * 15
    assert len(calls) == 2 * 4  # 2 images x 4 regions, not 2 x 240 pairs x 2 sides x 4 x 2


def test_a_missing_folder_names_itself(tmp_path: Path) -> None:
    with pytest.raises(InputNotFound, match="no such folder"):
        open_pairs(tmp_path / "nope")


def test_regions_without_a_class_read_as_minus_one_from_every_layout(tmp_path: Path) -> None:
    tags = {"train": ["seagull_r1t.png", "a.png"], "test": ["seagull_r2t.png", "b.png"]}
    build = make_scored_build(tmp_path, tags, regions=2)
    export(build, "hf")
    export(build, "pandabench")
    split_bench(build)
    sources = [
        HFExportSource(build.layout.export("hf"), "test"),
        PandaBenchSource(build.layout.export("pandabench"), "test"),
        *(BenchSource(build.layout.bench_split(kind)) for kind in ("easy", "hard")),
    ]
    for source in sources:
        for pair in map(source.__getitem__, range(len(source))):
            want = [-1, -1] if pair.tag.startswith("seagull_") else [1, 2]
            assert [r.category_id for r in pair.regions] == want, (type(source), pair.tag)
