"""Every snippet in README.md and docs/*.md runs as a reader pastes it, and shows what it prints.

Every ```python block of a page runs: the page's blocks in order, in one namespace (as a reader
pastes them into one notebook), from a scratch folder that links the repository's data/, prompts/,
notebooks/ and docs/, so relative paths work as from the repository's root and the runs/ they
write go to the scratch folder. A mark on the line before a block changes that:

    <!-- runs: embedded -->  the block generates with the embedded model: its page runs in
                             test_embedded_pages_run (marker embedded_model), the others in
                             test_pages_run (they replay recordings or call no model)
    <!-- needs: key -->      the block needs a provider's API key,
    <!-- needs: server -->   or a server (and its files) of the reader's own: it is not run, but it
                             must compile with no undefined name (ruff's F821, with the names of
                             the page's earlier blocks in scope)
    <!-- output -->          on a ```text block: what the python block above it prints, compared
                             with what it printed in the run after SANITIZE (durations, which vary)
    <!-- output: make run --> on a ```text block: what `make run` prints, compared with a headless
                             run of the notebook replaying its recording (the embedded model's
                             answers, so the same counts), after SANITIZE_RUN

(`<!-- runs -->` is the default, and may still mark a block.) `make run` lines use only variables
the Makefile passes on, and `python -m toolkit run` lines only parameters the notebook declares.

But: shell commands are checked, not run (they need a provider key, a GPU or a server); prose
outside the code blocks is not checked here.
"""

import contextlib
import dataclasses
import io
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import datasets
import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARK = re.compile(r"^<!-- (runs|runs: embedded|needs: key|needs: server|output|output: make run) -->$")
NOT_RUN = ("needs: key", "needs: server")
SANITIZE = [(re.compile(r"\b\d+\.\d+ s\b"), "<seconds> s")]  # a step's time in its summary line


@dataclasses.dataclass
class Block:
    mark: str | None
    language: str
    code: str
    line: int  # the block's first line of code, counted from 1
    output: str | None = None  # what a python block prints, from the `<!-- output -->` block after it


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of `page`; an output block is attached to the python block before it."""
    found, lines, i = [], page.read_text(encoding="utf-8").splitlines(), 0
    while i < len(lines):
        fence = re.match(r"^```(\w*)$", lines[i])
        if fence:
            mark = MARK.match(lines[i - 1]) if i else None
            assert mark or not lines[i - 1].startswith("<!--"), f"{page.name}:{i}: unknown mark {lines[i - 1]}"
            end = next(j for j in range(i + 1, len(lines)) if lines[j] == "```")
            block = Block(mark and mark[1], fence[1], "\n".join(lines[i + 1:end]) + "\n", i + 2)
            if block.mark == "output: make run":
                found.append(block)
            elif block.mark == "output":
                python = [b for b in found if b.language == "python"]
                assert python and block.language == "text", f"{page.name}:{i}: an output block follows a python one"
                assert python[-1].mark not in NOT_RUN, f"{page.name}:{i}: shows the output of a block never run"
                python[-1].output = block.code
            else:
                found.append(block)
            i = end
        i += 1
    return found


def page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


def sanitized(text: str) -> str:
    for pattern, replacement in SANITIZE:
        text = pattern.sub(replacement, text)
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


def run_page(page: Path, tmp_path: Path, monkeypatch) -> int:
    """Execute `page`'s python blocks in order in one namespace, as a reader pastes them, and
    compare what each prints with the output the page shows for it; returns how many ran."""
    for name in ("data", "prompts", "notebooks", "docs"):
        (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.chdir(tmp_path)
    namespace, ran = {"__name__": "__docs__"}, 0
    for block in blocks(page):
        if block.language != "python" or block.mark in NOT_RUN:
            continue
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(block.code, f"{page.name}:{block.line}", "exec"), namespace)
        if block.output is not None:
            assert sanitized(printed.getvalue()) == sanitized(block.output), (
                f"{page_id(page)}:{block.line} printed (paste it into the page's output block):\n"
                f"{printed.getvalue()}")
        ran += 1
    return ran


def embedded(page: Path) -> bool:
    return any(b.mark == "runs: embedded" for b in blocks(page))


def runs(page: Path) -> bool:
    return any(b.language == "python" and b.mark not in NOT_RUN for b in blocks(page))


def test_the_pages_are_found():
    assert {"README.md", "docs/concepts.md", "docs/durability.md"} <= {page_id(p) for p in PAGES}


def test_the_readme_is_short():
    """A newcomer reads it in a few minutes: at most 8 KB, and a quick start of at most 15 lines."""
    assert len((ROOT / "README.md").read_bytes()) <= 8192
    quick = [b for b in blocks(ROOT / "README.md") if b.language == "python"]
    assert len(quick) == 1 and quick[0].code.count("\n") <= 15


@pytest.mark.parametrize("page", [p for p in PAGES if runs(p) and not embedded(p)], ids=page_id)
def test_pages_run(page, tmp_path, monkeypatch):
    assert run_page(page, tmp_path, monkeypatch) >= 1


@pytest.mark.embedded_model
@pytest.mark.parametrize("page", [p for p in PAGES if embedded(p)], ids=page_id)
def test_embedded_pages_run(page, tmp_path, monkeypatch):
    assert run_page(page, tmp_path, monkeypatch) >= 1


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_no_block_uses_a_name_no_earlier_block_defines(page):
    """The page's python blocks joined in order, as one module: ruff's undefined-name check, so a
    block that is not run (it needs a key or a server) still names only what the reader has."""
    python = [b for b in blocks(page) if b.language == "python"]
    if not python:
        return
    source, starts = "", []
    for b in python:
        starts.append(source.count("\n") + 1)
        source += b.code
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated", "--select", "F821",
                          "--output-format", "json", "--stdin-filename", f"{page.stem}.py", "-"],
                         input=source, capture_output=True, text=True, check=False)
    problems = []
    for found in json.loads(out.stdout):
        row = found["location"]["row"]
        i = max(k for k, start in enumerate(starts) if start <= row)
        problems.append(f"{page_id(page)}:{python[i].line + row - starts[i]}: {found['message']}")
    assert not problems, "\n".join(problems)


def test_every_output_a_page_shows_is_checked():
    """A ```text block right after a python block is that block's output, so it must be marked."""
    for page in PAGES:
        lines = page.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if line == "```text":
                assert MARK.match(lines[i - 1]) and lines[i - 1].startswith("<!-- output"), (
                    f"{page_id(page)}:{i + 1}: a text block not marked output")


