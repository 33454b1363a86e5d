"""Every pipeline notebook runs to its end headless, against a model that answers every row right
and one that answers every row wrong (tests/scripted_model.py), as `make run` runs them."""

import json
import os
import subprocess
import sys
from pathlib import Path

import datasets
import nbformat
import pytest

import toolkit as tk
from tests.scripted_model import RIGHT, WRONG, ScriptedModel
from toolkit.report import MANIFEST_KINDS, read_manifest

ROOT = Path(__file__).resolve().parent.parent
ALL_ROWS = {"style_clone": ["-p", "per_voice", "None", "-p", "chunk_tokens", "1000"],
            "factual_qa": ["-p", "limit", "None"], "new_pipeline": ["-p", "limit", "None"]}


def run(notebook: str, srv: ScriptedModel, folder: Path) -> subprocess.CompletedProcess:
    out = subprocess.run(
        [sys.executable, "-m", "toolkit", "run", f"notebooks/{notebook}.ipynb", "-p", "model", "openai/loopback",
         "-p", "api_base", srv.url, "-p", "folder", str(folder), *ALL_ROWS[notebook]],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, "OPENAI_API_KEY": "k"})
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    assert srv.unknown == 0, "a step's prompt has no entry in tests/scripted_model.py"
    return out


def manifest(folder: Path) -> dict[str, list[dict]]:
    """The manifest's step lines by step, read as `python -m toolkit run` and tk.card read it."""
    steps: dict[str, list[dict]] = {}
    for entry in read_manifest(folder)["step"]:
        steps.setdefault(entry["step"], []).append(entry)
    return steps


def test_style_clone_with_long_passages_and_a_faithful_model(tmp_path):
    """1000-token passages rewritten at their own length: none is cut off, every row is kept."""
    with ScriptedModel(RIGHT) as srv:
        run("style_clone", srv, tmp_path)
        generic = [r["body"] for r in srv.requests if "You rewrite passages" in r["body"]["messages"][0]["content"]]
    steps = manifest(tmp_path)
    assert {b["max_tokens"] for b in generic} == {1500}  # 1.5 × chunk_tokens, over the file's 350 and 500
    for entry in steps["generic"]:
        assert entry["failed"] == 0 and entry["ok"] == entry["rows"] > 0, entry
    # the pairwise judge saw every pair in both orders and, v1 and v2 being alike here, called each a tie
    assert steps["plainer"][-1]["ok"] == steps["plainer"][-1]["rows"] == 2 * steps["generic"][-1]["rows"]
    judged = tk.decisions.Store(tmp_path).picks("judge:plainer")
    assert len(judged) == steps["generic"][-1]["rows"] and {p["pick"] for ps in judged.values() for p in ps} == {"tie"}
    written = datasets.load_from_disk(str(tmp_path / "hf_dataset"))
    assert len(written) == steps["generic"][-1]["rows"]  # every passage became a pair
    assert "dropped" in (tmp_path / "hf_dataset" / "README.md").read_text()


def test_answer_tokens_sets_the_budget_outright(tmp_path):
    with ScriptedModel(RIGHT) as srv:
        subprocess.run([sys.executable, "-m", "toolkit", "run", "notebooks/style_clone.ipynb",
                        "-p", "model", "openai/loopback", "-p", "api_base", srv.url, "-p", "folder", str(tmp_path),
                        "-p", "answer_tokens", "640", "-p", "per_voice", "1"],
                       cwd=ROOT, capture_output=True, text=True, timeout=600, check=True,
                       env={**os.environ, "OPENAI_API_KEY": "k"})
        budgets = {r["body"]["max_tokens"] for r in srv.requests
                   if "You rewrite passages" in r["body"]["messages"][0]["content"]}
    assert budgets == {640}


def test_factual_qa_keeps_answers_with_decimals_units_and_abbreviations(tmp_path):
    with ScriptedModel(RIGHT) as srv:
        run("factual_qa", srv, tmp_path)
    steps = manifest(tmp_path)
    for name in ("worth", "questions", "check"):
        assert steps[name][-1]["failed"] == 0 and steps[name][-1]["ok"] == steps[name][-1]["rows"], steps[name]
    chunks = steps["worth"][-1]["rows"]
    assert steps["check"][-1]["rows"] == 3 * chunks  # three pairs from every chunk
    assert steps["supported"][-1]["ok"] == 3 * chunks  # the judge passed every answer
    # the committed labels judged the recorded answers, not these: none counts, so the gate refused and the
    # notebook went on (had it filtered, the manifest would hold its line)
    assert read_manifest(tmp_path)["filter"] == []
    conversations = [json.loads(line) for line in (tmp_path / "factual_qa.sharegpt.jsonl").read_text().splitlines()]
    assert len(conversations) == chunks
    assert "1.0 and 4.0 bar." in conversations[0]["conversations"][2]["value"]
    assert len(datasets.load_from_disk(str(tmp_path / "hf_dataset"))) == chunks


