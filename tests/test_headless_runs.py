"""Every pipeline notebook runs to its end headless, against a model that answers every row right
and one that answers every row wrong (tests/scripted_model.py), as `make run` runs them."""

import json
import os
import subprocess
import sys
from pathlib import Path

import datasets
import pytest

import toolkit as tk
from tests.scripted_model import RIGHT, WRONG, ScriptedModel

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
    steps: dict[str, list[dict]] = {}
    for line in (folder / "manifest.jsonl").read_text().splitlines():
        entry = json.loads(line)
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
    assert not any("filter" in json.loads(line) for line in (tmp_path / "manifest.jsonl").read_text().splitlines())
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
