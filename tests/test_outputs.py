"""outputs.py, the one place that says what an output is to a decision: its text, its hash, and
whether a decision made on it is stale. Every reader of decisions (labels, the viewer, agreement,
the judge) must give the same answer for the same decision, so they are checked side by side."""

import numpy as np
import pandas as pd
import pytest

import toolkit as tk
from toolkit.decisions import Store
from toolkit.judge import current
from toolkit.outputs import cell_text, output_hash, output_hashes, stale
from toolkit.outputs import current as made_on


def test_cell_text_and_hash():
    assert cell_text("x") == "x" and cell_text(None) == "" and cell_text(float("nan")) == ""
    assert cell_text({"q": "é"}) == '{\n  "q": "é"\n}'  # parsed outputs as the panes show them
    assert output_hash(3) == output_hash("3") and output_hash(None) == output_hash("")
    assert len(output_hash("a")) == 16 and output_hash("a") != output_hash("b")


@pytest.mark.parametrize("dtype", [object, "str", "string[pyarrow]"])
def test_a_columns_hashes_are_each_cells_hash(dtype):
    values = pd.Series(["a", None, "ü" * 300, ""], dtype=dtype).iloc[1:]  # an offset slice too
    assert output_hashes(values) == [output_hash(v) for v in values]


MIXED = ["a", None, float("nan"), "ü" * 300, "", 3, ["x", {"y": 1}], {"q": "é", "n": None}, pd.NA]


@pytest.mark.parametrize("rows", [None, [5, 0, 7, 1, 2], [], [8, 8]])
def test_hashes_of_chosen_rows_of_mixed_cells_are_each_cells_hash(rows):
    """Parsed outputs (lists, dicts), numbers and every kind of missing, at any rows in any order:
    the same hash as `output_hash` of the cell, so no stored decision turns stale."""
    values = pd.Series(MIXED, dtype=object)
    picked = MIXED if rows is None else [MIXED[k] for k in rows]
    assert output_hashes(values, rows) == [output_hash(v) for v in picked]


@pytest.mark.parametrize("dtype", ["str", "string[pyarrow]", "string[python]"])
def test_text_columns_hashed_in_place_match_each_cells_hash(dtype):
    """A pyarrow text column is hashed from its buffers: also when concatenated from several
    runs (several chunks, each sliced) and at chosen rows across the chunks."""
    texts = ["a", None, "ü" * 300, "", "the pump", None, "b"]
    parts = [pd.Series(texts, dtype=dtype).iloc[1:], pd.Series(texts[::-1], dtype=dtype).iloc[2:5]]
    values = pd.concat(parts, ignore_index=True)
    if dtype != "string[python]":
        assert values.array.__arrow_array__().num_chunks == 2
    cells = list(values.astype(object))
    assert output_hashes(values) == [output_hash(v) for v in cells]
    rows = [8, 0, 6, 1, 6, 3]
    assert output_hashes(values, rows) == [output_hash(cells[k]) for k in rows]
    assert output_hashes(values, rows) == output_hashes(values.astype(object), rows)


def test_stale_and_current():
    now = [output_hash("new"), output_hash("same"), output_hash("x")]
    judged = [output_hash("old"), output_hash("same"), None]
    assert stale(judged, now).tolist() == [True, False, False]  # unknown (imported) is never stale
    assert made_on(judged, now).tolist() == [False, True, False]  # ...nor current: never judged
    assert stale([], []).tolist() == []


def test_every_reader_of_a_decision_agrees_on_which_are_stale(tmp_path):
    """A label and a verdict made on the first answers; then two answers change. labels(), the
    viewer, the judge's `current` and the store's hash all call the same two answers stale."""
    first = pd.DataFrame({"chunk_id": ["c0", "c1", "c2", "c3"], "text": "passage",
                          "answer": ["a0", "a1", "a2", "a3"], "answer.status": "ok"})
    first.attrs["folder"] = str(tmp_path)
    with Store(tmp_path) as store:
        for sid, answer in zip(first["chunk_id"], first["answer"]):
            store.label(sid, output_hash(answer), "good", column="answer")
    rerun = first.assign(answer=["a0", "A1", "a2", "A3"])
    rerun.attrs["folder"] = str(tmp_path)
    expected = [False, True, False, True]
    assert tk.labels(rerun)["label_stale"].tolist() == expected
    viewer = tk.show(rerun, right="answer")
    viewer.set_filter(label="stale")
    assert viewer.counter == "1 of 2 filtered (4 total)" and viewer.current == "c1"
    judge = type("J", (), {"name": "right", "judged": "answer"})()
    judged = rerun.assign(**{"right.judged": output_hashes(first["answer"])})
    assert (~current(judged, judge)).tolist() == expected
    assert np.array_equal(stale(output_hashes(first["answer"]), output_hashes(rerun["answer"])), expected)