def test_new_pipeline_with_a_model_that_gets_every_row_right(tmp_path):
    with ScriptedModel(RIGHT) as srv:
        run("new_pipeline", srv, tmp_path)
    first = manifest(tmp_path)["first"]
    assert all(e["failed"] == 0 for e in first)
    assert len((tmp_path / "new_pipeline.sharegpt.jsonl").read_text().splitlines()) == first[-1]["rows"]


@pytest.mark.parametrize("notebook", sorted(ALL_ROWS))
def test_every_notebook_ends_when_every_answer_is_wrong(notebook, tmp_path):
    with ScriptedModel(WRONG) as srv:
        out = run(notebook, srv, tmp_path)
    steps = manifest(tmp_path)
    assert steps and all(e["ok"] == 0 for entries in steps.values() for e in entries), out.stdout[-2000:]
    assert sum(e["failed"] for entries in steps.values() for e in entries) > 0
    assert (tmp_path / f"{notebook}.sharegpt.jsonl").read_text() == ""  # written, and empty


# A pipeline whose judge filters before it is calibrated (trust_judge=True), with a streamed step:
# between them, every kind of line the toolkit writes to a run folder's manifest.
EVERY_KIND = [
    "import pandas as pd\nimport toolkit as tk",
    "llm = tk.LLM(model, folder=folder, api_base=api_base)\n"
    "qa = pd.DataFrame({'chunk_id': ['c0', 'c1', 'c2'], 'text': ['The tank holds 12 litres.'] * 3,\n"
    "                   'question': ['How much?'] * 3, 'answer': ['12 litres.', 'Twelve litres.', '12 L.']})",
    "check = tk.Step('check', f'{prompts}/factual_qa/check.yaml', llm, parse=r'^\\s*(SUPPORTED|UNSUPPORTED)')\n"
    "checked = check.run(qa)",
    "streamed = pd.read_parquet(tk.stream(qa, [check], shard_rows=2, folder=f'{folder}/streamed'))",
    "judge = tk.Judge('supported', f'{prompts}/factual_qa/judge_supported.yaml', llm, judged='answer')\n"
    "verdicts = judge.run(checked)",
    "kept, dropped = tk.keep(verdicts, steps=['check'], judge=judge, trust_judge=True)\nlen(kept)",
]


def test_every_kind_of_manifest_line_is_read_and_the_headless_run_ends(tmp_path):
    """Issue 28 point 3: a notebook that filtered with a judge (its manifest line has no "step")
    ended `python -m toolkit run` with KeyError 'step'. The run folder's manifest has one reader;
    here a notebook writes every kind of line there is, and the command reads them all."""
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    params = ("model = None\napi_base = None\nfolder = 'run'\n"
              f"prompts = {str(ROOT / 'prompts')!r}")
    nb.cells = [nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]}),
                *map(nbformat.v4.new_code_cell, EVERY_KIND)]
    nbformat.write(nb, tmp_path / "every_kind.ipynb")
    with ScriptedModel(RIGHT) as srv:
        out = subprocess.run(
            [sys.executable, "-m", "toolkit", "run", str(tmp_path / "every_kind.ipynb"), "-p", "model",
             "openai/loopback", "-p", "api_base", srv.url, "-p", "folder", str(tmp_path / "run")],
            cwd=ROOT, capture_output=True, text=True, timeout=600,
            env={**os.environ, "OPENAI_API_KEY": "k", "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    lines = read_manifest(tmp_path / "run")
    assert {kind for kind, entries in lines.items() if entries} == set(MANIFEST_KINDS)  # every kind, none unknown
    assert [(e["step"], e.get("streamed", False)) for e in lines["step"]] == [
        ("check", False), ("check", True), ("supported", False)]
    assert lines["filter"][0]["override"] and lines["filter"][0]["agreement"]["n"] == 0
    assert "step check: 3 rows, 3 ok, 0 failed, 0 skipped" in out.stdout
    assert "judge supported filtered answer: 0 of 3 rows dropped (not calibrated: trust_judge=True; " \
           "κ undefined on 0 of your labels)" in out.stdout
