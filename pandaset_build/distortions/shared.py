"""Whole-frame work of one image that its regions and versions reuse, memoised by name."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

BUDGET_BYTES = 512 * 2**20  # beyond this an image's memo computes values without keeping them


class Shared:
    """A per-image memo. Names must say everything a value depends on besides the frame's pixels.

    `get` computes a whole-frame value once. `frame_or_window` is for work that a region can
    also do on its window alone: window work is "rented" until the windows asking for a value add
    up to one frame, then the whole-frame value is computed once and served to every later
    window. That never costs more than twice the cheaper of the two choices made in hindsight.
    Arrays are kept while their bytes fit `budget_bytes`; past it a value is computed and not
    kept (and `frame_or_window` goes back to windows), so memory stays bounded on huge frames.
    """

    def __init__(self, budget_bytes: int = BUDGET_BYTES) -> None:
        self.budget_bytes = budget_bytes
        self._values: dict[Hashable, Any] = {}
        self._rented: dict[Hashable, int] = {}
        self._bytes = 0

    def get(self, name: Hashable, make: Callable[[], T]) -> T:
        """The memoised value `name`, computed by `make` the first time."""
        if name in self._values:
            return self._values[name]
        value = make()
        self._keep(name, value)
        return value

    def peek(self, name: Hashable) -> Any | None:
        """The memoised value `name`, or None."""
        return self._values.get(name)

    def frame_or_window(
        self, name: Hashable, window_area: int, frame_area: int, make: Callable[[], T]
    ) -> T | None:
        """The whole-frame value `name` once windows add up to a frame; None: use the window."""
        if name in self._values:
            return self._values[name]
        rented = self._rented.get(name, 0) + window_area
        if rented < frame_area:
            self._rented[name] = rented
            return None
        value = make()
        self._rented[name] = 0 if not self._keep(name, value) else rented
        return value

    def _keep(self, name: Hashable, value: Any) -> bool:
        size = int(getattr(value, "nbytes", 0))
        if self._bytes + size > self.budget_bytes:
            return False
        self._values[name] = value
        self._bytes += size
        return True
