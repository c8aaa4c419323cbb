#!/usr/bin/env bash
# Issue 5's throughput figures in one call on a GPU machine: each method's step (ResNet-18
# with the CIFAR stem, CIFAR-10's shape, batch 512, bf16 by default on CUDA), each speed
# switch flipped in turn, and lightly's own step beside it in the same process.
#
#   bash scripts/gpu-speed.sh [OUT]            # default OUT: results/speed
#
# It needs the package with the compare extra: pip install -e '.[compare]'. On a machine
# with no network, download the wheels where there is one (pip download lightly submitit
# -d .whl) and install them there with: pip install --no-index --find-links .whl lightly submitit.
# DEVICE, BATCH, STEPS and WARMUP may be set in the environment (e.g. DEVICE=cpu BATCH=16
# STEPS=1 WARMUP=0 to check the script itself anywhere).
set -euo pipefail
OUT=${1:-results/speed}
DEVICE=${DEVICE:-cuda}
BATCH=${BATCH:-512}
STEPS=${STEPS:-50}
WARMUP=${WARMUP:-20}
mkdir -p "$OUT"
for method in byol simclr simsiam; do
  ssl-bench bench --method "$method" --preset cifar10 --dataset synthetic --device "$DEVICE" \
    --batch-size "$BATCH" --steps "$STEPS" --warmup "$WARMUP" --each-switch --compare lightly \
    --out "$OUT" | tee -a "$OUT/bench.txt"
done
