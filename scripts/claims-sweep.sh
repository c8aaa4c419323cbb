#!/usr/bin/env bash
# The runs every claim of the paper reads, at three seeds, at the cpu preset, into
# results/records; then the results index. Idempotent: run it again and it launches only
# what is missing, failed or interrupted (an interrupted run resumes from its checkpoint),
# so it can be spread over several invocations. The rows that decide most claims come first:
# augmentation, tau, the predictor grid's collapse rows, the batch-size grid's base and
# 16x rows (the batch-4 runs, 16 micro-batches of 4 per update, are 2-3x slower); the 18
# rows with negatives, which one claim reads together, come last.
#
# About 70 runs: about 2 minutes each on a fast 2-core CPU (Intel Xeon with AVX-512),
# about 8 on the AVX2-only AMD EPYC (bench 170 images/s); see the README's timing table.
# JOBS=2 trains two runs at once with one thread each: on that EPYC, 126 to 158 images/s
# each against about 195 for one run on both cores (measured on the predictor grid's rows).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-results/records}
JOBS=${JOBS:-1}
ssl-bench run --method byol,simclr --ablation augmentation --seeds 0,1,2 \
  --row baseline --row "remove color (jitter and grayscale)" --row "crop only" --jobs "$JOBS" --out "$OUT"
ssl-bench run --method byol --ablation tau --seeds 0,1,2 --jobs "$JOBS" --out "$OUT"
mapfile -t ROWS < <(python -c "from ssl_bench.benchmarks.predictor import CLAIM_ROWS; print(*CLAIM_ROWS, sep='\n')")
# CLAIM_ROWS: BYOL, no predictor, neither (the collapse claims), then the rows with negatives.
FIRST=("${ROWS[@]:0:3}")
ssl-bench run --method byol --ablation predictor --seeds 0,1,2 "${FIRST[@]/#/--row=}" --jobs "$JOBS" --out "$OUT"
ssl-bench run --method byol,simclr --ablation batch_size --seeds 0,1,2 --row 64 --row 4 --jobs "$JOBS" --out "$OUT"
ssl-bench run --method byol --ablation predictor --seeds 0,1,2 "${ROWS[@]/#/--row=}" --jobs "$JOBS" --out "$OUT"
ssl-bench report --ablation all --seeds found --runs "$OUT" --out results
