"""ssl-bench: BYOL, SimCLR and SimSiam as points of one β-weighted InfoNCE method space.

from ssl_bench import build_config, run, RunEnv
cfg = build_config("byol", preset="cpu", overrides={"method.tau_base": 0.99})
record = run(cfg, RunEnv(out_dir="runs"))
"""

from ssl_bench.augment import AUG_PRESETS, AugSpec, ViewAug
from ssl_bench.config import RunConfig, apply_overrides, build_config, register_preset, run_id
from ssl_bench.data import list_datasets, load_dataset, register_dataset
from ssl_bench.loss import beta_info_nce
from ssl_bench.registry import get_method, list_methods, register_method
from ssl_bench.spec import MLP, MethodSpec, Optim
from ssl_bench.train import RunEnv, run

__all__ = [
    "AUG_PRESETS",
    "AugSpec",
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
    "register_dataset",
    "register_method",
    "register_preset",
    "run",
    "run_id",
]
