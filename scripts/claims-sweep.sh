#!/usr/bin/env bash
# The runs every claim reads at the cpu preset, into results/records, seed-major within
# each grid: every row of a grid (so of each of its claims) at seed s before any at seed
# s + 1, so an interrupted sweep leaves balanced comparisons; then the seeds its claims need
# for 80 % power; grid after grid, so that it decides the claims of one grid after another
# rather than none until the last grid's last seed. Then the results index of both papers.
# Idempotent: run it again and it launches only what is missing, failed or interrupted (an
# interrupted run resumes from its checkpoint), so it can be spread over several
# invocations; SEEDS=3,4 adds seeds to the same records.
#
# Both papers' claims: the BYOL paper's grids, then the SimSiam paper's. At the cpu preset
# each grid holds only the rows its claims read: 40 points a seed, 32 distinct runs of 20
# epochs (a config two grids share trains once; 14 of them the BYOL paper's). The report
# prints, for each claim, how many seeds it needs for 80 % power at the seed noise measured
# on the runs so far, and the sweep then adds them to the rows that claim reads (below).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-results/records}
JOBS=${JOBS:-1}
SEEDS=${SEEDS:-0,1,2}
# Each grid as `ssl-bench run` takes it: the BYOL paper's, then the SimSiam paper's.
GRIDS=(
  "--method byol,simclr --ablation batch_size"
  "--method byol --ablation tau"
  "--method byol --ablation predictor"
  "--method byol,simclr --ablation augmentation"
)
for grid in stop_gradient predictor similarity symmetry heads_bn simclr multi_step; do
  GRIDS+=("--paper simsiam --ablation $grid")
done
# Both sides of every comparison from one machine: the sweep refuses to add runs on a CPU
# (model, cores, vector extensions) or torch version other than the one its grids'
# finished runs ran on, unless MIXED_MACHINES=1 (the report then flags each such verdict).
[ "${MIXED_MACHINES:-0}" = 1 ] || python -m ssl_bench.one_machine "$OUT" "${GRIDS[@]}" || exit 2
# Each grid at the seeds of SEEDS, seed by seed; then, before the next grid, each of its
# claims to the seeds it needs for 80 % power at the seed noise of the rows it compares (the
# report's "seeds for 80 % power", at most 8), on those rows only: the noise is re-estimated
# from each row's spread over its seeds, never from the differences the claims test
# (`ssl_bench/seeds_for_power.py`, which prints a seed, a method and that seed's rows per
# line, tab-separated). So a grid is finished, power pass included, before the next starts.
# POWER_SEEDS=0 keeps the seeds of SEEDS.
for grid in "${GRIDS[@]}"; do
  for seed in ${SEEDS//,/ }; do  # the same grid at each seed in turn
    # shellcheck disable=SC2086  # a grid's flags split into words on purpose
    ssl-bench run $grid --seed "$seed" --jobs "$JOBS" --out "$OUT"
  done
  [ "${POWER_SEEDS:-1}" = 1 ] || continue
  while IFS=$'\t' read -r -a run; do
    rows=()
    for row in "${run[@]:2}"; do rows+=(--row "$row"); done
    # shellcheck disable=SC2086
    ssl-bench run $grid --method "${run[1]}" "${rows[@]}" --seed "${run[0]}" --jobs "$JOBS" --out "$OUT" </dev/null
  done < <(python -m ssl_bench.seeds_for_power "$OUT" "$grid")
done
ssl-bench report --ablation all --seeds found --runs "$OUT" --out results
