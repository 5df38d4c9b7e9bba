"""Ray executor: the same shard tasks as Ray tasks, bounded in flight, failed shards retried."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pandaset_build.engine.shards import ShardRecord, ShardTask, lost_record, run_shard_task

LOCAL = "local"


class RayExecutor:
    """Runs shard tasks on a Ray cluster; outputs go to the (shared) build path, never to Ray.

    `address`: `local` starts a private Ray instance on this machine; `auto` joins the cluster
    started here with `ray start`; anything else is a cluster address (`HOST:6379`,
    `ray://HOST:10001`). Completion records stay the only source of truth: a shard that
    raised or whose worker died is submitted again up to `retries` times, and a rerun of the
    command skips what finished.
    """

    def __init__(
        self,
        address: str = LOCAL,
        max_in_flight: int | None = None,
        retries: int = 3,
        num_cpus: int | None = None,
        num_gpus: float = 0,
    ) -> None:
        self.address = address
        self.max_in_flight = max_in_flight
        self.retries = retries
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus

    def _connect(self) -> Any:
        import ray

        if not ray.is_initialized():
            if self.address == LOCAL:
                ray.init(num_cpus=self.num_cpus, log_to_driver=False)
            else:
                ray.init(address=self.address, log_to_driver=False)
        return ray

    def run(self, tasks: list[ShardTask[Any]], progress: Any = None) -> Iterator[ShardRecord]:
        """Run the tasks; item counts come with each record (`progress` is not streamed)."""
        if not tasks:
            return
        ray = self._connect()
        remote = ray.remote(num_cpus=1, num_gpus=self.num_gpus, max_retries=self.retries)(
            run_shard_task
        )
        limit = self.max_in_flight or max(1, 2 * int(ray.cluster_resources().get("CPU", 1)))
        queue = list(reversed(tasks))
        attempts: dict[int, int] = {}
        in_flight: dict[Any, ShardTask] = {}
        while queue or in_flight:
            while queue and len(in_flight) < limit:
                task = queue.pop()
                in_flight[remote.remote(task)] = task
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            task = in_flight.pop(ready[0])
            try:
                record = ray.get(ready[0])
            except ray.exceptions.RayError as err:
                record = lost_record(task, f"{type(err).__name__}: {err}")
            tries = attempts.get(task.shard.index, 0)
            if record.error and tries < self.retries:
                attempts[task.shard.index] = tries + 1
                queue.append(task)
                continue
            yield record
