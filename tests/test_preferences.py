"""A/B picks made in compare() become DPO preference pairs ({prompt, chosen, rejected} JSONL)."""

import json

import pytest

import toolkit as tk
from tests.test_viewer import runs


def picked(folder):
    """Two runs with picks: edited -> B, broke -> A (B failed: its raw answer is rejected), fixed -> tie."""
    a, b = runs()
    a.attrs["folder"] = b.attrs["folder"] = str(folder)  # as Step.run marks its frames
    c = tk.compare(a, b)
    for sid, value in (("edited", "B"), ("broke", "A"), ("fixed", "tie")):
        c.jump(sid)
        c.pick(value)
    return a, b


def test_picks_become_pairs_and_trl_jsonl(tmp_path):
    a, b = picked(tmp_path)
    pairs = tk.preference_pairs(a, b, prompt="text", path="dpo.jsonl")
    assert pairs.to_dict("records") == [
        {"id": "edited", "prompt": "text of edited", "chosen": "y", "rejected": "x"},
        {"id": "broke", "prompt": "text of broke", "chosen": "z", "rejected": "oops"},
    ]
    lines = (tmp_path / "dpo.jsonl").read_text().splitlines()  # relative path: in the run folder
    assert [json.loads(line) for line in lines] == [
        {"prompt": "text of edited", "chosen": "y", "rejected": "x"},
        {"prompt": "text of broke", "chosen": "z", "rejected": "oops"},
    ]
    assert "dpo.jsonl" in {p.name for p in tmp_path.iterdir()}


def test_rendered_prompt_gives_the_conversational_layout(tmp_path, prompt_file):
    a, b = picked(tmp_path)
    prompt = tk.load_prompt(prompt_file("messages:\n  - system: Be brief.\n  - user: 'Rewrite: {text}'\n"))
    pairs = tk.preference_pairs(a, b, prompt=prompt)
    first = pairs.iloc[0]
    assert first["prompt"] == [{"role": "system", "content": "Be brief."},
                               {"role": "user", "content": "Rewrite: text of edited"}]
    assert first["chosen"] == [{"role": "assistant", "content": "y"}]
    assert first["rejected"] == [{"role": "assistant", "content": "x"}]


def test_a_pick_on_outputs_that_changed_since_is_left_out(tmp_path):
    a, b = picked(tmp_path)
    b.loc[b["chunk_id"] == "edited", "gen"] = "rerun output"
    assert list(tk.preference_pairs(a, b, folder=tmp_path)["id"]) == ["broke"]


def test_clear_errors(tmp_path):
    a, b = runs()
    with pytest.raises(ValueError, match="folder="):
        tk.preference_pairs(a, b)
    with pytest.raises(ValueError, match="not a column"):
        tk.preference_pairs(a, b, prompt="nope", folder=tmp_path)
    assert tk.preference_pairs(a, b, folder=tmp_path).empty  # no picks yet: no pairs
    assert tk.preference_pairs(a.iloc[:0], b.iloc[:0], folder=tmp_path).empty
