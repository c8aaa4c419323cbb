#!/usr/bin/env bash
# What needs CUDA, checked and measured on a GPU machine in two phases (A, then B).
#
#   bash scripts/gpu-check.sh A    # CUDA-only tests, then every method's throughput (scripts/gpu-speed.sh)
#   bash scripts/gpu-check.sh B    # time to accuracy: BYOL, ResNet-18 (CIFAR stem), full Fashion-MNIST at 32 px
#
# For a GPU machine with no network: everything comes from the repo root, where the wheels
# its image lacks are placed in .whl/ beforehand (lightly and its needs, submitit) and
# Fashion-MNIST's four IDX .gz files in .gpudata/fashion-mnist/ (both ignored by git, see
# .gitignore). The package is installed from a copy of the source into $SITE (no network,
# no build isolation: the image's setuptools). Logs go to $OUT (default /tmp/out).
#
# Environment (defaults are the GPU call's; for a check of the script itself on a CPU:
#   DEVICE=cpu BATCH=8 STEPS=1 WARMUP=0 EPOCHS=1 TRAIN_SUBSET=500 TEST_SUBSET=250 OUT=/tmp/gpucheck \
#   SPEED_DIR=/tmp/gpucheck-speed bash scripts/gpu-check.sh A   (then B)):
#   DEVICE cuda; BUDGET seconds the phase may take in all (default: no limit), each step is
#   cut to what is left; SITE /tmp/site.
#   A: STEPS 30, WARMUP 15, BATCH 512, METHODS / SWITCH_METHODS / WORKERS (see gpu-speed.sh),
#      SPEED_DIR results/speed, TRAIN_SECONDS 180 (for the suggested EPOCHS of phase B).
#   B: EPOCHS 30, KNN_EVERY (default: EPOCHS/10, at least 1), PROBE torch, BATCH (default:
#      the preset's 512), TRAIN_SUBSET / TEST_SUBSET (default: the full 60k / 10k), RUN_OUT runs/gpu-tta.
set -euo pipefail
PHASE=${1:-}
if [[ $PHASE != A && $PHASE != B ]]; then
  echo "usage: bash scripts/gpu-check.sh A|B" >&2
  exit 2
fi
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/out}
DEVICE=${DEVICE:-cuda}
SITE=${SITE:-/tmp/site}
mkdir -p "$OUT"
START=$(date +%s)
BUDGET=${BUDGET:-86400}  # a day: in effect no limit
DEADLINE=$((START + BUDGET))
export PYTHONUNBUFFERED=1

left() { echo $((DEADLINE - $(date +%s))); }
cap() {  # seconds a step may take: at most $1, and $2 fewer than are left (at least 1)
  local n=$(($(left) - $2))
  echo $((n > $1 ? $1 : n < 1 ? 1 : n))
}
say() { echo "### [$(date -u +%H:%M:%S) +$(($(date +%s) - START))s] $*"; }