def commands(prefix: str):
    """(page, line, words) of each shell line that starts with `prefix`, continuations joined."""
    for page in PAGES:
        for b in blocks(page):
            if b.language in ("sh", "bash"):
                for n, command in enumerate(b.code.replace("\\\n", " ").splitlines()):
                    command = command.split(" #")[0].strip()
                    if command.startswith(prefix):
                        yield f"{page_id(page)}:{b.line + n}", shlex.split(command)


def test_make_run_lines_use_variables_the_makefile_passes():
    makefile, seen = (ROOT / "Makefile").read_text(encoding="utf-8"), set()
    for where, words in commands("make run"):
        for word in words[2:]:
            name = word.split("=", 1)[0]
            assert "=" in word and f"$({name})" in makefile, f"{where}: make run does not pass {word!r} on"
            seen.add(name)
    assert {"MODEL", "DATA", "FOLDER"} <= seen


def test_make_run_passes_data_and_folder_as_absolute_paths(tmp_path):
    """`make run DATA=my_texts FOLDER=runs/mine` names the user's folders, from where make runs."""
    out = subprocess.run(["make", "-n", "run", "DATA=my_texts", "FOLDER=runs/mine", "MODEL=openai/x"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    line = next(line for line in out.stdout.splitlines() if "-m toolkit run" in line)
    assert f"-p data '{ROOT}/my_texts'" in line and f"-p folder '{ROOT}/runs/mine'" in line, line
    assert "-p model 'openai/x'" in line


def test_the_build_flags_on_every_page_are_the_makefiles():
    """Installing without make (docs/install.md) builds llama.cpp as `make` does."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    flags = re.search(r"^export CMAKE_ARGS := (.+)$", makefile, re.M)[1].split()
    pages = [(where, words) for where, words in commands("export CMAKE_ARGS=")]
    assert pages
    for where, words in pages:
        assert words[1].split("=", 1)[1].split() == flags, f"{where}: not the Makefile's CMAKE_ARGS"


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


@pytest.fixture(scope="module")
def make_run(tmp_path_factory):
    """(run folder, what it printed) of `make run`'s command (as `make -n run` prints it), replaying
    the notebook's recording."""
    folder = tmp_path_factory.mktemp("make-run") / "runs" / "style_clone"
    planned = subprocess.run(["make", "-n", "run", f"FOLDER={folder}"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout
    command = shlex.split(next(line for line in planned.splitlines() if "-m toolkit run" in line))
    assert command[1:4] == ["-m", "toolkit", "run"], command
    out = subprocess.run([sys.executable, *command[1:], "-p", "replay", "notebooks/recordings/style_clone.jsonl"],
                         cwd=ROOT, capture_output=True, text=True, timeout=900,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    return folder, out.stdout


SANITIZE_RUN = [(re.compile(r"run folder: \S+  \(\d+ s\)"), "run folder: <folder>  (<seconds> s)"),
                (re.compile(r"^(  (?:\S+\.ipynb|manifest\.jsonl|\S+\.sqlite\S*))  \([\d,]+ bytes\)$", re.M),
                 r"\1  (<bytes> bytes)")]  # the notebook and manifest hold timings; SQLite's pages vary


def test_the_readme_shows_what_make_run_prints(make_run):
    shown = [b.code for b in blocks(ROOT / "README.md") if b.mark == "output: make run"]
    assert len(shown) == 1, "README.md shows what make run prints in one block marked <!-- output: make run -->"

    def clean(text):
        for pattern, replacement in SANITIZE_RUN:
            text = pattern.sub(replacement, text)
        return text.strip()

    assert clean(make_run[1]) == clean(shown[0]), f"make run printed (paste it into README.md):\n{make_run[1]}"


def test_make_run_keeps_the_signals_to_the_reviewed_rows_unless_asked(make_run):
    """README: a plain `make run` makes no calls for section 7's wider run (so no AUC);
    SIGNAL_PER_VOICE=24 asks for it."""
    executed = nbformat.read(make_run[0] / "style_clone.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs)
    assert "style gap 'text' → 'generic': 7 pairs with both texts, 20 needed: no AUC" in printed
    assert printed.count("generic: 12 rows → 7 ok, 5 failed") == 2  # section 5's run, and section 7's from the cache
    planned = subprocess.run(["make", "-n", "run", "SIGNAL_PER_VOICE=24"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout
    assert "-p signal_per_voice 24" in next(line for line in planned.splitlines() if "-m toolkit run" in line)


def test_the_run_folder_page_names_every_file_a_run_writes(make_run):
    table = (ROOT / "docs" / "run-folder.md").read_text(encoding="utf-8").split("Other runs add:")[0]
    first_column = [row.split(" | ")[0] for row in table.splitlines() if row.startswith("| `")]
    named = {name for cell in first_column for name in re.findall(r"`([^`]+)`", cell)}
    for path in make_run[0].rglob("*"):
        if path.is_file():
            name = path.relative_to(make_run[0]).as_posix()
            assert name in named or name.split("/")[0] + "/" in named, f"docs/run-folder.md does not name {name}"


def chat_template():
    """SmolLM2's chat template from the embedded GGUF, rendered as llama.cpp's server renders it."""
    from llama_cpp import Llama
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    from toolkit.llm.local_model import weights_path

    model = Llama(model_path=str(weights_path()), vocab_only=True, verbose=False)
    token = model.detokenize
    return Jinja2ChatFormatter(model.metadata["tokenizer.chat_template"], eos_token=token([model.token_eos()]).decode(),
                               bos_token=token([model.token_bos()]).decode())


def test_the_training_configs_read_the_exports_as_trl_does(make_run):
    """docs/training.md's YAML configs: each `datasets:` entry loaded as TRL's get_dataset loads it
    (datasets.load_dataset(path, name, data_dir, data_files, split)), from a run's own files."""
    configs = [yaml.safe_load(b.code) for b in blocks(ROOT / "docs" / "training.md") if b.language == "yaml"]
    assert len(configs) == 2
    loaded = []
    for config in configs:
        (entry,) = config["datasets"]
        files = str(make_run[0] / Path(entry["data_files"]).relative_to("runs/style_clone"))
        loaded.append(datasets.load_dataset(path=entry["path"], name=entry.get("name"), data_dir=entry.get("data_dir"),
                                            data_files=files, split=entry.get("split", "train")))
    sft, dpo = loaded
    render = chat_template()
    assert len(sft) > 0 and sft.column_names == ["messages"]
    for row in sft:
        roles = [m["role"] for m in row["messages"]]
        assert set(roles) <= {"system", "user", "assistant"} and roles[-1] == "assistant", roles
        prompt = render(messages=row["messages"]).prompt
        assert all(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>" in prompt for m in row["messages"])
    assert len(dpo) > 0 and sorted(dpo.column_names) == ["chosen", "prompt", "rejected"]
    for row in dpo:
        assert all(isinstance(row[k], str) and row[k].strip() for k in ("prompt", "chosen", "rejected"))
        assert row["chosen"] != row["rejected"]
