"""A metric backbone that computes each distinct image once, and counts what it computes.

pyiqa's full-reference networks call their backbone twice per forward: on the distorted batch,
then on the reference batch. The scorer names the images of both calls (`expect`) by content
key; features of the images it asks to keep (the references) are held until `forget`, so the
16 versions of a region (and the 16 frames of an image) send their reference through the
backbone once, and a clean crop equal to its reference is not computed again.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

import torch


class FeatureMemo(torch.nn.Module):
    """Wraps a feature extractor (`images -> list of per-level features`)."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.cache: dict[Hashable, list[torch.Tensor]] = {}
        self.calls: list[list[Hashable]] = []
        self.keep: set[Hashable] = set()
        self.passes = 0  # images sent through the backbone

    def expect(self, *calls: list[Hashable], keep: Iterable[Hashable] = ()) -> None:
        """Name the images of the next backbone calls, in order; keep the features of `keep`."""
        self.calls = list(calls)
        self.keep.update(keep)

    def forget(self, keys: Iterable[Hashable]) -> None:
        """Drop kept features that no later batch needs."""
        for key in keys:
            self.cache.pop(key, None)
            self.keep.discard(key)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        keys = self.calls.pop(0) if self.calls else None
        if keys is None or len(keys) != images.shape[0]:
            self.calls = []
            self.passes += images.shape[0]
            return self.inner(images)
        first: dict[Hashable, int] = {}
        for index, key in enumerate(keys):
            if key not in self.cache:
                first.setdefault(key, index)
        local: dict[Hashable, list[torch.Tensor]] = {}
        if first:
            features = self.inner(images[list(first.values())])
            self.passes += len(first)
            for row, key in enumerate(first):
                local[key] = [level[row : row + 1] for level in features]
                if key in self.keep:
                    self.cache[key] = local[key]
        per_image = [local[key] if key in local else self.cache[key] for key in keys]
        return [torch.cat(levels) for levels in zip(*per_image, strict=True)]
