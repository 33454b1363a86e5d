"""What the review widgets show beside a sample: a judge's verdict (run on the loopback server),
never as the person's label, the filters "judge disagrees / agrees with my label", the uncertain
review order, a duplicate beside the sample it repeats (tk.dedupe) and the samples of one drop
reason (tk.drop_reasons); in a comparison, a pairwise judge's picks beside the person's."""

import json

import numpy as np
import pandas as pd
import pytest

import toolkit as tk
from tests.loopback import LoopbackServer
from tests.test_judges import JUDGE, PAIRWISE, pairwise_runs, prefers_new, run_judge
from tests.test_viewer import XSS, send
from toolkit.decisions import Store
from toolkit.judge import uncertainty


def answers(n, bad=()):
    """n samples a step answered ("right i", or "wrong i" at `bad`), ready for a judge."""
    return pd.DataFrame({"chunk_id": [f"c{i}" for i in range(n)], "text": [f"chunk {i}" for i in range(n)],
                         "answer": [f"{'wrong' if i in bad else 'right'} {i}" for i in range(n)],
                         "answer.status": "ok"})


def section(sample, name):
    return next(s for s in sample["sections"] if s["name"] == name)


def test_the_judges_verdict_and_reason_show_beside_the_sample_never_as_the_label(loopback_llm, prompt_file):
    judge, out = run_judge(loopback_llm, prompt_file, answers(4, bad={1}), fails={"wrong 1"})
    v = tk.show(out)  # the judge found from its columns; the output shown is the answer, not the verdict
    assert v.sample["panes"][1]["title"] == "answer"
    assert dict(v.sample["head"])["judge right"] == "pass" and v.sample["mark"] == "unreviewed"
    s = section(v.sample, "judge:right")
    assert s["open"] and s["text"] == "checked right 0" and "not your label" in s["title"]
    v.next()
    assert dict(v.sample["head"])["judge right"] == "fail" and v.sample["mark"] == "unreviewed"
    assert v.progress == "0 of 4 reviewed" and Store(out.attrs["folder"]).labels() == {}
    send(v, do="open", what="judge:right", open=False)  # the reviewer closes it: it stays closed
    assert "text" not in section(v.sample, "judge:right")
    assert tk.show(out, judge=judge).sample["head"] == tk.show(out, judge="right").sample["head"]


def test_a_verdict_on_an_earlier_output_or_no_verdict_says_so(loopback_llm, prompt_file):
    _, out = run_judge(loopback_llm, prompt_file, answers(3), fails=set())
    out.loc[1, "answer"] = "rewritten 1"  # the step reran: the verdict judged the old answer
    out.loc[2, ["right", "right.status", "right.error"]] = [None, "failed", "parse: no JSON object"]
    v = tk.show(out)
    v.go(1)
    assert dict(v.sample["head"])["judge right"] == "pass (stale)"
    assert "on an earlier answer: rerun the judge" in section(v.sample, "judge:right")["title"]
    v.go(2)
    assert dict(v.sample["head"])["judge right"] == "no verdict (failed)"
    assert section(v.sample, "judge:right")["text"] == "parse: no JSON object"


def test_a_hostile_reason_stays_text(loopback_llm, prompt_file):
    with LoopbackServer(latency=0, reply=lambda body: json.dumps({"reason": XSS, "verdict": "fail"})) as srv:
        out = tk.Judge("right", prompt_file(JUDGE, "j.yaml"), loopback_llm(srv), judged="answer").run(answers(1))
    s = section(tk.show(out).sample, "judge:right")
    assert s["text"] == XSS and "panes" not in s  # the front-end puts it in textContent, as every text


def test_filters_judge_disagrees_and_agrees_with_my_current_labels(loopback_llm, prompt_file):
    _, out = run_judge(loopback_llm, prompt_file, answers(8, bad={1, 2}), fails={"wrong 1", "wrong 2"})
    v = tk.show(out)
    mine = {"c0": "good", "c1": "good", "c2": "bad", "c3": "bad", "c4": "good", "c5": "off"}
    for sid, value in mine.items():
        v.jump(sid)
        v.label(value if value != "off" else "unreviewed")
    out.loc[4, "answer"] = "right 4, rewritten"  # c4's label and verdict are now both stale
    v = tk.show(out)
    judge_pass = {f"c{i}": i not in (1, 2) for i in range(8)}
    counted = [s for s, value in mine.items() if value in ("good", "bad") and s != "c4"]
    send(v, do="filter", name="judge", value="disagrees")
    assert [e[1] for e in v.view["list"]] == [s for s in counted if (mine[s] == "good") != judge_pass[s]]
    v.set_filter(judge="agrees")
    assert [e[1] for e in v.view["list"]] == [s for s in counted if (mine[s] == "good") == judge_pass[s]]
    assert next(f[2] for f in v.view["filters"] if f[0] == "judge") == "agrees"
    with pytest.raises(ValueError, match="'disagrees' or 'agrees'"):
        v.set_filter(judge="maybe")
    unfiled = out.copy()
    unfiled.attrs = {}
    with pytest.raises(ValueError, match="labels are off"):
        tk.show(unfiled).set_filter(judge="agrees")


