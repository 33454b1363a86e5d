"""The snippets in README.md and docs/*.md run as shown.

A ```python block right after a `<!-- runs -->` line is executed: the marked blocks of one page in
order, in one namespace, from a scratch folder that links the repository's data/, prompts/ and
notebooks/ (so relative paths work as from the repository's root, and the runs/ they write go to
the scratch folder). They replay recordings: no key, no server, no model. Blocks after
`<!-- runs: embedded -->` run the same way on the embedded model (marker `embedded_model`). Every other python block is
compiled. `make run` lines use only variables the Makefile passes on, and `python -m toolkit run`
lines only parameters the notebook declares.

But: shell commands are checked, not run (they need a provider key, a GPU or a server); prose
outside the code blocks is not checked here.
"""

import os
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARK = re.compile(r"^<!-- (runs|runs: embedded) -->$")


def blocks(page: Path) -> list[tuple[str | None, str, str, int]]:
    """(mark, language, code, first line) of each fenced block of `page`."""
    found, lines, i = [], page.read_text(encoding="utf-8").splitlines(), 0
    while i < len(lines):
        fence = re.match(r"^```(\w*)$", lines[i])
        if fence:
            mark = MARK.match(lines[i - 1]) if i else None
            end = next(j for j in range(i + 1, len(lines)) if lines[j] == "```")
            found.append((mark and mark[1], fence[1], "\n".join(lines[i + 1:end]) + "\n", i + 2))
            i = end
        i += 1
    return found


def run_marked(page: Path, mark: str, tmp_path: Path, monkeypatch) -> int:
    """Execute `page`'s blocks marked `mark` in one namespace; returns how many ran."""
    for name in ("data", "prompts", "notebooks"):
        (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__docs__"}
    ran = 0
    for block_mark, language, code, line in blocks(page):
        if block_mark == mark:
            assert language == "python", f"{page.name}:{line}: only python blocks can be marked {mark!r}"
            exec(compile(code, f"{page.name}:{line}", "exec"), namespace)
            ran += 1
    return ran


def page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


def test_the_pages_are_found():
    assert {"README.md", "docs/concepts.md", "docs/durability.md"} <= {page_id(p) for p in PAGES}


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_python_blocks_compile(page):
    for _, language, code, line in blocks(page):
        if language == "python":
            compile(code, f"{page.name}:{line}", "exec")


@pytest.mark.parametrize("page", [p for p in PAGES if any(b[0] == "runs" for b in blocks(p))], ids=page_id)
def test_runnable_blocks_run(page, tmp_path, monkeypatch):
    assert run_marked(page, "runs", tmp_path, monkeypatch) >= 1


@pytest.mark.embedded_model
@pytest.mark.parametrize("page", [p for p in PAGES if any(b[0] == "runs: embedded" for b in blocks(p))],
                         ids=page_id)
def test_embedded_model_blocks_run(page, tmp_path, monkeypatch):
    assert run_marked(page, "runs: embedded", tmp_path, monkeypatch) >= 1


def commands(prefix: str):
    """(page, line, words) of each shell line that starts with `prefix`, continuations joined."""
    for page in PAGES:
        for _, language, code, line in blocks(page):
            if language in ("sh", "bash"):
                for n, command in enumerate(code.replace("\\\n", " ").splitlines()):
                    command = command.split(" #")[0].strip()
                    if command.startswith(prefix):
                        yield f"{page_id(page)}:{line + n}", shlex.split(command)


def test_make_run_lines_use_variables_the_makefile_passes():
    makefile, seen = (ROOT / "Makefile").read_text(encoding="utf-8"), 0
    for where, words in commands("make run"):
        for word in words[2:]:
            name = word.split("=", 1)[0]
            assert "=" in word and f"$({name})" in makefile, f"{where}: make run does not pass {word!r} on"
            seen += 1
    assert seen > 0


def test_toolkit_run_lines_use_the_notebooks_parameters():
    from papermill.inspection import inspect_notebook

    seen = 0
    for where, words in commands(".venv/bin/python -m toolkit run"):
        notebook = ROOT / words[4]
        declared = inspect_notebook(str(notebook))
        names = [words[i + 1] for i, w in enumerate(words) if w == "-p"]
        assert all(n in declared for n in names), f"{where}: {notebook.name} declares {sorted(declared)}"
        seen += 1
    assert seen > 0


def test_no_page_links_to_a_missing_file():
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#:]+)\)", page.read_text(encoding="utf-8")):
            assert (page.parent / target).exists(), f"{page_id(page)} links to {target}, which does not exist"
    assert os.path.isdir(ROOT / "docs")
