"""`python -m toolkit run` explains itself: --help lists the notebook's parameters, a misspelt one is
refused before anything runs, and the paths given on the command line are the caller's."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

from papermill.inspection import inspect_notebook

from tests.loopback import LoopbackServer

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def toolkit(*args, cwd=ROOT, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "toolkit", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def test_help_lists_each_parameter_with_its_default_and_comment():
    for notebook in NOTEBOOKS:
        out = toolkit("run", f"notebooks/{notebook.name}", "--help")
        assert out.returncode == 0, out.stderr
        lines = out.stdout.split(f"parameters of notebooks/{notebook.name}")[1].splitlines()[1:]
        declared = inspect_notebook(str(notebook))
        assert [line.split()[0] for line in lines] == list(declared)  # every one, in the cell's order
        for line, (name, p) in zip(lines, declared.items()):
            assert p["help"] in line, line  # the comment beside it in the parameters cell
            shown = line.split(" = ", 1)[1].split("  ")[0]
            if name in ("data", "folder"):  # a path, shown as from where the command runs
                default = notebook.parent / ast.literal_eval(p["default"])
                assert (ROOT / json.loads(shown)).resolve() == default.resolve()
            elif name == "replay":
                assert shown == "None" and "headless runs call the model" in line
            else:
                assert shown == p["default"], line


def test_help_without_a_notebook_names_the_notebooks():
    out = toolkit("run", "--help")
    assert out.returncode == 0
    assert "python -m toolkit run NOTEBOOK --help lists that notebook's parameters" in out.stdout
    assert all(f"notebooks/{nb.name}" in out.stdout for nb in NOTEBOOKS)


def test_an_unknown_parameter_is_refused_with_the_list_before_anything_runs(tmp_path):
    out = toolkit("run", "notebooks/factual_qa.ipynb", "-p", "folder", str(tmp_path / "run"),
                  "-p", "limt", "3")
    assert out.returncode != 0
    declared = inspect_notebook(str(ROOT / "notebooks/factual_qa.ipynb"))
    assert f"no parameter named limt; its parameters are: {', '.join(declared)}" in out.stderr
    assert "limit = 8" in out.stderr  # with the defaults, as --help shows them
    assert not (tmp_path / "run").exists()  # refused before a run folder or a kernel


def test_data_and_folder_given_on_the_command_line_are_relative_to_where_it_runs(tmp_path):
    """A user in their own project folder names their text and run folder as their shell sees them."""
    (tmp_path / "my_texts").mkdir()
    (tmp_path / "my_texts" / "notes.md").write_text("The pump draws 40 watts.\n\nThe tank holds 12 litres.\n")
    reply = "The pump draws 40 watts and the tank holds 12 litres."
    with LoopbackServer(latency=0, reply=lambda body: reply) as srv:
        out = toolkit("run", str(ROOT / "notebooks/new_pipeline.ipynb"), "-p", "model", "openai/loopback",
                      "-p", "api_base", srv.url, "-p", "data", "my_texts", "-p", "folder", "runs/mine",
                      cwd=tmp_path, env={"OPENAI_API_KEY": "k"}, timeout=600)
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
        sent = [m["content"] for r in srv.requests for m in r["body"]["messages"] if m["role"] == "user"]
    assert any("The pump draws 40 watts." in s for s in sent)  # the text from the caller's my_texts/
    folder = tmp_path / "runs" / "mine"
    assert f"run folder: {folder}" in out.stdout
    assert (folder / "new_pipeline.sharegpt.jsonl").is_file() and (folder / "new_pipeline.ipynb").is_file()
    assert not (ROOT / "notebooks" / "my_texts").exists() and not (ROOT / "notebooks" / "runs").exists()