def test_order_uncertain_puts_mid_scores_and_missing_verdicts_first(loopback_llm, prompt_file):
    scores = {f"right {i}": s for i, s in enumerate([5, 3, 1, 4, 2, 3])}
    judge, out = run_judge(loopback_llm, prompt_file, answers(6), fails=scores, verdict=tk.Score)
    out.loc[5, "answer"] = "changed"  # stale: as doubtful as no verdict
    v = tk.show(out, order="uncertain")
    u = uncertainty(out, judge).to_numpy()
    expected = [f"c{i}" for i in sorted(range(6), key=lambda i: (-u[i], i))]
    assert [e[1] for e in v.view["list"]] == expected == ["c1", "c5", "c3", "c4", "c0", "c2"]
    assert v.current == "c1"
    v.label("good", advance=True)
    assert v.current == "c5"
    assert dict(tk.show(out, judge="right").sample["head"])["judge right"] == "5"  # scores: Score found by dtype
    with pytest.raises(ValueError, match="needs a judge"):
        tk.show(answers(2).assign(**{"answer.status": "ok"}), order="uncertain", folder=None)


def test_a_duplicate_shows_beside_the_sample_it_repeats():
    df = pd.DataFrame({"chunk_id": ["c0", "c1", "c2"], "text": ["a", "b", "c"],
                       "gen": ["The cat sat on the mat all day long.", "the cat  sat on the mat all day long!",
                               "A dog ran in the park at noon today."], "gen.status": "ok"})
    out = tk.dedupe(df, "gen", threshold=0.5)
    assert out["gen.dup_of"].tolist() == [None, "c0", None]
    v = tk.show(out, right="gen")
    assert [s["name"] for s in v.sample["sections"]] == []
    v.go(1)
    s = section(v.sample, "dup:gen")
    assert s["open"] and s["title"].startswith("duplicate: gen repeats sample c0 (similarity ")
    left, right = ("".join(t for _, t in p["segments"]) for p in s["panes"])
    assert (left, right) == (df["gen"][0], df["gen"][1]) and s["panes"][0]["title"] == "c0 (the original)"
    assert [k for k, _ in s["panes"][1]["segments"] if k != "="]  # what differs is marked
    alone = tk.show(out.iloc[1:], right="gen")  # the original filtered out of the frame
    assert section(alone.sample, "dup:gen")["text"] == "sample c0 is not in this frame"


def health_frame():
    df = pd.DataFrame({"chunk_id": [f"c{i}" for i in range(6)], "text": [f"t{i}" for i in range(6)],
                       "gen": ["x one", "x one", "y", None, None, "z"],
                       "gen.status": ["ok", "ok", "ok", "failed", "failed", "skipped"],
                       "gen.error": [None, None, None, "parse: no JSON object", "connection: refused",
                                     "not selected"],
                       "gen.raw": [None, None, None, "{oops", None, None]})
    return tk.dedupe(df, "gen")


def test_the_samples_of_one_drop_reason(tmp_path):
    df = health_frame()
    why = tk.drop_reasons(df)
    v = tk.show(df, right="gen", folder=tmp_path)
    options = dict(next(f[1] for f in v.view["filters"] if f[0] == "reason"))
    groups = why.dropna(subset=["kind"]).groupby(["where", "kind"]).size()
    assert {k: n for k, n in groups.items()} == {tuple(k.split(": ")): int(t.rsplit("(", 1)[1][:-1])
                                                 for k, t in options.items() if k != "all"}
    for where, kind in groups.index:
        send(v, do="filter", name="reason", value=f"{where}: {kind}")
        assert [e[1] for e in v.view["list"]] == why["id"][(why["where"] == where) & (why["kind"] == kind)].tolist()
    assert [e[1] for e in tk.show(df, right="gen", reason=("dedupe", "duplicate")).view["list"]] == ["c1"]
    assert [e[1] for e in tk.show(df, right="gen", reason="transport").view["list"]] == ["c4"]
    with pytest.raises(ValueError, match="no row is dropped for it; reasons here: "):
        tk.show(df, right="gen", reason="budget")


