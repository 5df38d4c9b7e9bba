"""COCO RLE masks as sources give them: checked to cover the image exactly before decoding.

pycocotools reads past the runs (uninitialised memory) when they do not add up to H x W, so
every RLE is checked first. `counts` is a compressed string or an uncompressed list of
column-major run lengths (zeros first); a size, where the source gives one, must be the
image's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pandaset_build.store.masks import decode_mask


def string_runs(counts: str) -> list[int]:
    """Run lengths of a compressed COCO RLE string (pycocotools' rleFrString, bounds-checked)."""
    runs: list[int] = []
    p = 0
    while p < len(counts):
        x = k = 0
        more = True
        while more:
            c = ord(counts[p]) - 48 if p < len(counts) else -1
            if not 0 <= c < 64:
                raise ValueError(f"bad RLE character at {p}")
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p, k = p + 1, k + 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        runs.append(x + runs[-2] if len(runs) > 2 else x)
    return runs


def decode_counts(counts: Any, width: int, height: int) -> np.ndarray:
    """Boolean HxW mask of RLE `counts` (string or list) after checking its runs cover HxW."""
    if isinstance(counts, bytes):
        counts = counts.decode("ascii")
    if isinstance(counts, list):
        runs = [int(v) for v in counts]
    elif isinstance(counts, str):
        runs = string_runs(counts)
    else:
        raise ValueError(f"RLE counts must be a string or a list of ints, not {type(counts)}")
    if min(runs, default=-1) < 0 or sum(runs) != height * width:
        raise ValueError(
            f"RLE runs cover {sum(runs)} pixels, not the image's {width}x{height} = "
            f"{width * height}"
        )
    return decode_mask({"size": [height, width], "counts": counts})


def decode_rle(rle: Any, width: int, height: int) -> np.ndarray:
    """Decode an RLE given as `{counts[, size]}` or as a bare counts string, for a WxH image."""
    if isinstance(rle, dict):
        if "counts" not in rle:
            raise ValueError(f"RLE has no 'counts' (keys: {sorted(rle)})")
        if "size" in rle and [int(v) for v in rle["size"]] != [height, width]:
            raise ValueError(f"RLE size {list(rle['size'])} is not the image's [{height}, {width}]")
        return decode_counts(rle["counts"], width, height)
    return decode_counts(rle, width, height)
