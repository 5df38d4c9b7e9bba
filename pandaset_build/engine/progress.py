"""Item progress from inside shard tasks: counts as they happen, not only when a shard ends.

A shard function's `ShardOutcome.add` calls `emit`; in the driver's process the counts go to a
callback, in a local worker process to a queue the driver drains (`engine.worker`). Elsewhere
(Ray workers) nothing listens and the driver counts from the completion records.
"""

from __future__ import annotations

from collections.abc import Callable

Sink = Callable[[str, str, int], None]  # (shard id "stage/name", count key, n)

_sink: Sink | None = None
_shard = ""


def listen(sink: Sink | None) -> Sink | None:
    """Send this process's counts to `sink` (None: to nobody); returns the previous sink."""
    global _sink
    previous, _sink = _sink, sink
    return previous


def begin(stage: str, shard: str) -> None:
    """Counts emitted from now on belong to this shard."""
    global _shard
    _shard = f"{stage}/{shard}"


def emit(key: str, n: int = 1) -> None:
    if _sink is not None:
        _sink(_shard, key, n)
