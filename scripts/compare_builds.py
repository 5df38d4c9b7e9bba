"""Compare two build directories file by file: same names and same bytes.

Run: python scripts/compare_builds.py BUILD_A BUILD_B [--ignore GLOB ...]

Exits 0 when every file matches, 1 otherwise, listing the differences. Files that record when
or where they were made (the lock, completion records with their timings, PANDA's train log)
are ignored by default; source tables that differ only in the absolute paths of the input files
(two checkouts in two folders) count as equal and are listed as such.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import sys
from pathlib import Path

VOLATILE = (".lock", "_done/*", "panda/train_log.jsonl")
PATH_COLUMNS = ("image_path", "depth_path", "isp_path")


def same_but_paths(a: Path, b: Path) -> bool:
    """Whether two parquet tables are equal once the input-file path columns are left out."""
    import pyarrow.parquet as pq

    ta, tb = pq.read_table(a), pq.read_table(b)
    keep = [c for c in ta.column_names if c not in PATH_COLUMNS]
    return ta.column_names == tb.column_names and ta.select(keep).equals(tb.select(keep))


def digests(root: Path, ignore: tuple[str, ...]) -> dict[str, str]:
    """Relative path -> SHA-256 of every file under root, minus the ignored patterns."""
    found = {}
    for path in sorted(root.rglob("*")):
        name = str(path.relative_to(root))
        if path.is_file() and not any(fnmatch.fnmatch(name, p) for p in ignore):
            found[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    parser.add_argument("--ignore", nargs="*", default=[], help="extra glob patterns to skip")
    args = parser.parse_args()
    ignore = (*VOLATILE, *args.ignore)
    a, b = digests(args.a, ignore), digests(args.b, ignore)
    only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
    changed = sorted(n for n in set(a) & set(b) if a[n] != b[n])
    paths = [
        n for n in changed if n.endswith(".parquet") and same_but_paths(args.a / n, args.b / n)
    ]
    differ = [n for n in changed if n not in paths]
    for name in paths:
        print(f"same but input paths: {name}")
    for label, names in (("only in A", only_a), ("only in B", only_b), ("differ", differ)):
        for name in names:
            print(f"{label}: {name}")
    print(
        f"{len(set(a) & set(b)) - len(changed)} files identical, {len(paths)} same but input "
        f"paths, {len(differ)} differ, {len(only_a)} only in A, {len(only_b)} only in B"
    )
    return 1 if only_a or only_b or differ else 0


if __name__ == "__main__":
    sys.exit(main())
