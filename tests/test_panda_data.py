"""PandaBench-layout source, dataset and collate on a tiny generated bench."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from panda_tiny import SIZE, TAGS, build_tiny_bench, region_masks, region_score, uncompressed_rle

from pandaset_build.config.panda import AugmentConfig
from pandaset_build.config.recipe import Comparison
from pandaset_build.config.vocab import COMPARISON_ID, VERSIONS
from pandaset_build.labels.pairs import compare
from pandaset_build.pairsets import PandaBenchSource
from pandaset_build.panda.augment import augment_pair
from pandaset_build.panda.data import PandaPairDataset, collate_pairs
from pandaset_build.store.masks import decode_mask


def comparison_label(d: float, slight: float = 0.1, significant: float = 0.3) -> int:
    return compare(d, Comparison(same_below=slight, significant_from=significant))


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bench(tmp_path_factory.mktemp("bench"))


def test_pair_counts(bench: Path) -> None:
    train = PandaBenchSource(bench, "train", "all")
    assert len(train) == 240 * len(TAGS)
    assert sum(p[2] == "a.png" for p in train.pairs) == 240
    hard = PandaBenchSource(bench, "test", "hard")
    assert hard.pairs[:2] == [("mixed", "mixed2", "a.png"), ("mixed2", "mixed", "a.png")]
    assert len(hard) == 2 * len(TAGS)
    triples = PandaBenchSource(bench, "test", [("snow", "blur", "b.png")])
    assert triples[0].anchor_version == "snow" and triples[0].tag == "b.png"


@pytest.mark.parametrize(
    ("d", "name"),
    [
        (0.0, "same"),
        (0.099, "same"),
        (-0.099, "same"),
        (0.1, "slightly_better"),
        (0.299, "slightly_better"),
        (0.3, "significantly_better"),
        (-0.1, "slightly_worse"),
        (-0.299, "slightly_worse"),
        (-0.3, "significantly_worse"),
    ],
)
def test_comparison_thresholds(d: float, name: str) -> None:
    assert comparison_label(d, 0.1, 0.3) == COMPARISON_ID[name]


def test_uncompressed_rle_roundtrip() -> None:
    for m in region_masks():
        assert np.array_equal(decode_mask(uncompressed_rle(m)), m)


def test_skipping_and_labels(bench: Path) -> None:
    triples = [
        ("snow", "haze", "a.png"),  # keeps 0, 1, 3 (2 vanishes at 56 x 56)
        ("snow", "blur", "a.png"),  # blur has no bbox for region 3
        ("mixed2", "snow", "b.png"),  # mixed2 has no mask for region 1
        ("snow", "haze", "empty.png"),  # nothing survives
    ]
    ds = PandaPairDataset(PandaBenchSource(bench, "train", triples), image_size=SIZE)
    assert [s["region_index"] for s in map(ds.__getitem__, range(3))] == [[0, 1, 3], [0, 1], [0, 3]]
    assert ds[3] is None
    s = ds[0]
    v_a, v_t = VERSIONS.index("snow"), VERSIONS.index("haze")
    expected = [comparison_label(round(v_a * 0.07, 3) - round(v_t * 0.07, 3))]
    expected += [
        comparison_label(region_score(v_a, 0, i) - region_score(v_t, 0, i)) for i in (0, 1, 3)
    ]
    assert s["comparison"].tolist() == expected
    assert s["scores"][1].tolist() == pytest.approx(
        [region_score(v_a, 0, 1), region_score(v_t, 0, 1)]
    )
    assert s["anchor"].shape == (3, SIZE, SIZE) and float(s["anchor"].min()) >= 0
    assert float(s["anchor"].max()) <= 1


def test_collate_shapes(bench: Path) -> None:
    triples = [("snow", "haze", "a.png"), ("snow", "blur", "a.png"), ("snow", "haze", "empty.png")]
    ds = PandaPairDataset(PandaBenchSource(bench, "train", triples), image_size=SIZE)
    batch = collate_pairs([ds[i] for i in range(3)])
    b, r = 2, 3
    assert batch["anchor"].shape == (b, 3, SIZE, SIZE)
    assert batch["anchor_seg_masks"].shape == (b, r, SIZE, SIZE)
    assert batch["target_bbox"].shape == (b, r, 4)
    for key in ("distortion", "severity", "scores"):
        assert batch[key].shape == (b, r, 2)
    assert batch["comparison"].shape == (b, r + 1)
    assert batch["comparison"][1, -1] == -1 and batch["distortion"][1, -1, 0] == -1
    assert batch["region_mask_flags"].tolist() == [True, True, True, True, True, False]
    assert batch["img_tags"] == ["a.png", "a.png"]
    assert collate_pairs([None]) is None


def test_augmentation_moves_boxes_with_masks() -> None:
    size = 20
    mask = np.zeros((1, size, size), np.uint8)
    mask[0, 2:5, 3:9] = 1  # rows 2-4, cols 3-8: box x=3, y=2, w=6, h=3
    box = np.array([[3, 2, 6, 3]], np.float32)
    image = np.zeros((size, size, 3), np.uint8)
    always = AugmentConfig(hflip=1.0, vflip=1.0, rot90=1.0)
    for seed in range(6):
        _, (m,), (b,) = augment_pair(np.random.default_rng(seed), always, [image], [mask], [box])
        ys, xs = np.nonzero(m[0])
        got = [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
        assert b[0].tolist() == pytest.approx(got)
