"""Ingest throughput and peak RSS: the shard engine vs a naive load-everything-then-write loop.

Run: python benchmarks/ingest.py [--counts 500 1000] [--workers 2]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from common import make_dataset, measure

STAGE = """
from pathlib import Path
from pandaset_build.store.build import open_build
from pandaset_build.engine.executors import LocalExecutor
from pandaset_build.stages.ingest import ingest
build = open_build(Path({build!r}), "default")
report = ingest(build, "folder", Path({data!r}), LocalExecutor({workers}))
assert report.ok, report.failures[:3]
"""

NAIVE = """
from pathlib import Path
import pyarrow as pa, pyarrow.parquet as pq
from pandaset_build.sources import folder
from pandaset_build.store.tables import SOURCES
items, _ = folder.list_items(Path({data!r}))
rows = [folder.load_item(item).to_row() for item in items]
for row in rows:
    row["split"] = "train"
pq.write_table(pa.Table.from_pylist(rows, schema=SOURCES), {out!r})
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--counts", type=int, nargs="+", default=[500, 1000])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(f"{'images':>7} {'stage img/s':>12} {'stage MB':>9} {'naive img/s':>12} "
          f"{'naive MB':>9} {'speed ratio':>12}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for count in args.counts:
            data = make_dataset(Path(tmp) / f"data{count}", count, size=args.size, regions=16)
            build = Path(tmp) / f"build{count}"
            stage = measure(STAGE.format(build=str(build), data=str(data), workers=args.workers))
            naive = measure(NAIVE.format(data=str(data), out=str(Path(tmp) / f"naive{count}.pq")))
            stage_rate, naive_rate = count / stage["seconds"], count / naive["seconds"]
            print(f"{count:>7} {stage_rate:>12.1f} {stage['peak_mb']:>9.0f} {naive_rate:>12.1f} "
                  f"{naive['peak_mb']:>9.0f} {stage_rate / naive_rate:>11.2f}x")  # fmt: skip
    print("peak MB: the largest of the driver and its worker processes")


if __name__ == "__main__":
    main()
