"""Reading the documentation pages (README.md and docs/*.md) for tests/test_docs.py: fenced
blocks, Markdown links and GitHub's heading anchors, the repository paths the text names
(by the rule in test_docs.py's docstring), broken links and missing paths reported one
line each, and the `# quick` bash blocks with their commands."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [ROOT / "README.md", *DOCS]

# The repository's top-level entries; a path whose first segment is one of them is a
# repository path. tests/test_docs.py::test_repo_top_lists_the_tracked_top_level keeps it whole.
REPO_TOP = (
    ".ci",
    ".gitignore",
    "README.md",
    "benchmarks",
    "docs",
    "methods",
    "pyproject.toml",
    "results",
    "scripts",
    "ssl_bench",
    "tests",
)
PLACEHOLDER = re.compile(r"[<>{}*…$]|\.\.\.")

QUICK = "# quick"


def rel(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


# --- Markdown parsing -------------------------------------------------------------------


def fenced_blocks(text: str) -> list[tuple[str, str, int]]:
    """(info string, body, line number of the opening fence) of every fenced block; an
    indented fence (inside a list item) is dedented by its own indent."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        m = re.match(r"^(\s*)(```+)\s*([\w+-]*)", lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info, start = len(m.group(1)), m.group(2), m.group(3), i + 1
        body = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i])
            i += 1
        blocks.append((info, "\n".join(body), start))
        i += 1
    return blocks


def blank_fences(text: str, keep: tuple[str, ...] = ()) -> str:
    """The text with every fenced block blanked but those whose info string is in `keep`
    (line numbers kept)."""
    out, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        m = re.match(r"^\s*(```+)\s*([\w+-]*)", lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        fence, kept = m.group(1), m.group(2) in keep
        out.append("")
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            out.append(lines[i] if kept else "")
            i += 1
        out.append("")
        i += 1
    return "\n".join(out)


def prose_and_bash(text: str) -> str:
    return blank_fences(text, keep=("bash",))


LINK = re.compile(r"!?\[[^\]\n]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def links(text: str) -> list[str]:
    """Link targets in the prose; fenced blocks and inline code hold no links."""
    return LINK.findall(re.sub(r"`[^`\n]*`", "", blank_fences(text)))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """The anchors of a page's headings (a `#` line inside a fenced block is no heading)."""
    text = blank_fences(text)
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, re.MULTILINE)}


def repo_paths(text: str) -> list[str]:
    """The repository paths named in `text` (prose and bash blocks), by test_docs.py's rule."""
    found = []
    for word in re.findall(r"[^\s`'\"()\[\],;:|=]+", prose_and_bash(text)):
        word = word.partition("#")[0].rstrip(".")
        if not word or PLACEHOLDER.search(word):
            continue
        first = word.split("/")[0]
        if first in REPO_TOP and ("/" in word or "." in first):
            found.append(word)
    return found


def link_problems(page: Path, text: str | None = None) -> list[str]:
    text = page.read_text(encoding="utf-8") if text is None else text
    problems = []
    for target in links(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
            continue  # https:, mailto:: not a file of the repository
        path_part, _, fragment = target.partition("#")
        if path_part.startswith("/"):
            problems.append(f"{rel(page)}: link {target!r} is absolute; link relative to the page")
            continue
        dest = (page.parent / path_part).resolve() if path_part else page
        if dest != ROOT and ROOT not in dest.parents:
            problems.append(f"{rel(page)}: link {target!r} leaves the repository")
        elif not dest.exists():
            problems.append(f"{rel(page)}: link {target!r}: no such file or folder")
        elif (
            fragment
            and dest.suffix == ".md"
            and fragment not in anchors(text if dest == page else dest.read_text("utf-8"))
        ):
            problems.append(f"{rel(page)}: link {target!r}: no heading #{fragment} in {rel(dest)}")
    return problems


def path_problems(page: Path, text: str | None = None) -> list[str]:
    problems = []
    for word in repo_paths(page.read_text(encoding="utf-8") if text is None else text):
        if not (ROOT / word).exists():
            problems.append(f"{rel(page)}: {word!r}: no such file or folder in the repository")
    return problems


def quick_blocks(page: Path) -> list[tuple[str, int]]:
    """(script, line) of the page's bash blocks whose first line is `# quick`."""
    return [
        (body, line)
        for info, body, line in fenced_blocks(page.read_text(encoding="utf-8"))
        if info == "bash" and body.strip().splitlines()[:1] == [QUICK]
    ]


def commands(script: str) -> list[list[str]]:
    """The commands of a script (continuation lines joined, comments dropped)."""
    joined = re.sub(r"\\\n", " ", script)
    return [shlex.split(line, comments=True) for line in joined.splitlines() if shlex.split(line, comments=True)]
