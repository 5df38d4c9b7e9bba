"""Set-up of a local worker process: it dies with its driver and reports item progress.

On Linux the kernel sends the worker SIGKILL when the driver dies (`PR_SET_PDEATHSIG`), even
when the driver is killed with SIGKILL; elsewhere a watcher thread exits once the driver is
gone. So a killed run never leaves workers writing beside its rerun.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.context import BaseContext
from multiprocessing.queues import Queue
from typing import Any

from pandaset_build.engine import progress

PR_SET_PDEATHSIG = 1
WATCH_SECONDS = 0.5

_device: str | None = None  # the device this worker process owns (one worker per GPU)


def assigned_device() -> str | None:
    """The device the executor gave this worker process, if any (`cuda:1`)."""
    return _device


def assign_device(device: str | None) -> str | None:
    """Give this process a device; the previous assignment is returned (to restore it)."""
    global _device
    previous, _device = _device, device
    return previous


def die_with(driver_pid: int) -> None:
    """Make this process end when `driver_pid` (its parent) ends."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL) == 0:
            if os.getppid() != driver_pid:  # the driver died before the call
                os._exit(1)
            return
    threading.Thread(target=_watch, args=(driver_pid,), daemon=True).start()


def _watch(driver_pid: int) -> None:
    while os.getppid() == driver_pid:
        time.sleep(WATCH_SECONDS)
    os._exit(1)


def init_worker(
    driver_pid: int, queue: Queue[Any] | None, devices: Queue[str] | None = None
) -> None:
    """Process-pool initializer: die with the driver, send item counts to `queue`, take one
    device from `devices` (each worker its own)."""
    die_with(driver_pid)
    if devices is not None:
        assign_device(devices.get())
    if queue is not None:
        progress.listen(lambda shard, key, n: queue.put((shard, key, n)))


@contextmanager
def relay(context: BaseContext, sink: progress.Sink | None) -> Iterator[Queue[Any] | None]:
    """A queue that workers put counts on and a thread that hands them to `sink` (None: none)."""
    if sink is None:
        yield None
        return
    queue: Queue[Any] = context.Queue()

    def drain() -> None:
        for item in iter(queue.get, None):
            sink(*item)

    thread = threading.Thread(target=drain, daemon=True)
    thread.start()
    try:
        yield queue
    finally:
        queue.put(None)
        thread.join()
        queue.close()
