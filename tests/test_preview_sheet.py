"""The sub-type sheet: a clean column, then every level, each tile with a 1:1 inset."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pandaset_build import distortions
from pandaset_build.config import vocab
from pandaset_build.stages.preview import (
    INSET,
    LABEL_HEIGHT,
    SUBTYPE_THUMB,
    inset_window,
    subtype_sheet,
)
from pandaset_build.store.build import open_build


def test_clean_column_and_one_to_one_insets(tmp_path: Path) -> None:
    build = open_build(tmp_path / "b", "quickstart")
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (150, 200, 3), dtype=np.uint8)
    sheet = subtype_sheet(image, build)
    tile_h, tile_w = SUBTYPE_THUMB + LABEL_HEIGHT, SUBTYPE_THUMB
    columns = vocab.DEPICTQA_LEVELS + 1
    assert sheet.shape == (len(distortions.names()) * tile_h, columns * tile_w, 3)
    window = inset_window(image.shape)
    assert (window[0].stop - window[0].start, window[1].stop - window[1].start) == (INSET, INSET)

    def inset(row: int, column: int) -> np.ndarray:
        bottom, right = (row + 1) * tile_h - 1, (column + 1) * tile_w - 1
        return sheet[bottom - INSET : bottom, right - INSET : right]

    for row in range(len(distortions.names())):
        np.testing.assert_array_equal(inset(row, 0), image[window])  # the clean column, 1:1
    key = "noise/gaussian_rgb"
    row = distortions.names().index(key)
    noisy = distortions.apply(image, key, 1, np.random.default_rng(0), recipe=build.recipe)
    np.testing.assert_array_equal(inset(row, 1), noisy[window])  # level 1 at 1:1
