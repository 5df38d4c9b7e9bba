"""Executors: where shard tasks run. The local process pool here; Ray in `engine.ray`."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

from pandaset_build.engine.progress import Sink, listen
from pandaset_build.engine.shards import ShardRecord, ShardTask, lost_record, run_shard_task
from pandaset_build.engine.worker import assign_device, init_worker, relay
from pandaset_build.errors import UsageError


class Executor(Protocol):
    def run(
        self, tasks: list[ShardTask[Any]], progress: Sink | None = None
    ) -> Iterator[ShardRecord]: ...


class LocalExecutor:
    """Runs shard tasks in this process (workers=1) or in a spawn-started process pool.

    Pool workers die with this process (`engine.worker`) and send item counts to `progress`.
    With `devices`, there is one worker per device and each owns its device for every shard
    it runs (`engine.worker.assigned_device`): one resident worker per GPU.
    """

    def __init__(self, workers: int = 1, devices: list[str] | None = None) -> None:
        if workers < 1:
            raise UsageError(f"--workers must be at least 1, got {workers}")
        if devices is not None and not devices:
            raise UsageError("--gpus: no device chosen")
        self.devices = devices
        self.workers = len(devices) if devices else workers

    def run(
        self, tasks: list[ShardTask[Any]], progress: Sink | None = None
    ) -> Iterator[ShardRecord]:
        if self.workers == 1 or len(tasks) <= 1:
            previous = listen(progress)
            device = assign_device(self.devices[0]) if self.devices else None
            try:
                yield from map(run_shard_task, tasks)
            finally:
                listen(previous)
                if self.devices:
                    assign_device(device)
            return
        context = multiprocessing.get_context("spawn")
        devices = None
        if self.devices:
            devices = context.Queue()
            for device in self.devices:
                devices.put(device)
        with (
            relay(context, progress) as queue,
            ProcessPoolExecutor(
                self.workers,
                mp_context=context,
                initializer=init_worker,
                initargs=(os.getpid(), queue, devices),
            ) as pool,
        ):
            futures = {pool.submit(run_shard_task, task): task for task in tasks}
            for future in as_completed(futures):
                try:
                    yield future.result()
                except BrokenProcessPool as err:
                    yield lost_record(futures[future], f"worker process died: {err}")


def make_executor(
    kind: str,
    workers: int = 1,
    ray_address: str = "local",
    gpus: float = 0,
    devices: list[str] | None = None,
) -> Executor:
    """The executor `--executor` names: `local` (`workers` processes, or one per device of
    `devices`) or `ray` (a cluster; `gpus` per shard: one resident actor per GPU)."""
    if kind == "local":
        return LocalExecutor(workers, devices)
    if kind == "ray":
        from pandaset_build.engine.ray import RayExecutor

        return RayExecutor(ray_address, num_gpus=gpus)
    raise UsageError(f"--executor {kind}: expected local or ray")
