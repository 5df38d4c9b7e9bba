"""Work done on CPU threads ahead of its use, in order, with a bounded number in flight."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


def prefetch(
    function: Callable[[In], Out], items: Iterable[In], depth: int, threads: int = 1
) -> Iterator[tuple[In, Future[Out]]]:
    """Yield `(item, future of function(item))` in item order, at most `depth` ahead of the
    consumer; the caller takes `.result()` (which raises what the function raised)."""
    with ThreadPoolExecutor(threads, thread_name_prefix="prefetch") as pool:
        window: deque[tuple[In, Future[Out]]] = deque()
        for item in items:
            window.append((item, pool.submit(function, item)))
            if len(window) > depth:
                yield window.popleft()
        while window:
            yield window.popleft()
