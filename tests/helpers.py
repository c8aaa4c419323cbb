"""Shared test helpers (imported by test modules; pytest puts tests/ on sys.path)."""


def smoke_grid(ablation: str, out, *extra: str) -> list[str]:
    """argv of `ssl-bench run` for an ablation grid at the smoke preset."""
    return ["run", "--ablation", ablation, "--preset", "smoke", "--out", str(out), *extra]
