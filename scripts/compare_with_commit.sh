#!/usr/bin/env bash
# Build the quickstart at COMMIT and in this checkout, then compare the two builds file by file.
# Usage: scripts/compare_with_commit.sh COMMIT [WORK_DIR]   (e.g. the commit before a refactor)
set -euo pipefail
commit=${1:?usage: scripts/compare_with_commit.sh COMMIT [WORK_DIR]}
work=${2:-$(mktemp -d /tmp/pandaset-compare.XXXXXX)}
root=$(git rev-parse --show-toplevel)
quickstart=(run --recipe quickstart --workers 2 --panda panda_quickstart --random-backbone)
git -C "$root" worktree add --detach "$work/tree" "$commit" >/dev/null
trap 'git -C "$root" worktree remove --force "$work/tree"' EXIT
(cd "$work/tree" && PYTHONPATH="$work/tree" python -m pandaset_build "${quickstart[@]}" \
  --build "$work/before" >"$work/before.log" 2>&1)
(cd "$root" && PYTHONPATH="$root" python -m pandaset_build "${quickstart[@]}" \
  --build "$work/after" >"$work/after.log" 2>&1)
python "$root/scripts/compare_builds.py" "$work/before" "$work/after"
