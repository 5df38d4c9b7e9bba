"""The parameter schema of a sub-type: what each level of each parameter may be.

A sub-type registers its schema beside its function (`register(..., params=...)`); the recipe
checks every level table against it when it loads, so a negative sigma or a JPEG quality of 0
stops before any work with the key, the value, the problem and what is expected.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

Order = Literal["rising", "falling"] | None


@dataclass(frozen=True)
class Number:
    """One number per level: integer or not, its bounds, and how it moves from level to level.

    `order` "rising" means a level never takes a smaller value than the level below it
    (stronger levels distort more); "falling" the opposite (e.g. a JPEG quality).
    """

    integer: bool = False
    above: float | None = None
    at_least: float | None = None
    below: float | None = None
    at_most: float | None = None
    order: Order = None

    def expected(self) -> str:
        kind = "integers" if self.integer else "numbers"
        bounds = [
            f"> {self.above:g}" if self.above is not None else "",
            f">= {self.at_least:g}" if self.at_least is not None else "",
            f"< {self.below:g}" if self.below is not None else "",
            f"<= {self.at_most:g}" if self.at_most is not None else "",
        ]
        text = " and ".join(b for b in bounds if b)
        move = {
            "rising": ", not falling from level to level",
            "falling": ", not rising from level to level",
        }
        return f"{kind}{' ' + text if text else ''}{move.get(self.order or '', '')}"

    def value_problem(self, value: object) -> str | None:
        """Why one level's value does not fit, or None."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{value!r} is not a number"
        if isinstance(value, float) and not math.isfinite(value):
            return f"{value!r} is not a finite number"
        if self.integer and value != int(value):
            return f"{value!r} is not an integer"
        checks = (
            (self.above, lambda b: value > b, "> {b:g}"),
            (self.at_least, lambda b: value >= b, ">= {b:g}"),
            (self.below, lambda b: value < b, "< {b:g}"),
            (self.at_most, lambda b: value <= b, "<= {b:g}"),
        )
        for bound, holds, text in checks:
            if bound is not None and not holds(bound):
                return f"{value!r} must be {text.format(b=bound)}"
        return None

    def problem(self, levels: Sequence[object]) -> str | None:
        """Why a level table does not fit, or None."""
        for level, value in enumerate(levels, 1):
            found = self.value_problem(value)
            if found:
                return f"level {level}: {found}"
        numbers = [float(v) for v in levels]  # type: ignore[arg-type]
        for level, (low, high) in enumerate(itertools.pairwise(numbers), 2):
            if (self.order == "rising" and high < low) or (self.order == "falling" and high > low):
                return f"level {level} ({high:g}) goes back past level {level - 1} ({low:g})"
        return None


@dataclass(frozen=True)
class Factors:
    """One list of zoom factors per level: each >= 1, the list starting at 1, never shorter."""

    def expected(self) -> str:
        return "per level a list of numbers >= 1 starting with 1, no shorter than the level below"

    def problem(self, levels: Sequence[object]) -> str | None:
        previous = 0
        for level, factors in enumerate(levels, 1):
            if not isinstance(factors, list) or not factors:
                return f"level {level}: {factors!r} is not a non-empty list"
            for value in factors:
                found = Number(at_least=1).value_problem(value)
                if found:
                    return f"level {level}: {found}"
            if factors[0] != 1:
                return f"level {level}: the list starts with {factors[0]!r}, not 1"
            if len(factors) < previous:
                return f"level {level} has {len(factors)} factors, fewer than level {level - 1}"
            previous = len(factors)
        return None


Spec = Number | Factors
Schema = Mapping[str, Spec]

POSITIVE_RISING = Number(above=0, order="rising")
COUNT_RISING = Number(integer=True, at_least=1, order="rising")
SHARE_RISING = Number(above=0, at_most=1, order="rising")
