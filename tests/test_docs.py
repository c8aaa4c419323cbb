"""The documentation, README.md and docs/*.md, stays true to the repository.

(a) Links and paths.
    - Every Markdown link `[text](target)` whose target has no URL scheme is relative to
      the page it is on and must resolve to a file or folder inside the repository; a
      `#fragment` must name a heading of the Markdown page it points at (GitHub's slugs).
    - Every repository path the text names must exist. A word names a repository path
      when its first `/`-separated segment is a top-level entry of the repository
      (`doc_scan.REPO_TOP`) and it has a `/` or is a top-level file: `ssl_bench/scope.py`,
      `scripts/claims-sweep.sh`, `results/README.md`, `methods/`, `.ci/run`,
      `pyproject.toml`; a bare `results` or `tests` is an English word. A `#fragment` is
      not part of the path. Paths are named from the repository's root whatever page
      names them. Not repository paths, so not checked: words with a placeholder
      (`<run id>`, `{md,csv}`, `*`, `…`, `$VAR`), and paths under anything else (`runs/`,
      `reports/`, `--out/`, `~/`, `/data/`, a user's folder), which are what a command
      writes or reads outside the checkout. Words are read from the prose
      and from fenced `bash` blocks; other fenced blocks (program output, Python examples
      that name files to be created) are not read.
(b) The text speaks of the project alone: `test_project_text.scan_text`'s patterns (no
    path into a shared/ folder outside the repository, no numbered tracker items, no
    account of how the work was organised), plus `DOC_FORBIDDEN`, stricter for these
    pages.
(c) Fenced `bash` blocks whose first line is the comment `# quick` are run, each as one
    `bash -euo pipefail` script in a fresh temporary directory (also its HOME), with
    `ssl-bench` on PATH running this checkout's `ssl_bench.cli.main` under this
    interpreter; each must exit 0. A quick block holds only `ssl-bench` commands that
    finish in seconds on a CPU (`--help`, `--print-config`, `--dry-run`, `list`,
    `status`, smoke runs with tiny settings), with relative paths only, so whatever it
    writes lands in the temporary directory.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from doc_scan import (
    DOCS,
    PAGES,
    REPO_TOP,
    ROOT,
    commands,
    link_problems,
    links,
    path_problems,
    quick_blocks,
    rel,
    repo_paths,
    slug,
)
from test_project_text import scan_text

README_LIMIT = 12288  # bytes: a front door read in five minutes

# Stricter than the project-wide scan, for pages about what ssl-bench is and does. The
# words are spelt with character classes so that this file does not match itself.
DOC_FORBIDDEN: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p, re.IGNORECASE), why)
    for p, why in [
        (r"\bsessi[o]ns?\b", "a unit of the process that built the project"),
        (r"\bshared/", "a path into a shared/ folder outside the repository"),
        (r"(?:^|[\s`(\"'])/w[o]rk/", "a path on the machine the text was written on"),
    ]
]

SHIM = '#!/bin/sh\nexec "{python}" -c "import sys; from ssl_bench.cli import main; sys.exit(main())" "$@"\n'


# --- (a) links and paths --------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_links_resolve(page):
    problems = link_problems(page)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_named_repository_paths_exist(page):
    problems = path_problems(page)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "text,paths",
    [
        ("see `ssl_bench/scope.py` and `scripts/claims-sweep.sh`.", ["ssl_bench/scope.py", "scripts/claims-sweep.sh"]),
        ("[results](results/README.md), in `results/`", ["results/README.md", "results/"]),
        ("`runs/batch_size/<run id>/record.json` and `reports/batch_size/batch_size.{md,csv}`", []),
        ("--data-dir ~/data, /data/imagenet, `--out/<ablation>/`, docs/*.md", []),
        ("```bash\nbash scripts/gpu-speed.sh --out results/\n```", ["scripts/gpu-speed.sh", "results/"]),
        ("```python\n# methods/vicreg_ema.py: a new file\n```\nin `methods/`", ["methods/"]),
        ("`ssl_bench.methods` (cost.device_name; lightly-ai/lightly#1286)", []),
    ],
)
def test_repository_path_rule(text, paths):
    assert repo_paths(text) == paths


def test_a_missing_path_and_a_broken_link_are_reported():
    page = ROOT / "docs" / "install.md"
    text = (
        "# Title\n\n## A part\n\nSee `scripts/no-such-script.sh`, [there](no-such-page.md),\n"
        "[out](../../elsewhere.md), [a part](#a-part), [none](#no-part) and [ok](../README.md).\n"
    )
    assert path_problems(page, text) == [
        "docs/install.md: 'scripts/no-such-script.sh': no such file or folder in the repository"
    ]
    found = link_problems(page, text)
    assert any("no-such-page.md" in p and "no such file" in p for p in found), found
    assert any("elsewhere.md" in p and "leaves the repository" in p for p in found), found
    assert any("#no-part" in p for p in found) and not any("#a-part" in p for p in found), found
    assert len(found) == 3, found


def test_slug_matches_github():
    assert slug("Overrides: `--set`") == "overrides---set"
    assert slug("The tests' local Slurm") == "the-tests-local-slurm"
    assert slug("What the main job does, prints and writes") == "what-the-main-job-does-prints-and-writes"
    assert slug("The SimSiam paper's claims") == "the-simsiam-papers-claims"


def test_repo_top_lists_the_tracked_top_level():
    from test_project_text import tracked_files

    top = {p.split("/")[0] for p in tracked_files(ROOT)}
    assert top <= set(REPO_TOP), f"add to REPO_TOP: {sorted(top - set(REPO_TOP))}"


# --- (b) the text speaks of the project ---------------------------------------------------


def doc_text_problems(text: str) -> list[tuple[int, str, str]]:
    hits = scan_text(text)
    for n, line in enumerate(text.splitlines(), start=1):
        for pattern, why in DOC_FORBIDDEN:
            if pattern.search(line):
                hits.append((n, why, line.strip()))
                break
    return hits


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_page_speaks_of_the_project_alone(page):
    hits = doc_text_problems(page.read_text(encoding="utf-8"))
    assert not hits, "\n".join(f"{rel(page)}:{n}: {why}: {line}" for n, why, line in hits)


@pytest.mark.parametrize(
    "line",
    [
        "as in the previous " + "sess" + "ion",
        "Sess" + "ions: 3",
        "see ../" + "sha" + "red/notes/x.md",
        "details in " + "shared" + "/reference/byol.md",
        "from /" + "work/main/README.md",
        "measured in earlier " + "work",
        "fixed in iss" + "ue #12",
    ],
)
def test_doc_scan_flags(line):
    assert doc_text_problems(line), line


@pytest.mark.parametrize(
    "line",
    ["concurrent tasks on a shared filesystem", "`--data-dir ~/data`", "/data/imagenet", "lightly-ai/lightly#1286"],
)
def test_doc_scan_passes(line):
    assert doc_text_problems(line) == []


# --- (c) the quick commands run -----------------------------------------------------------

QUICK_BLOCKS = [(page, script, line) for page in PAGES for script, line in quick_blocks(page)]


def test_quick_blocks_exist():
    assert len(QUICK_BLOCKS) >= 3, QUICK_BLOCKS
    assert quick_blocks(ROOT / "README.md"), "README.md has no quick block"


@pytest.mark.parametrize("page,script,line", QUICK_BLOCKS, ids=[f"{rel(p)}:{n}" for p, _, n in QUICK_BLOCKS] or None)
def test_quick_block_runs(page, script, line, tmp_path):
    for argv in commands(script):
        assert argv[0] == "ssl-bench", f"{rel(page)}:{line}: a quick block runs ssl-bench only: {argv}"
        for word in argv:
            assert not word.startswith(("/", "~")), f"{rel(page)}:{line}: a quick block uses relative paths: {argv}"
        assert "download" not in argv and "slurm" not in argv, f"{rel(page)}:{line}: not quick: {argv}"

    import ssl_bench

    bin_dir, work = tmp_path / "bin", tmp_path / "work"
    bin_dir.mkdir()
    work.mkdir()
    shim = bin_dir / "ssl-bench"
    shim.write_text(SHIM.format(python=sys.executable))
    shim.chmod(0o755)
    package_parent = str(Path(ssl_bench.__file__).resolve().parents[1])
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(work),
        "PYTHONPATH": os.pathsep.join(p for p in (package_parent, os.environ.get("PYTHONPATH")) if p),
    }
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=180,
    )
    assert done.returncode == 0, (
        f"{rel(page)}:{line} exited {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )


# --- the README as a front door -------------------------------------------------------------


def test_readme_is_short():
    size = len((ROOT / "README.md").read_bytes())
    assert size <= README_LIMIT, f"README.md is {size} bytes; move detail to docs/ (limit {README_LIMIT})"


def test_every_page_is_linked_from_the_readme_and_links_back():
    readme_links = {(ROOT / t.partition("#")[0]).resolve() for t in links((ROOT / "README.md").read_text("utf-8"))}
    for page in DOCS:
        assert page.resolve() in readme_links, f"README.md does not link {rel(page)}"
        back = {(page.parent / t.partition("#")[0]).resolve() for t in links(page.read_text("utf-8"))}
        assert (ROOT / "README.md").resolve() in back, f"{rel(page)} does not link back to the README"


def test_readme_test_command_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text("utf-8")
    assert "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' && pytest\n" in readme
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    for step in ("python3 -m venv .venv", ". .venv/bin/activate", "pip install -q -e '.[test]'", "pytest -q"):
        assert step in ci, f".ci/run no longer runs {step!r}; keep it and the README's command in step"
