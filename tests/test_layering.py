"""The layering: import contracts (import-linter, configured in pyproject.toml) and what a
command that only reads records actually loads."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept():
    exe = shutil.which("lint-imports", path=os.path.dirname(sys.executable)) or shutil.which("lint-imports")
    if exe is None:
        pytest.skip("import-linter is not installed: pip install -e '.[test]'")
    done = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    "module",
    [
        "ssl_bench",
        "ssl_bench.report",
        "ssl_bench.sweep",
        "ssl_bench.records",
        "ssl_bench.verdicts",
        "ssl_bench.ablation",
        "ssl_bench.benchmarks",
        "ssl_bench.methods",
        "ssl_bench.migrate",
        "ssl_bench.config",
        "ssl_bench.cli",
    ],
)
def test_reading_modules_leave_torch_unloaded(module):
    code = f"import sys, {module}; print('torch' in sys.modules, 'ssl_bench.report' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "False", f"import {module} loaded torch"
    if module == "ssl_bench.benchmarks":
        assert out[1] == "False", "the ablations import verdicts, not the report"


def test_status_and_list_do_not_load_torch(tmp_path):
    exe = os.path.join(os.path.dirname(sys.executable), "ssl-bench")
    for argv in (["list", "methods"], ["status", "--ablation", "tau", "--out", str(tmp_path)]):
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-X", "importtime", exe, *argv], capture_output=True, text=True, stdin=subprocess.DEVNULL
        )
        assert done.returncode == 0, done.stderr[-2000:]
        imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
        assert "torch" not in imported, f"ssl-bench {' '.join(argv)} imported torch"
        assert "pandas" not in imported, f"ssl-bench {' '.join(argv)} imported pandas (the report's, not the grid's)"
        print(f"ssl-bench {' '.join(argv)}: {time.perf_counter() - start:.2f} s")  # a figure, never a limit


@pytest.mark.parametrize("folder", ["methods", "benchmarks"])
def test_methods_and_ablations_import_only_declarations(folder):
    """methods/ and benchmarks/ are installed under ssl_bench from folders beside it, where
    import-linter does not look: they may import the spec, the registries, the ablation
    declarations, the verdict helpers and the view presets, nothing that trains or reports."""
    import ast

    allowed = {"ssl_bench.registry", "ssl_bench.spec", "ssl_bench.ablation", "ssl_bench.verdicts", "ssl_bench.views"}
    allowed |= {"ssl_bench.diagnostics"}  # verdicts on collapse and training stability
    allowed |= {"ssl_bench.dataset_info"}
    allowed |= {f"ssl_bench.{folder}"}
    for path in sorted((ROOT / folder).glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ssl_bench"):
                ok = node.module in allowed or node.module.startswith(f"ssl_bench.{folder}.")
                assert ok, f"{path.name} imports {node.module}"
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith(("ssl_bench", "torch")) for a in node.names), path.name
