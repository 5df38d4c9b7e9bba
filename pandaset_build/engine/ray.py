"""Ray executor: the same shard tasks on a Ray cluster, bounded in flight, failed shards retried.

CPU shards run as Ray tasks (Ray reuses their worker processes). GPU shards (`num_gpus` > 0)
run on a pool of resident actors, one per `num_gpus` of the cluster's GPUs: an actor is a
process that lives for the whole run, so what a shard function caches at module level (the
score stage's metric) is built once per actor. A dead actor is restarted by Ray
(`max_restarts`) and the shard it was running is retried on it (`max_task_retries`); the driver
also resubmits a shard whose function raised. Completion records stay the only source of truth.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pandaset_build.engine.shards import ShardRecord, ShardTask, lost_record, run_shard_task
from pandaset_build.errors import UsageError

LOCAL = "local"


class ShardActor:
    """A resident worker: runs shard tasks one at a time for as long as the run lasts."""

    def run(self, task: ShardTask[Any]) -> ShardRecord:
        return run_shard_task(task)


class RayExecutor:
    """Runs shard tasks on a Ray cluster; outputs go to the (shared) build path, never to Ray.

    `address`: `local` starts a private Ray instance on this machine; `auto` joins the cluster
    started here with `ray start`; anything else is a cluster address (`HOST:6379`,
    `ray://HOST:10001`). A shard that raised or whose worker died is submitted again up to
    `retries` times, and a rerun of the command skips what finished.
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
        if self.num_gpus > 0:
            yield from self._run_on_actors(ray, tasks)
            return
        remote = ray.remote(num_cpus=1, max_retries=self.retries)(run_shard_task)
        limit = self.max_in_flight or max(1, 2 * int(ray.cluster_resources().get("CPU", 1)))
        yield from self._drive(ray, tasks, lambda task, _: remote.remote(task), [None] * limit)

    def _run_on_actors(self, ray: Any, tasks: list[ShardTask[Any]]) -> Iterator[ShardRecord]:
        """One resident actor per `num_gpus` of the cluster's GPUs, each given one shard at a
        time; the actors are ended when the run ends."""
        gpus = ray.cluster_resources().get("GPU", 0)
        if gpus < self.num_gpus:
            raise UsageError(
                f"--executor ray --device cuda: the Ray cluster at {self.address} has {gpus:g} "
                "GPUs: start GPU nodes (`ray start --address HEAD:6379`) or use --device cpu"
            )
        count = min(len(tasks), int(gpus // self.num_gpus))
        actor_class = ray.remote(
            num_cpus=1,
            num_gpus=self.num_gpus,
            max_restarts=self.retries,
            max_task_retries=self.retries,
        )(ShardActor)
        actors = [actor_class.remote() for _ in range(count)]
        try:
            yield from self._drive(ray, tasks, lambda task, actor: actor.run.remote(task), actors)
        finally:
            for actor in actors:
                ray.kill(actor)

    def _drive(
        self, ray: Any, tasks: list[ShardTask[Any]], submit: Any, slots: list[Any]
    ) -> Iterator[ShardRecord]:
        """The driver loop: one shard in flight per slot (an actor, or a task's place)."""
        queue = list(reversed(tasks))
        free = list(reversed(slots))
        attempts: dict[int, int] = {}
        in_flight: dict[Any, tuple[ShardTask, Any]] = {}
        while queue or in_flight:
            while queue and free:
                task, slot = queue.pop(), free.pop()
                in_flight[submit(task, slot)] = (task, slot)
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            task, slot = in_flight.pop(ready[0])
            free.append(slot)
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
