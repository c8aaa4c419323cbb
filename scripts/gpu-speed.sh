#!/usr/bin/env bash
# The GPU throughput figures in one call on a GPU machine: each method's step (ResNet-18
# with the CIFAR stem, CIFAR-10's shape, batch 512, bf16 by default on CUDA). For the
# methods lightly has (byol, simclr, simsiam): each speed switch flipped in turn, and
# lightly's own step beside it in the same process; the other registered methods are
# timed as configured.
#
#   bash scripts/gpu-speed.sh [OUT]            # default OUT: results/speed
#
# It needs the package with the compare extra: pip install -e '.[compare]'. On a machine
# with no network, download the wheels where there is one (pip download lightly submitit
# -d .whl) and install them there with: pip install --no-index --find-links .whl lightly submitit.
# (scripts/gpu-check.sh does all of this, from the wheels in .whl/ and the data in .gpudata/.)
# DEVICE, BATCH, STEPS and WARMUP may be set in the environment (e.g. DEVICE=cpu BATCH=16
# STEPS=1 WARMUP=0 to check the script itself anywhere). Also:
#   METHODS          methods in order (default: byol, then the methods lightly lacks, then
#                    simclr and simsiam, i.e. every registered method)
#   SWITCH_METHODS   those timed with --each-switch --compare lightly (default: byol simclr simsiam)
#   WORKERS          lightly's DataLoader workers (default: cores, at most 16)
#   BENCH_TIMEOUT    seconds one method may take (default: no limit)
#   DEADLINE         a time (seconds since the epoch) to finish by: a method that would
#                    start with under MIN_BENCH_S (default 25) seconds left is skipped
#   SSL_BENCH        the command (default: ssl-bench)
# Every line is stamped [clock +seconds since the method's start] so compile time shows.
# A method that fails is reported (FAILED, with its output above) and the others still
# run; the exit status is 1 if any failed or was skipped.
set -euo pipefail
OUT=${1:-results/speed}
DEVICE=${DEVICE:-cuda}
BATCH=${BATCH:-512}
STEPS=${STEPS:-50}
WARMUP=${WARMUP:-20}
SWITCH_METHODS=${SWITCH_METHODS:-byol simclr simsiam}
SSL_BENCH=${SSL_BENCH:-ssl-bench}
MIN_BENCH_S=${MIN_BENCH_S:-25}
if [[ -z ${METHODS:-} ]]; then
  registered=$($SSL_BENCH list methods | awk '{print $1}')
  METHODS="byol $(for m in $registered; do [[ " $SWITCH_METHODS " == *" $m "* ]] || echo "$m"; done)"
  for m in $SWITCH_METHODS; do [[ $m == byol ]] || METHODS+=" $m"; done
  METHODS=$(echo $METHODS)
fi
mkdir -p "$OUT"
log() { echo "$*" | tee -a "$OUT/bench.txt"; }
stamp() {  # prefix each line with the clock and the seconds since $1
  local t0=$1 line
  while IFS= read -r line; do
    printf '[%s +%3ds] %s\n' "$(date -u +%H:%M:%S)" $((SECONDS - t0)) "$line"
  done
}
failed=()
log "== gpu-speed: device $DEVICE, batch $BATCH, $STEPS timed steps after $WARMUP; methods: $METHODS" \
  "(each switch + lightly: $SWITCH_METHODS); $(date -u +%FT%TZ)"
for method in $METHODS; do
  extra=()
  if [[ " $SWITCH_METHODS " == *" $method "* ]]; then
    extra=(--each-switch --compare lightly)
    if [[ -n ${WORKERS:-} ]]; then extra+=(--workers "$WORKERS"); fi
  fi
  limit=()
  left=${BENCH_TIMEOUT:-}
  if [[ -n ${DEADLINE:-} ]]; then
    until_deadline=$((DEADLINE - $(date +%s)))
    if ((until_deadline < MIN_BENCH_S)); then
      log "== $method: SKIPPED, ${until_deadline}s left before the deadline"
      failed+=("$method(skipped)")
      continue
    fi
    if [[ -z $left ]] || ((until_deadline < left)); then left=$until_deadline; fi
  fi
  if [[ -n $left ]]; then limit=(timeout -k 10 "$left"); fi
  t0=$SECONDS
  log "== $method ${extra[*]} $(date -u +%H:%M:%S)${left:+ (limit ${left}s)}"
  if ! PYTHONUNBUFFERED=1 "${limit[@]}" $SSL_BENCH bench --method "$method" --preset cifar10 --dataset synthetic \
    --device "$DEVICE" --batch-size "$BATCH" --steps "$STEPS" --warmup "$WARMUP" "${extra[@]}" \
    --out "$OUT" 2>&1 | stamp "$t0" | tee -a "$OUT/bench.txt"; then
    log "== $method: FAILED (exit ${PIPESTATUS[0]}) after $((SECONDS - t0))s"
    failed+=("$method")
  else
    log "== $method: done in $((SECONDS - t0))s"
  fi
done
if ((${#failed[@]})); then
  log "== gpu-speed: failed or skipped: ${failed[*]}"
  exit 1
fi
log "== gpu-speed: all done"
