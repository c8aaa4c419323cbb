"""`ssl-bench bench` (the training step's throughput) and `ssl-bench bench-probe` (the
torch linear probe on ImageNet-shaped features)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ssl_bench.cli.common import BadInput, add_config_options, check_writable, configs_from, validate_device


def register(sub: argparse._SubParsersAction) -> None:
    b = sub.add_parser(
        "bench",
        help="time the training step: images/s, step-time split, peak memory",
        description="Steady-state throughput of one method's training step on one device (the loop's own "
        "step, queued back to back), then each part timed behind a device sync: data+augmentation, "
        "forward+backward, optimizer, EMA. Speed switches are config fields: --set train.compile=default, "
        "--set train.channels_last=true, --set train.precision=bf16. Writes a record under --out/bench/.",
    )
    add_config_options(b, method_default="byol", method_help="one method (see: ssl-bench list methods)")
    b.add_argument("--steps", type=int, default=30, help="timed steps (default 30)")
    b.add_argument("--warmup", type=int, default=10, help="untimed steps first (default 10)")
    b.add_argument(
        "--each-switch",
        action="store_true",
        help="also time the step with each speed switch (precision, channels_last, compile) flipped in turn",
    )
    b.add_argument(
        "--compare",
        choices=["lightly"],
        default=None,
        help="also time lightly's own modules and transforms (same backbone, batch, precision) and print the ratio; "
        "needs: pip install 'ssl-bench[compare]'",
    )
    b.add_argument(
        "--workers", type=int, default=None, help="DataLoader workers for --compare (default: cores, max 16)"
    )
    b.add_argument("--out", default="runs")
    b.set_defaults(epochs=None, resume=None)
    b.set_defaults(func=cmd_bench)

    bp = sub.add_parser(
        "bench-probe",
        help="time the torch linear probe on synthetic features (ImageNet's shape, or a fraction of it)",
        description="Time and peak memory of ssl_bench.probe (full-batch L-BFGS, 50 iterations, float32) on "
        "synthetic features: --fraction of ImageNet's 1,281,167 training images × 2048 dims × 1000 classes.",
    )
    bp.add_argument("--fraction", type=float, default=1.0, help="of ImageNet's training set (default 1)")
    bp.add_argument("--dim", type=int, default=2048)
    bp.add_argument("--classes", type=int, default=1000)
    bp.add_argument("--device", default="auto")
    bp.set_defaults(func=cmd_bench_probe)


def cmd_bench(args: argparse.Namespace) -> int:
    import time

    from ssl_bench.bench import PEAK_DTYPES, bench, efficiency_line, format_line, matmul_peak_gflops, switch_variants
    from ssl_bench.device import resolve_device
    from ssl_bench.records import write_json_atomic
    from ssl_bench.train import load_run_data

    validate_device(args.device)
    if args.steps < 1 or args.warmup < 0:
        raise BadInput(f"--steps {args.steps} must be >= 1 and --warmup {args.warmup} >= 0")
    if args.workers is not None and args.workers < 0:
        raise BadInput(f"--workers {args.workers} must be >= 0")
    if "," in args.method:
        raise BadInput(f"--method {args.method!r}: bench takes one method")
    check_writable(Path(args.out), "--out")
    (cfg,) = configs_from(args)
    if args.compare == "lightly":
        from ssl_bench.compare_lightly import check_comparable

        check_comparable(cfg)
    device = resolve_device(args.device)
    data = load_run_data(cfg, args.data_dir)
    print(
        f"{cfg.method_name}, {cfg.backbone}, batch {cfg.train.batch_size}, {cfg.data.dataset}, "
        f"{args.steps} timed steps after {args.warmup}, on {device}"
    )
    results = []
    variants = [("as configured", cfg)]
    while variants:
        label, variant = variants.pop(0)
        rec = bench(variant, args.device, steps=args.steps, warmup=args.warmup, data=data)
        rec["label"] = label
        results.append(rec)
        print(format_line(label, rec, results[0]["images_per_s"] if len(results) > 1 else None), flush=True)
        if len(results) == 1 and args.each_switch:
            # Flipped from what the configured step resolved to on this device.
            variants = switch_variants(cfg, rec["switches"])
    peaks = {name: matmul_peak_gflops(device, dtype) for name, dtype in PEAK_DTYPES.items()}
    print(efficiency_line(results[0], peaks))
    rec = {
        **results[0],
        "matmul_peak_gflops": peaks,
        "variants": [
            {
                k: r[k]
                for k in (
                    "label",
                    "switches",
                    "images_per_s",
                    "step_ms",
                    "split_ms",
                    "flops_per_update",
                    "achieved_gflops",
                    "peak_memory_bytes",
                    "page_faults_per_update",
                )
            }  # fmt: skip
            for r in results
        ],
    }
    if args.compare == "lightly":
        from ssl_bench.compare_lightly import bench_lightly

        theirs = bench_lightly(cfg, device, data, args.steps, args.warmup, args.workers)
        theirs["ratio"] = rec["images_per_s"] / theirs["images_per_s"]
        rec["compare"] = theirs
        print(
            f"{'lightly ' + theirs['version']:<24} {theirs['images_per_s']:>9.0f} images/s  step "
            f"{theirs['step_ms']:.1f} ms ({theirs['workers']} DataLoader workers); ssl-bench / lightly = "
            f"{theirs['ratio']:.2f}x"
        )
    path = Path(args.out) / "bench" / f"{rec['run_id']}-{rec['device'].replace(':', '')}-{int(time.time())}.json"
    write_json_atomic(path, rec)
    print(f"record: {path}")
    return 0


def cmd_bench_probe(args: argparse.Namespace) -> int:
    from ssl_bench.device import device_name, resolve_device
    from ssl_bench.probe import bench_probe

    validate_device(args.device)
    if not 0 < args.fraction <= 1 or args.dim < 1 or args.classes < 2:
        raise BadInput(
            f"--fraction {args.fraction} must be in (0, 1], --dim {args.dim} >= 1 and --classes {args.classes} >= 2"
        )
    device = resolve_device(args.device)
    samples = max(args.classes, round(1_281_167 * args.fraction))
    r = bench_probe(samples, args.dim, args.classes, device)
    gib = 2**30
    print(
        f"linear probe (torch, float32, 50 L-BFGS iterations) on {samples:,} × {args.dim} features, "
        f"{args.classes} classes, {device_name(device)}: {r['seconds']:.1f} s, peak memory "
        f"{r['peak_memory_bytes'] / gib:.2f} GiB (the features alone: {r['features_bytes'] / gib:.2f} GiB); "
        f"test top-1 {100 * r['top1']:.1f}% on synthetic classes"
    )
    return 0
