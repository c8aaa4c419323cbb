"""Shared test helpers (imported by test modules; pytest puts tests/ on sys.path)."""


def smoke_grid(ablation: str, out, *extra: str) -> list[str]:
    """argv of `ssl-bench run` for an ablation grid at the smoke preset."""
    return ["run", "--ablation", ablation, "--preset", "smoke", "--out", str(out), *extra]


# RunEnv keyword arguments for a run that prints nothing.
QUIET = {"progress": False, "log": lambda msg: None}


def smoke(method: str = "byol", **overrides):
    """A RunConfig at the smoke preset (seconds on a CPU), with dotted-key overrides."""
    from ssl_bench.config import build_config

    return build_config(method, preset="smoke", overrides=overrides)
