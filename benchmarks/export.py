"""Export throughput and peak RSS: streamed `export_hf` vs a load-everything baseline.

Usage: python benchmarks/export.py [--images 100 200] [--size 128] [--regions 8]
Each measurement runs in a fresh subprocess; peak RSS is that process's ru_maxrss.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # the synthetic scored build of the tests

from datasets import Dataset  # noqa: E402
from scored_build import make_scored_build  # noqa: E402

from pandaset_build.formats.features import CONFIGS  # noqa: E402
from pandaset_build.formats.hf import export_hf, pair_row, reference_row, version_row  # noqa: E402
from pandaset_build.labels.pairs import image_pairs  # noqa: E402
from pandaset_build.store.build import open_build  # noqa: E402
from pandaset_build.store.scored import ScoredBuild  # noqa: E402


def naive_export(root: Path) -> int:
    """Every row of every configuration in memory, then `Dataset.from_list` and `to_parquet`."""
    build = open_build(root)
    scored = ScoredBuild(build)
    rows: dict[tuple[str, str], list[dict]] = {}
    for image in scored.iter_images():
        rows.setdefault(("references", image.split), []).append(reference_row(image))
        for version in scored.versions:
            rows.setdefault(("versions", image.split), []).append(
                version_row(build, image, version)
            )
        for pair in image_pairs(image, scored.versions, build.recipe.comparison):
            rows.setdefault(("pairs", image.split), []).append(pair_row(pair))
    out = root / "export" / "naive"
    for (config, split), config_rows in rows.items():
        path = out / config / f"{split}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        Dataset.from_list(config_rows, features=CONFIGS[config]).to_parquet(str(path))
    return sum(len(r) for r in rows.values())


def streamed_export(root: Path) -> int:
    summary = export_hf(open_build(root))
    return sum(n for per_split in summary.rows.values() for n in per_split.values())


def child(mode: str, root: Path) -> None:
    start = time.perf_counter()
    rows = (streamed_export if mode == "streamed" else naive_export)(root)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_rss_mib": peak}))


def measure(mode: str, root: Path) -> dict:
    shutil.rmtree(root / "export", ignore_errors=True)
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(root)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, nargs="+", default=[100, 200])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--regions", type=int, default=8)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "BUILD"))
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    print(f"images {args.size}px, {args.regions} regions, 16 versions, shard_bytes of the recipe")
    print(f"{'images':>6} {'mode':>9} {'rows':>7} {'s':>7} {'rows/s':>8} {'peak RSS MiB':>13}")
    for n in args.images:
        with tempfile.TemporaryDirectory() as tmp:
            tags = {"train": [f"img{i:05d}.png" for i in range(n)]}
            build = make_scored_build(Path(tmp), tags, regions=args.regions, size=args.size)
            results = {mode: measure(mode, build.root) for mode in ("streamed", "naive")}
        for mode, r in results.items():
            rate = r["rows"] / r["seconds"]
            print(
                f"{n:>6} {mode:>9} {r['rows']:>7} {r['seconds']:>7.1f} {rate:>8.0f} "
                f"{r['peak_rss_mib']:>13.0f}"
            )
        speed = results["streamed"]["seconds"] / results["naive"]["seconds"]
        memory = results["naive"]["peak_rss_mib"] / results["streamed"]["peak_rss_mib"]
        print(f"{n:>6} streamed/naive time x{speed:.2f}, naive/streamed peak RSS x{memory:.2f}")


if __name__ == "__main__":
    main()