prologue() {
  say "gpu-check phase $PHASE on ${HOSTNAME:-?}, device $DEVICE, budget ${BUDGET}s, OUT=$OUT"
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi -L || true
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv || true
  else
    echo "(no nvidia-smi here)"
  fi
  echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(env -u OMP_NUM_THREADS nproc) cores usable"
  echo "CPU flags: $(grep -o -w 'avx2\|avx512f\|avx512_bf16\|amx_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ' || true)"
  local shm_kb
  shm_kb=$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 {print $4}' || true)
  echo "memory: $(free -g 2>/dev/null | awk 'NR == 2 {print $2 " GiB"}' || true); /dev/shm free: ${shm_kb:-?} KiB"
  if [[ $PHASE == A && -z ${WORKERS:-} && -n $shm_kb ]] && ((shm_kb < 1048576)); then
    # lightly's DataLoader workers pass batches through /dev/shm; too little of it kills the
    # whole bench (and its record), so lightly's transforms then run in the main process.
    export WORKERS=0
    echo "under 1 GiB of /dev/shm: lightly's comparison runs with WORKERS=0 (no DataLoader workers)"
  fi
  python3 -c 'import sys, torch; print("python", sys.version.split()[0], "torch", torch.__version__, "threads", torch.get_num_threads(), "|", torch.cuda.get_device_name() if torch.cuda.is_available() else "CUDA not available")'

  say "install: the wheels in .whl/ and ssl-bench (from a copy of the source) into $SITE"
  rm -rf "$SITE"
  local src
  src=$(mktemp -d /tmp/ssl-bench-src.XXXXXX)
  cp -r pyproject.toml README.md ssl_bench methods benchmarks "$src"/
  find "$src" -name __pycache__ -prune -exec rm -rf {} +
  if ! python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --no-build-isolation --upgrade \
    --target "$SITE" .whl/*.whl "$src"; then
    echo "pip could not build ssl-bench here: wheels only, the package copied by hand (package-dir of pyproject.toml)"
    rm -rf "$SITE"
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .whl/*.whl
    cp -r ssl_bench "$SITE"/
    cp -r methods "$SITE"/ssl_bench/methods
    cp -r benchmarks "$SITE"/ssl_bench/benchmarks
  fi
  rm -rf "$src"
  if [[ ! -x $SITE/bin/ssl-bench ]]; then
    mkdir -p "$SITE/bin"
    printf '#!%s\nimport sys\nfrom ssl_bench.cli import main\nsys.exit(main())\n' "$(command -v python3)" >"$SITE/bin/ssl-bench"
    chmod +x "$SITE/bin/ssl-bench"
  fi
  export PYTHONPATH=$SITE${PYTHONPATH:+:$PYTHONPATH}
  export PATH=$SITE/bin:$PATH
  SSL_BENCH=$SITE/bin/ssl-bench
  # -P (here and for pytest): the repo root off sys.path, or its ssl_bench folder, which lacks
  # methods/ and benchmarks/, would shadow the installed package.
  python3 -P - "$SITE" <<'EOF'
import sys
import lightly, lightly.loss, lightly.models.modules, lightly.transforms, submitit
import ssl_bench, ssl_bench.benchmarks, ssl_bench.methods
print("ssl_bench from", ssl_bench.__file__, "| lightly", lightly.__version__, "from", lightly.__file__,
      "| submitit", submitit.__version__)
assert ssl_bench.__file__.startswith(sys.argv[1]), "ssl_bench is not the one installed in " + sys.argv[1]
EOF
}

phase_a() {
  local speed_dir=${SPEED_DIR:-results/speed} rc
  say "1. the CUDA-only tests (no host sync in a step, CUDA augmentation = CPU's) and the compile tests"
  # -P: the repo root stays off sys.path, so ssl_bench is the installed one (methods/ and
  # benchmarks/ live outside the ssl_bench folder and exist only in the installed package).
  rc=0
  timeout -k 10 "$(cap 100 30)" python3 -P -m pytest -v -rs --durations=10 -p no:cacheprovider \
    "tests/test_speed.py::test_the_step_never_waits_for_the_device" \
    "tests/test_augment.py::test_cuda_matches_cpu" \
    "tests/test_speed.py::test_bad_compile_mode_is_refused" \
    "tests/test_speed.py::test_a_compiled_run_trains_like_the_eager_one" \
    2>&1 | tee "$OUT/pytest-cuda.txt" || rc=$?
  say "pytest exit $rc (124: cut at its time limit)"

  say "2. throughput of every method (scripts/gpu-speed.sh into $speed_dir), $(left)s left"
  if [[ -e $speed_dir ]]; then mv "$speed_dir" "/tmp/speed-before-$START"; fi
  rc=0
  DEVICE=$DEVICE BATCH=${BATCH:-512} STEPS=${STEPS:-30} WARMUP=${WARMUP:-15} SSL_BENCH=$SSL_BENCH \
    DEADLINE=$((DEADLINE - 15)) bash scripts/gpu-speed.sh "$speed_dir" 2>&1 | tee "$OUT/bench.txt" || rc=$?
  say "gpu-speed exit $rc"
  tar czf "$OUT/speed-records.tar.gz" -C "$(dirname "$speed_dir")" "$(basename "$speed_dir")" || true
  python3 - "$speed_dir" "${TRAIN_SECONDS:-180}" <<'EOF' | tee "$OUT/summary.txt" || true
import glob, json, sys
speed_dir, train_s = sys.argv[1], float(sys.argv[2])
recs = sorted((json.load(open(p)) for p in glob.glob(f"{speed_dir}/bench/*.json")), key=lambda r: r["time"])
print(f"{'method':<13} {'variant':<22} {'images/s':>9} {'step ms':>8} {'data+aug':>8} {'fwd/bwd':>8} {'optim':>6} {'ema':>6} {'peak MiB':>8}")
byol = None
for r in recs:
    m = r["config"]["method_name"]
    for v in r["variants"]:
        s = v["split_ms"]
        print(f"{m:<13} {v['label']:<22} {v['images_per_s']:>9.0f} {v['step_ms']:>8.1f} {s['data_aug']:>8.1f} "
              f"{s['forward_backward']:>8.1f} {s['optimizer']:>6.1f} {s['ema']:>6.1f} {v['peak_memory_bytes'] / 2**20:>8.0f}")
    if "compare" in r:
        c = r["compare"]
        print(f"{m:<13} {'lightly ' + c['version']:<22} {c['images_per_s']:>9.0f} {c['step_ms']:>8.1f}   "
              f"({c['workers']} workers; ssl-bench / lightly = {c['ratio']:.2f}x)")
    if m == "byol":
        byol = r
if recs:
    r = recs[0]
    print(f"\n{r['device_name']}, batch {r['config']['train']['batch_size']}, {r['steps']} steps after {r['warmup']}, "
          f"torch {r['provenance']['versions']['torch']}")
if byol:
    ips = byol["images_per_s"]
    epochs = max(1, int(train_s * ips / 60000))
    print(f"phase B: BYOL as configured ran {ips:.0f} images/s on synthetic CIFAR-shaped data; "
          f"{train_s:.0f} s of training is about {train_s * ips / 60000:.1f} epochs of Fashion-MNIST's 60,000 "
          f"images: EPOCHS={epochs}")
else:
    print("no BYOL record: phase B keeps its default EPOCHS")
EOF
}

phase_b() {
  local epochs=${EPOCHS:-30} run_out=${RUN_OUT:-runs/gpu-tta} rc
  local knn_every=${KNN_EVERY:-$((epochs >= 10 ? epochs / 10 : 1))}
  local args=(--method byol --preset cifar10 --dataset fashion-mnist --data-dir .gpudata/fashion-mnist
    --device "$DEVICE" --epochs "$epochs" --out "$run_out"
    --set data.image_size=32 --set eval.knn_every="$knn_every" --set eval.probe="${PROBE:-torch}")
  if [[ -n ${BATCH:-} ]]; then args+=(--batch-size "$BATCH"); fi
  if [[ -n ${TRAIN_SUBSET:-} ]]; then args+=(--set data.train_subset="$TRAIN_SUBSET"); fi
  if [[ -n ${TEST_SUBSET:-} ]]; then args+=(--set data.test_subset="$TEST_SUBSET"); fi
  rm -rf "$run_out"
  say "time to accuracy: ssl-bench run ${args[*]}, $(left)s left"
  rc=0
  timeout -k 15 "$(cap 100000 15)" "$SSL_BENCH" run "${args[@]}" 2>&1 | tee "$OUT/train.txt" || rc=$?
  say "ssl-bench run exit $rc (124: cut at its time limit; the epochs' kNN lines above are the curve)"
  local rec
  rec=$(find "$run_out" -name record.json | head -1)
  if [[ -n $rec ]]; then
    cp "$rec" "$OUT/record.json"
    cp "$(dirname "$rec")/config.json" "$OUT/config.json" || true
  else
    echo "no record.json under $run_out"
    find "$run_out" -maxdepth 2 -name config.json -exec cp {} "$OUT/config.json" \; || true
    return 1
  fi
  python3 - "$OUT/record.json" <<'EOF' | tee "$OUT/tta-summary.txt"
import json, sys
r = json.load(open(sys.argv[1]))
c, m, ri, cost = r["config"], r["metrics"], r["random_init"], r["cost"]
print(f"{c['method_name']}, {c['backbone']}, {c['data']['dataset']} at {c['data']['image_size']} px, "
      f"batch {c['train']['batch_size']}, {c['train']['epochs']} epochs, precision {c['train']['precision']}, "
      f"channels_last {c['train']['channels_last']}, compile {c['train']['compile']}, on {cost['device_name']}")
print(f"training {cost['train_wall_s']:.1f} s ({cost['images_per_s']:.0f} images/s, {cost['steps']} steps), "
      f"curve kNN {cost['curve_eval_s']:.1f} s, final evaluation {cost['eval_wall_s']:.1f} s, "
      f"peak memory {cost['peak_memory_bytes'] / 2**30:.2f} GiB")
print("\nkNN top-1 against training minutes:")
for p in r["time_to_accuracy"]:
    print(f"  epoch {p['epoch']:>4}  {p['train_min']:6.2f} min  kNN {100 * p['knn_top1']:5.2f}%")
print(f"\n{'':<16} {'trained':>8} {'random':>8}")
for k in ("knn_top1", "linear_top1", "linear_top5"):
    if k in m:
        print(f"{k:<16} {100 * m[k]:>7.2f}% {100 * ri.get(k, float('nan')):>7.2f}%")
for f, v in m.get("low_label", {}).items():
    rv = ri.get("low_label", {}).get(f, {})
    print(f"{'linear@' + f:<16} {100 * v['top1']:>7.2f}% {100 * rv.get('top1', float('nan')):>7.2f}%  ({v['images']} labels)")
print(f"final loss {m['final_loss']:.4f}")
EOF
}

main() {
  local status=0
  prologue
  if [[ $PHASE == A ]]; then phase_a || status=$?; else phase_b || status=$?; fi
  say "phase $PHASE done (exit $status); files in $OUT: $(cd "$OUT" && ls | tr '\n' ' ')"
  return $status
}

main 2>&1 | tee "$OUT/log-$PHASE.txt"
