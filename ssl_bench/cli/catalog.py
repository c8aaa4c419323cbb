"""`ssl-bench list` (what is registered) and `ssl-bench download` (the one command that
fetches data)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    dl = sub.add_parser("download", help="fetch a dataset with torchvision (needs network; loading never downloads)")
    dl.add_argument("dataset", help="fashion-mnist, cifar10, cifar100 or stl10")
    dl.add_argument("--data-dir", required=True, help="where to put it; pass the same --data-dir to run")
    dl.set_defaults(func=cmd_download)

    ls = sub.add_parser("list", help="list registered methods, datasets, presets, backbones or ablations")
    ls.add_argument("what", choices=["methods", "datasets", "presets", "backbones", "ablations"])
    ls.set_defaults(func=cmd_list)


def cmd_download(args: argparse.Namespace) -> int:
    from ssl_bench.data import download

    root = download(args.dataset, args.data_dir)
    print(f"{args.dataset} is in {root}; use: ssl-bench run --dataset {args.dataset} --data-dir {root}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    if args.what == "methods":
        from ssl_bench.registry import get_method, list_methods

        for name in list_methods():
            s = get_method(name)
            pred = f"predictor {s.predictor.hidden}->{s.predictor.out}" if s.predictor else "no predictor"
            tau = f" tau_base {s.ema.tau_base}" if s.ema is not None else ""
            loss = ", ".join(f"{k} {v}" for k, v in vars(s.loss).items() if k != "kind")
            print(
                f"{name:<13} projector {s.projector.hidden}->{s.projector.out}, {pred}, target {s.target}{tau}, "
                f"loss {s.loss.kind} ({loss}), {s.optim.name} base lr {s.optim.base_lr:g}"
            )
    elif args.what == "datasets":
        from ssl_bench.data import list_datasets

        print("\n".join(list_datasets()))
    elif args.what == "presets":
        from ssl_bench.presets import PRESETS

        for name in PRESETS.names():
            doc = (PRESETS._factories[name].__doc__ or "").strip().split("\n\n")[0]
            print(f"{name:<10} {' '.join(doc.split())}")
    elif args.what == "ablations":
        from ssl_bench.ablation import get_ablation, list_ablations

        # Paper by paper, each by the short name `--paper P --ablation NAME` takes.
        for a in sorted(map(get_ablation, list_ablations()), key=lambda a: (a.paper_name, a.short_name)):
            print(f"{a.paper_name:<8} {a.short_name:<16} {a.title}; methods {','.join(a.methods)}; {a.source}")
    else:
        from ssl_bench.backbones import list_backbones

        print("\n".join(list_backbones()))
    return 0
