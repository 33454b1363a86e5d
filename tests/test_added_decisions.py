"""Labels and picks made by hand and kept as data (the notebooks' recordings/*.labels.jsonl and
*.picks.jsonl) go into a run folder's review store tied to the outputs they judged."""

import json

import pandas as pd
import pytest

import toolkit as tk
from toolkit.outputs import output_hash


def write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def frame(folder, answers):
    df = pd.DataFrame({"chunk_id": [f"c{i}" for i in range(len(answers))], "text": "passage",
                       "answer": answers, "answer.status": "ok"})
    df.attrs["folder"] = str(folder)
    return df


def test_labels_tie_to_the_output_they_judged_and_load_once(tmp_path):
    path = write(tmp_path / "labels.jsonl", [
        {"sample": "c0", "column": "answer", "output": "Every 6 months.", "label": "good", "note": "in the passage"},
        {"sample": "c1", "column": "answer", "output": "20 litres.", "label": "bad", "note": "it says 12"}])
    store = tk.decisions.Store(tmp_path / "run")
    store.add_labels(path)
    saved = store.labels()
    assert saved["c0"] == {"label": "good", "note": "in the passage", "output": output_hash("Every 6 months."),
                           "column": "answer"}
    store.add_labels(path)  # again: nothing new is written
    assert store._db.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 2
    out = tk.labels(frame(tmp_path / "run", ["Every 6 months.", "12 litres."]))
    assert out["label"].tolist() == ["good", "unreviewed"]  # c1's answer is not the one labelled bad
    assert out["label_stale"].tolist() == [False, True]


def test_picks_tie_to_the_pair_of_outputs(tmp_path):
    path = write(tmp_path / "picks.jsonl", [{"sample": "c0", "a": "Uno.", "b": "One.", "pick": "B", "why": "plain"}])
    store = tk.decisions.Store(tmp_path)
    store.add_picks(path)
    assert store.picks() == {"c0": [{"a": output_hash("Uno."), "b": output_hash("One."), "pick": "B"}]}
    assert tk.compare(frame(tmp_path, ["Uno."]), frame(tmp_path, ["One."])).results()["B"].tolist() == [1]


@pytest.mark.parametrize("line, says", [({"sample": "c0", "label": "good"}, "line 2: not a label"),
                                        ("not json", "line 2: not a label")])
def test_a_bad_line_is_named(tmp_path, line, says):
    path = tmp_path / "labels.jsonl"
    good = {"sample": "c0", "column": "answer", "output": "x", "label": "good"}
    path.write_text(json.dumps(good) + "\n" + (line if isinstance(line, str) else json.dumps(line)) + "\n")
    with pytest.raises(ValueError, match=says):
        tk.decisions.Store(tmp_path).add_labels(path)


def test_a_pick_outside_a_b_tie_is_refused(tmp_path):
    path = write(tmp_path / "picks.jsonl", [{"sample": "c0", "a": "x", "b": "y", "pick": "left"}])
    with pytest.raises(ValueError, match="line 1: pick must be one of"):
        tk.decisions.Store(tmp_path).add_picks(path)
