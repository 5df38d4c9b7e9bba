"""A Ray worker setup hook for tests: each metric construction appends the worker's pid to the
file `PANDASET_TEST_LOADS` names, and each image waits a little (so a kill lands mid-shard)."""

from __future__ import annotations

import os
import time

from pandaset_build.stages import score

IMAGE_DELAY_S = 0.4


def count_metric_loads() -> None:
    load, prepare = score.load_metric, score.prepare_image

    def counted(*args, **kwargs):
        with open(os.environ["PANDASET_TEST_LOADS"], "a") as log:
            log.write(f"{os.getpid()}\n")
        return load(*args, **kwargs)

    def slow(*args, **kwargs):
        time.sleep(IMAGE_DELAY_S)
        return prepare(*args, **kwargs)

    score.load_metric = counted
    score.prepare_image = slow
