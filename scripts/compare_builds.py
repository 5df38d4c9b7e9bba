"""Compare two build directories file by file: same names and same bytes.

Run: python scripts/compare_builds.py BUILD_A BUILD_B [--ignore GLOB ...]

Exits 0 when every file matches, 1 otherwise, listing the differences. Files that record when
or where they were made (the lock, PANDA's train log with its timings) are ignored by default.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import sys
from pathlib import Path

VOLATILE = (".lock", "_done/*", "panda/train_log.jsonl")


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
    differ = sorted(n for n in set(a) & set(b) if a[n] != b[n])
    for label, names in (("only in A", only_a), ("only in B", only_b), ("differ", differ)):
        for name in names:
            print(f"{label}: {name}")
    print(
        f"{len(set(a) & set(b)) - len(differ)} files identical, {len(differ)} differ, "
        f"{len(only_a)} only in A, {len(only_b)} only in B"
    )
    return 1 if only_a or only_b or differ else 0


if __name__ == "__main__":
    sys.exit(main())
