"""pyproject's explicit package list equals the package folders on disk (a folder left
out would import in an editable install and be missing from the wheel)."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_folder_is_listed():
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(conf["packages"])
    mapping = {"ssl_bench": "ssl_bench", **conf["package-dir"]}
    found = set()
    for pkg, folder in mapping.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            found.add(".".join((pkg, *init.parent.relative_to(ROOT / folder).parts)))
    assert found == listed


def test_no_top_level_methods_or_benchmarks_import_name():
    import importlib.util

    for name in ("methods", "benchmarks"):
        spec = importlib.util.find_spec(name)
        assert spec is None or ROOT.as_posix() in str(spec.origin or spec.submodule_search_locations), name
