"""Whole-frame work of one image that its regions and versions reuse, memoised by name."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class Shared:
    """A per-image memo. Names must say everything a value depends on besides the frame's pixels.

    `get` always computes the whole-frame value once. `frame_or_window` is for work that a region
    can also do on its window alone: window work is "rented" until the windows asking for a value
    add up to one frame, then the whole-frame value is computed once and served to every later
    window. That never costs more than twice the cheaper of the two choices made in hindsight.
    """

    def __init__(self) -> None:
        self._values: dict[Hashable, Any] = {}
        self._rented: dict[Hashable, int] = {}

    def get(self, name: Hashable, make: Callable[[], T]) -> T:
        """The memoised value `name`, computed by `make` the first time."""
        if name not in self._values:
            self._values[name] = make()
        return self._values[name]

    def frame_or_window(
        self, name: Hashable, window_area: int, frame_area: int, make: Callable[[], T]
    ) -> T | None:
        """The whole-frame value `name` once windows add up to a frame; None: use the window."""
        if name in self._values:
            return self._values[name]
        rented = self._rented.get(name, 0) + window_area
        if rented >= frame_area:
            return self.get(name, make)
        self._rented[name] = rented
        return None

    def __contains__(self, name: Hashable) -> bool:
        return name in self._values