def test_a_pairwise_judges_picks_beside_yours_never_as_yours(loopback_llm, prompt_file, folder):
    v1, v2 = pairwise_runs()
    with LoopbackServer(latency=0, reply=prefers_new) as srv:
        judge = tk.Judge("plainer", prompt_file(PAIRWISE, "p.yaml"), loopback_llm(srv), verdict=tk.Preference)
        pairs = judge.compare(v1, v2)
    pairs.loc[pairs.index[1], "plainer"] = "inconsistent"  # as if its orders had disagreed on c1
    c = tk.compare(v1, v2, folder=folder, judge=pairs, order="uncertain")
    assert c.current == "c1" and dict(c.sample["head"])["judge plainer"] == "inconsistent"
    assert [e[1] for e in c.view["list"]][:2] == ["c1", "c5"]  # inconsistent, then the tie
    assert c.sample["mark"] == "unpicked" and c.progress == "0 of 6 picked"
    s = section(c.sample, "judge:plainer")
    assert "not yours" in s["title"] and s["text"] == "A shown first: plainer\n\nB shown first: plainer"
    for sid, value in (("c0", "A"), ("c2", "B"), ("c1", "A")):
        c.jump(sid)
        c.pick(value)
    c.set_filter(show="judge disagrees")
    assert [e[1] for e in c.view["list"]] == ["c0"]
    c.set_filter(show="judge agrees")
    assert [e[1] for e in c.view["list"]] == ["c2"]
    mine, its = c.results(), c.results(source="judge")
    assert (mine["A"][0], mine["B"][0]) == (2, 1) and (its["A"][0], its["B"][0], its["tie"][0]) == (0, 5, 1)
    assert "judge plainer (not you): B better in" in c.view["summary"]
    store = Store(folder)
    assert {k: [p["pick"] for p in v] for k, v in store.picks().items()} == {"c0": ["A"], "c2": ["B"], "c1": ["A"]}
    by_name = tk.compare(v1, v2, folder=folder, judge="plainer")  # from the store: consistent picks only
    by_name.jump("c1")
    assert dict(by_name.sample["head"])["judge plainer"] == "B"
    assert "pass it as judge=" in section(by_name.sample, "judge:plainer")["text"]


def test_a_blind_comparison_shows_the_judges_pick_as_a_side_without_reasons(loopback_llm, prompt_file, folder):
    v1, v2 = pairwise_runs()
    with LoopbackServer(latency=0, reply=prefers_new) as srv:
        pairs = tk.Judge("plainer", prompt_file(PAIRWISE, "p.yaml"), loopback_llm(srv),
                         verdict=tk.Preference).compare(v1, v2)
    c = tk.compare(v1, v2, folder=folder, judge=pairs, blind=True, seed=3)
    for k in range(5):
        c.go(k)
        shown = dict(c.sample["head"])["judge plainer"]
        assert shown in ("left", "right")
        right_is_b = c.sample["panes"][1]["title"] == "right: generic" and \
            "".join(t for _, t in c.sample["panes"][1]["segments"]).startswith("new")
        assert (shown == "right") == right_is_b  # B (the new one) wherever it is shown
        assert "show once the comparison is not blind" in section(c.sample, "judge:plainer")["text"]
    assert "judge plainer" not in c.view["summary"]


def test_bulk_reads_agree_with_one_by_one_reads_through_undos_and_sessions(tmp_path):
    """labels()/picks() (one GROUP BY) against label_of/pick_of (one lookup each) and against a
    replay of the decisions kept here, after random labels, notes, picks, bulks and undos from
    two Stores on one folder."""
    rng = np.random.default_rng(7)
    stores = [Store(tmp_path), Store(tmp_path)]
    for _ in range(400):
        w = int(rng.integers(2))
        store, sid = stores[w], f"s{int(rng.integers(15))}"
        action = rng.choice(["label", "note", "pick", "bulk", "undo"], p=[0.35, 0.15, 0.2, 0.1, 0.2])
        if action == "label":
            value = rng.choice(["good", "bad", None])
            store.label(sid, f"h{int(rng.integers(2))}", value, note=rng.choice([None, "n1", ""]))
        elif action == "note":
            store.note(sid, "h0", rng.choice(["n2", ""]))
        elif action == "pick":
            store.pick(sid, "ha", f"hb{int(rng.integers(2))}", rng.choice(["A", "B", "tie", None]))
        elif action == "bulk":
            store.label_many([(f"s{i}", "h0") for i in rng.choice(15, 4, replace=False)], "bad")
        else:
            store.undo()
    fresh = Store(tmp_path)
    labels, picks = fresh.labels(), fresh.picks()
    every = {f"s{i}" for i in range(15)}
    assert labels == {s: fresh.label_of(s) for s in every if fresh.label_of(s) is not None}
    assert picks == {s: [{"a": "ha", "b": b, "pick": fresh.pick_of(s, "ha", b)} for b in ("hb0", "hb1")
                         if fresh.pick_of(s, "ha", b)] for s in every if any(fresh.pick_of(s, "ha", b) for b in
                                                                             ("hb0", "hb1"))}
    # the replay: undone batches out, then per sample the latest label and latest non-null note
    import sqlite3
    db = sqlite3.connect(tmp_path / "review.sqlite")
    rows = db.execute("SELECT id, kind, sample, a, b, value, note, batch FROM events ORDER BY id").fetchall()
    undone = {r[5] for r in rows if r[1] == "undo"}
    state = {}
    for _, kind, sid, a, b, value, note, batch in rows:
        if kind in ("label", "note") and batch not in undone:
            s = state.setdefault(sid, {"label": None, "note": "", "output": None, "column": None})
            if kind == "label":
                s.update(label=value, output=a, column=b)
            if note is not None:
                s["note"] = note
    assert labels == {k: v for k, v in state.items() if v["label"] is not None or v["note"]}
    assert fresh.refresh() == set()  # nothing changed since it was made
    stores[0].label("s1", "h0", "good")
    assert fresh.refresh() == {"s1"}
