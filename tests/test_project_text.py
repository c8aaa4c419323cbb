"""The tracked text speaks of the project alone: no path into a `shared/` folder outside
the repository, no numbered tracker items, and no account of how the work was organised.
Facts (a CPU, a measurement, a result file) say what they rely on themselves.

The patterns are written with `\\s+` and groups, so that this file's own source, which is
scanned like every other tracked file, does not match them."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# What a tracked text file must not say, each with the reason shown on a failure.
# The patterns spell their words with a character class ("sessi[o]n") so that a plain-text
# search for the words themselves does not find this file.
FORBIDDEN: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p, re.IGNORECASE), why)
    for p, why in [
        (r"(?:\.\./)+shared\b", "a path into a shared/ folder outside the repository"),
        (r"\bshared/(?:notes|reference|seeds|hooks)\b", "a path into a shared/ folder outside the repository"),
        # A GitHub reference (owner/repo#123, .../issues/123) has no "issue <n>" in it.
        (r"\bissue\s*#?\s*\d+", "a numbered tracker item; say the fact itself"),
        (
            r"\b(?:earlier|previous|this|that|next|a|one|each)\s+sessi[o]n\b",
            "a unit of the process that built the project",
        ),
        (r"\bsessi[o]n\s+\d", "a unit of the process that built the project"),
        (r"\bsessi[o]ns\s+so\s+far\b", "a unit of the process that built the project"),
        (r"\b(?:earlier|previous|prior)\s+w[o]rk\b", "an account of how the project was built; say the fact itself"),
        (r"\bwas\s+lent\b", "how the work was resourced"),
        (r"\blent\s+to\b", "how the work was resourced"),
        (r"\bmachine\s+kind\b", "a machine class of the work, not of the project"),
        (r"\b(?:machines?|CPUs?)\s+of\s+(?:the|this)\s+kind\b", "a machine class of the work, not of the project"),
    ]
]

SKIP_SUFFIXES = (".json",)


def scan_text(text: str) -> list[tuple[int, str, str]]:
    """(line number, reason, line) for every forbidden phrase in `text`, first match per line."""
    hits = []
    for n, line in enumerate(text.splitlines(), start=1):
        for pattern, why in FORBIDDEN:
            if pattern.search(line):
                hits.append((n, why, line.strip()))
                break
    return hits


def read_text(path: Path) -> str | None:
    """The file's text, or None for a binary (a NUL byte, or not UTF-8) or missing file."""
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return None  # tracked but deleted or replaced in the working tree
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def tracked_files(root: Path) -> list[str]:
    """The repository's tracked paths, relative to `root`; skips the test without git."""
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    try:
        out = subprocess.run([git, "-C", str(root), "ls-files", "-z"], capture_output=True, check=False, timeout=60)
    except (OSError, subprocess.SubprocessError) as e:
        pytest.skip(f"git ls-files failed: {e}")
    if out.returncode != 0:
        pytest.skip(f"not a git checkout: {out.stderr.decode(errors='replace').strip()}")
    return [p for p in out.stdout.decode("utf-8", errors="surrogateescape").split("\0") if p]


def scan_repo(root: Path) -> list[str]:
    """`file:line: reason: text` for every forbidden phrase in the tracked text files."""
    problems = []
    for rel in tracked_files(root):
        if rel.endswith(SKIP_SUFFIXES):
            continue
        text = read_text(root / rel)
        if text is None:
            continue
        problems += [f"{rel}:{n}: {why}: {line}" for n, why, line in scan_text(text)]
    return problems


def test_tracked_text_speaks_of_the_project_alone():
    problems = scan_repo(ROOT)
    assert not problems, "tracked text that points outside the project or at how it was built:\n" + "\n".join(problems)


# The bad examples are assembled at run time, so this file's source never holds them whole.
BAD = [
    "see " + "shared" + "/notes/cpu-default-experiment.md",
    "facts in ../sha" + "red/reference/paper.md",
    "Iss" + "ue 5's targets are H100 figures",
    "from iss" + "ue #12's report",
    "issue" + "12",
    "measured in an earlier " + "sess" + "ion",
    "the machine of that sess" + "ion, which restructured the method space",
    "(sess" + "ion 7's predictor rows)",
    "the sess" + "ions so far had no GPU",
    "as measured in earlier " + "work",
    "building on the previous " + "work's grids",
    "no GPU was le" + "nt to this work",
    "a GPU le" + "nt to the work",
    "on this project's machine " + "kind",
    "the slowest machine of the " + "kind needs",
    "CPUs of this " + "kind differ",
    "machines of this " + "kind",
]

GOOD = [
    "lightly's own step (lightly-ai/lightly#1419)",
    "https://github.com/lightly-ai/lightly/issues/1419",
    "subprocess.Popen(argv, start_new_session=True)",
    "setsid gives the job its own process sess" + "ion",
    "concurrent tasks on a shared filesystem never collide",
    "equivalent to the paper's loss",
    "measured on a 2-core AMD EPYC without AVX-512 (results/speed-cpu/)",
    "no GPU figures are committed yet",
    "the one switch on the loss kind",
    "up to 4x between 2-core machines",
    "timm's models of this kind take img_size",
]


@pytest.mark.parametrize("line", BAD)
def test_scan_flags_a_bad_line(line):
    text = "a clean first line\n" + line + "\nand a clean last line\n"
    hits = scan_text(text)
    assert [n for n, _, _ in hits] == [2], (line, hits)


@pytest.mark.parametrize("line", GOOD)
def test_scan_passes_a_fact_about_the_project(line):
    assert scan_text(line) == []


def test_scan_repo_names_file_and_line_and_skips_records_and_binaries(tmp_path):
    """End to end on a scratch checkout: a bad line in a tracked text file is reported as
    file:line; the same line in a .json record, a binary file or an untracked file is not."""
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    bad = BAD[0]
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.md").write_text("# Notes\n\nfine\n" + bad + "\n")
    (tmp_path / "record.json").write_text('{"note": "' + bad + '"}\n')
    (tmp_path / "plot.png").write_bytes(b"\x89PNG\0\0" + bad.encode())
    (tmp_path / "clean.py").write_text("x = 1\n")
    init = subprocess.run([git, "init", "-q", str(tmp_path)], capture_output=True, check=False)
    if init.returncode != 0:
        pytest.skip(f"git init failed: {init.stderr.decode(errors='replace').strip()}")
    subprocess.run([git, "-C", str(tmp_path), "add", "."], check=True, capture_output=True)
    (tmp_path / "untracked.md").write_text(bad + "\n")

    problems = scan_repo(tmp_path)

    assert len(problems) == 1, problems
    assert problems[0].startswith("docs/notes.md:4: a path into a shared/ folder"), problems
