"""ssl-bench: BYOL, SimCLR, SimSiam and MoCo v2 as points of one β-weighted InfoNCE method
space, with Barlow Twins and VICReg beside them through the same loop.

from ssl_bench import build_config, run, RunEnv
cfg = build_config("byol", preset="cpu", overrides={"method.ema.tau_base": 0.99})
record = run(cfg, RunEnv(out_dir="runs"))
"""

import importlib

# Where each public name lives. Loaded on first use (PEP 562), so `import ssl_bench.report`
# or `ssl-bench status` never pays for torch; `from ssl_bench import run` still works.
_EXPORTS = {
    "AUG_PRESETS": "ssl_bench.views",
    "AugSpec": "ssl_bench.views",
    "ViewAug": "ssl_bench.views",
    "RunConfig": "ssl_bench.config",
    "apply_overrides": "ssl_bench.config",
    "build_config": "ssl_bench.config",
    "register_preset": "ssl_bench.presets",
    "run_id": "ssl_bench.config",
    "list_datasets": "ssl_bench.data",
    "load_dataset": "ssl_bench.data",
    "register_dataset": "ssl_bench.data",
    "beta_info_nce": "ssl_bench.loss",
    "barlow_twins": "ssl_bench.loss",
    "vicreg": "ssl_bench.loss",
    "get_method": "ssl_bench.registry",
    "list_methods": "ssl_bench.registry",
    "register_method": "ssl_bench.registry",
    "MLP": "ssl_bench.spec",
    "EMA": "ssl_bench.spec",
    "InfoNCE": "ssl_bench.spec",
    "BarlowTwins": "ssl_bench.spec",
    "VICReg": "ssl_bench.spec",
    "MethodSpec": "ssl_bench.spec",
    "Optim": "ssl_bench.spec",
    "load_encoder": "ssl_bench.export",
    "RunEnv": "ssl_bench.train",
    "run": "ssl_bench.train",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ssl_bench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "AUG_PRESETS",
    "AugSpec",
    "BarlowTwins",
    "EMA",
    "InfoNCE",
    "VICReg",
    "barlow_twins",
    "vicreg",
    "MLP",
    "MethodSpec",
    "Optim",
    "RunConfig",
    "RunEnv",
    "ViewAug",
    "apply_overrides",
    "beta_info_nce",
    "build_config",
    "get_method",
    "list_datasets",
    "list_methods",
    "load_dataset",
    "load_encoder",
    "register_dataset",
    "register_method",
    "register_preset",
    "run",
    "run_id",
]
