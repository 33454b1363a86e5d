"""tk.show on a step run with n=: one item per sample, its candidates side by side, a pick key per
candidate (Shift+1..9) that keep() and preference_pairs then take; a judge's pick beside, never
the person's; undo; a second viewer sees a pick (issue 32 point 3, UI). The browser half is
tests/test_review_candidates_browser.py."""

import pandas as pd
import pytest

import toolkit as tk
from tests.test_candidates import PICK, PROMPT, judge_server
from toolkit.decisions import Store
from toolkit.decisions.picks import picked
from toolkit.outputs import output_hash
from toolkit.review import keys, show
from toolkit.review.candidates import Candidates


def press(v, **msg):
    v._on_msg(v, msg, [])


def frame(k=3, n=2, status="ok"):
    return pd.DataFrame({"chunk_id": [f"s{i}" for i in range(n) for _ in range(k)],
                         "text": [f"text {i}" for i in range(n) for _ in range(k)],
                         "say": [f"answer {i}" for i in range(n * k)], "say.status": status,
                         "say.candidate": pd.array(list(range(k)) * n, dtype="Int64"),
                         "say.candidate_of": [f"s{i}" for i in range(n) for _ in range(k)]})


def test_a_pick_is_stored_with_the_candidates_hashes_and_keep_takes_it(loopback_llm, prompt_file, rows, folder):
    with judge_server() as srv:
        out = tk.Step("say", prompt_file(PROMPT), loopback_llm(srv), n=3).run(rows(2))
    v = show(out)
    assert isinstance(v, Candidates) and v.counter == "1 of 2 filtered (2 total)"  # one item per sample
    assert [p["segments"][0][1] for p in v.sample["panes"]] == list(out["say"][:3])
    assert v.sample["head"][:2] == [["id", "c0"], ["candidates", "3 of step say"]]
    assert v.view["keys"]["Shift+2"] == {"do": "mark", "value": "#2", "advance": True, "ahead": True}
    press(v, do="mark", value="#2", advance=True)
    assert v.message == "picked #2 for c0 (z undoes it)" and v.current == "c1"
    hashes = [output_hash(x) for x in out["say"]]
    with Store(folder) as store:
        saved = store.picks()["c0"]
    assert sorted((e["a"], e["b"]) for e in saved) == sorted(
        tuple(sorted((hashes[1], other))) for other in (hashes[0], hashes[2]))
    assert all(hashes[1] == (e["a"] if e["pick"] == "A" else e["b"]) for e in saved)
    kept, dropped = tk.keep(out, steps=["say"])
    assert list(kept["say.candidate"]) == [1, 0] and kept["say"].iat[0] == out["say"].iat[1]
    assert "say: candidate 1 kept (picked by person)" in set(dropped["dropped_because"])
    pairs = tk.preference_pairs(out)
    assert set(pairs["chosen"]) == {out["say"].iat[1]} and set(pairs["rejected"]) == {out["say"].iat[0],
                                                                                       out["say"].iat[2]}
    v.prev()
    assert [p["picked"] for p in v.sample["panes"]] == [None, "person", None] and v.sample["mark"] == "#2"
    assert v.progress == "1 of 2 picked" and v.view["list"][0][3] == "#2"


def test_undo_reverts_a_pick_and_a_second_viewer_sees_both(tmp_path):
    df, run = frame(), tmp_path / "run"
    one, two = show(df, folder=run), show(df, folder=run)
    press(one, do="mark", value="#3", advance=False)
    press(two, do="sync")
    assert [p["picked"] for p in two.sample["panes"]] == [None, None, "person"] and two.progress == "1 of 2 picked"
    press(one, do="mark", value="#1", advance=False)  # a change of mind: #1 now, over #3 too
    assert [p["picked"] for p in one.sample["panes"]] == ["person", None, None]
    press(one, do="undo")
    assert one.message == "undid the pick for s0: #3 is picked now"
    press(one, do="undo")
    assert one.message == "undid the pick for s0: no pick now" and one.sample["mark"] == "unpicked"
    press(two, do="sync")
    assert [p["picked"] for p in two.sample["panes"]] == [None, None, None] and two.progress == "0 of 2 picked"
    press(one, do="mark", value="#2", advance=False)
    press(one, do="mark", value="unpicked", advance=False)  # u: no pick
    assert one.sample["mark"] == "unpicked" and picked(df, folder=run).isna().all()
    press(one, do="undo")
    assert one.sample["mark"] == "#2"


def test_a_judges_pick_is_shown_beside_never_as_the_persons(loopback_llm, prompt_file, rows, folder):
    with judge_server() as srv:
        llm = loopback_llm(srv)
        out = tk.Step("say", prompt_file(PROMPT), llm, n=3).run(rows(2))
        picked = tk.Judge("best", prompt_file(PICK, "pick.yaml"), llm, verdict=tk.Preference).pick(out)
    v = show(picked)
    assert isinstance(v, Candidates)
    best = out["say"].str.removeprefix("answer ").astype(int)[:3].argmax()
    assert [p["judges"] for p in v.sample["panes"]] == [["best"] if i == best else [] for i in range(3)]
    assert [p["picked"] for p in v.sample["panes"]] == [None] * 3 and v.sample["mark"] == "unpicked"
    assert v.progress == "0 of 2 picked"
    other = (best + 1) % 3
    press(v, do="mark", value=f"#{other + 1}", advance=False)
    assert [p["picked"] for p in v.sample["panes"]] == ["person" if i == other else None for i in range(3)]
    assert v.sample["panes"][best]["judges"] == ["best"]  # still beside


def test_candidate_text_is_sent_as_text_and_bad_picks_are_said(tmp_path):
    df = frame(k=4, n=1)
    df.loc[1, "say"] = '<img src=x onerror="alert(1)">'
    df.loc[2, "say.status"] = "failed"
    v = show(df, folder=tmp_path / "run")
    assert v.sample["panes"][1]["segments"] == [["=", '<img src=x onerror="alert(1)">']]  # drawn as textContent
    assert len(v.sample["panes"]) == 4 and v.view["marks"][-2:] == [["#4", "Shift+4"], ["unpicked", "u"]]
    press(v, do="mark", value="#3", advance=False)
    assert v.view["alert"] and v.message == "candidate #3 of s0 is failed: pick one that passed"
    press(v, do="mark", value="#7", advance=False)
    assert v.view["alert"] and "must be one of" in v.message
    assert show(df).view["marks"] == []  # no run folder: no picks
    with pytest.raises(ValueError, match="9 at most"):
        show(frame(k=10, n=1))
    assert type(show(df, id="say")).__name__ == "Viewer"  # id=: the rows one at a time


def test_pick_keys_never_clash_with_label_keys():
    labels = {key for _, key in keys.label_keys([f"l{i}" for i in range(9)])}
    picks = {key for _, key in keys.candidate_keys(9)}
    assert picks - {"u"} == {f"Shift+{i}" for i in range(1, 10)} and not (picks - {"u"}) & labels
    taken = [key for k in keys.KEYS if "candidates" in k.where for key in k.keys]
    assert len(taken) == len(set(taken)) and not picks & set(taken)
