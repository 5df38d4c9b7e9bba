#!/usr/bin/env bash
# The GPU checks of issue 17, for a machine with a CUDA GPU (about 10 minutes on one H100/H200).
# Run from the repository root with the package's environment active; figures go to stdout and
# to $OUT (default ./gpu_check) for docs/benchmarks.md.
set -euo pipefail
OUT=${OUT:-gpu_check}
mkdir -p "$OUT"
export HF_HUB_OFFLINE=1 PYTHONPATH=${PYTHONPATH:-$PWD}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
# 1. speed: regions/s with the default batch, GPU busy share, projection for 630K regions
timeout 240 python benchmarks/score.py --device cuda --tags coffee.png chelsea.png \
  | tee "$OUT/speed.txt"
# 2. agreement: CPU fp32 vs GPU fp32, GPU fp32 vs tf32 and bf16 (largest difference, flips)
for pair in "fp32@cpu fp32@cuda" "fp32@cuda tf32@cuda" "fp32@cuda bf16@cuda"; do
  # shellcheck disable=SC2086
  timeout 150 python benchmarks/score.py --compare $pair --tags coffee.png --regions 4 \
    | tee -a "$OUT/agreement.txt"
done
# 3. the score stage on the GPU end to end, and PANDA for a few steps
BUILD=$(mktemp -d)/b
timeout 300 pandaset-build run --recipe quickstart --build "$BUILD" --device cuda \
  --panda panda_quickstart --random-backbone 2>&1 | tail -40 | tee "$OUT/run.txt"
