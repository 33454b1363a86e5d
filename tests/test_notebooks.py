"""The committed notebooks: clean stored outputs, recordings beside them, and headless runs.

nbval (in `make test`) re-executes every notebook in replay mode and compares outputs; these tests
check what nbval cannot: that the stored outputs are worth comparing and leak nothing.
"""

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.loopback import LoopbackServer
from toolkit import load_prompt
from toolkit.__main__ import Progress

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
BAD_OUTPUT = [
    (re.compile(r"Traceback \(most recent call last\)|\b\w+Error: "), "a traceback"),
    (re.compile(r"LiteLLM|model_prices|Failed to fetch|ConnectionError|urlopen error"), "a network warning"),
    # a warning names the kernel's file for the cell (/tmp/ipykernel_<pid>/<hash>.py): no user's path
    (re.compile(r"(?<![\w.])/(?:work|home|root|tmp|usr|opt|var)/(?!ipykernel_\d+/\d+\.py:\d+: \w*Warning)"),
     "an absolute path"),
]


def outputs_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", "") if isinstance(out.get("text"), str) else "".join(out.get("text", [])))
        parts.extend(str(v) for k, v in out.get("data", {}).items() if not k.startswith("image/"))
        parts.append(" ".join(out.get("traceback", [])))
    return "\n".join(parts)


def test_there_are_the_three_pipelines():
    assert [p.stem for p in NOTEBOOKS] == ["factual_qa", "new_pipeline", "style_clone"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_outputs_are_complete_and_clean(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c for c in code if "parameters" in c.metadata.get("tags", [])], "no parameters cell"
    assert all(c.execution_count is not None for c in code), "unexecuted cells: nbval would compare nothing"
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), "not one clean top-to-bottom run"
    for cell in code:
        assert not any(o.get("output_type") == "error" for o in cell.outputs), cell.source
        text = outputs_text(cell)
        for pattern, what in BAD_OUTPUT:
            assert not pattern.search(text), f"{path.name}: {what} in the output of:\n{cell.source}"
    assert sum(bool(c.outputs) for c in code) >= len(code) // 2, "most cells show nothing to compare"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_recordings_hold_real_model_answers(path):
    recordings = path.parent / "recordings" / f"{path.stem}.jsonl"
    lines = [json.loads(line) for line in recordings.read_text().splitlines()]
    assert lines, f"{recordings} is empty"
    assert {r["model"] for r in lines} == {"local/smollm2"}
    assert all(r["response"]["completion_tokens"] > 0 for r in lines)
    assert not any("api_key" in r["params"] or "api_base" in r["params"] for r in lines)


@pytest.mark.parametrize("path", sorted((ROOT / "prompts").rglob("*.yaml")),
                         ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_committed_prompt_files_load(path):
    assert load_prompt(path).placeholders


def test_the_reasoning_route_is_zero_shot_on_the_same_input():
    few, zero = (load_prompt(ROOT / "prompts/style_clone" / name)
                 for name in ("generic.yaml", "generic_reasoning.yaml"))
    assert [m["role"] for m in zero.messages] == ["user"]  # no examples, no system turn (R1 advice)
    assert zero.placeholders == few.placeholders == ["text"]
    assert zero.params["max_tokens"] > 4 * few.params["max_tokens"]  # thinking comes first


def test_headless_run_with_another_model_and_its_outputs(tmp_path):
    """`python -m toolkit run NOTEBOOK -p model ...` against a real OpenAI-compatible server."""
    reply = "An invented summary of the passage for this test."
    with LoopbackServer(latency=0, reply=lambda body: reply) as srv:
        out = subprocess.run(
            [sys.executable, "-m", "toolkit", "run", "notebooks/new_pipeline.ipynb",
             "-p", "model", "openai/loopback", "-p", "api_base", srv.url, "-p", "folder", str(tmp_path),
             "-p", "limit", "3"],
            cwd=ROOT, capture_output=True, text=True, timeout=600,
            env={**os.environ, "OPENAI_API_KEY": "sk-SENTINEL-headless"})
        assert out.returncode == 0, out.stderr[-3000:]
        assert srv.count == 6  # 3 rows, and the same 3 again after the notebook's prompt edit
        assert srv.requests[0]["headers"]["Authorization"] == "Bearer sk-SENTINEL-headless"
    assert f"run folder: {tmp_path}" in out.stdout
    assert "step first: 3 rows, 3 ok, 0 failed, 0 skipped" in out.stdout
    # progress while it ran (one line per step run in a log), and nothing a user cannot act on
    assert "first: 3/3 rows, 3 ok, 0 failed\n" in out.stdout.split("run folder:")[0]
    assert out.stderr == "", out.stderr
    written = (tmp_path / "new_pipeline.sharegpt.jsonl").read_text().splitlines()
    assert len(written) == 3 and "An invented summary of the passage for this test." in written[0]
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert b"sk-SENTINEL-headless" not in path.read_bytes(), path


def test_headless_run_refuses_an_unknown_parameter():
    out = subprocess.run([sys.executable, "-m", "toolkit", "run", "notebooks/new_pipeline.ipynb",
                          "-p", "modle", "x"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert "no parameter named modle; its parameters are: model, api_base" in out.stderr


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_one_line_per_step_run_rewritten_in_place_on_a_terminal():
    out = Terminal()
    show = Progress(out)
    for update in [("generic", 1, 4, 1, 0), ("generic", 4, 4, 3, 1), ("generic", 2, 12, 2, 0),
                   ("bookends", 1, 6, 0, 0), ("bookends", 6, 6, 5, 1)]:
        show(*update)
    lines = [line.rsplit("\r\033[K", 1)[-1] for line in out.getvalue().split("\n")]
    assert lines == ["generic: 4/4 rows, 3 ok, 1 failed", "generic: 2/12 rows, 2 ok, 0 failed",
                     "bookends: 6/6 rows, 5 ok, 1 failed", ""]


def test_progress_in_a_log_prints_finished_steps_only():
    out = io.StringIO()
    show = Progress(out)
    for update in [("generic", 1, 4, 1, 0), ("generic", 4, 4, 3, 1), ("generic", 1, 2, 0, 1),
                   ("generic", 2, 2, 0, 2)]:
        show(*update)
    assert out.getvalue() == "generic: 4/4 rows, 3 ok, 1 failed\ngeneric: 2/2 rows, 0 ok, 2 failed\n"


def test_headless_run_names_the_failing_cell_and_the_executed_notebook(tmp_path):
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "language": "python",
                                                          "display_name": "Python 3"}})
    nb.cells = [nbformat.v4.new_code_cell('folder = "run"', metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("x = 1"),
                nbformat.v4.new_code_cell("raise ValueError('the data folder is empty')")]
    path = tmp_path / "broken.ipynb"
    nbformat.write(nb, path)
    out = subprocess.run([sys.executable, "-m", "toolkit", "run", str(path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 1
    assert out.stderr.splitlines() == [
        f"{path}: cell [3] raised ValueError: the data folder is empty",
        f"The executed notebook, with the full traceback: {tmp_path / 'run' / 'broken.ipynb'}"]
