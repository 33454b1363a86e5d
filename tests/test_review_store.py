"""The review store on a real SQLite file: several viewers and processes on one run folder lose
nothing, labels belong to the output they judged, and the keys a reviewer lives in (undo, next
unreviewed, bulk, label sets, review order, reopening) do what they say."""

import json
import multiprocessing
import sqlite3

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import toolkit as tk
from tests.test_viewer import frame, runs, send
from toolkit.decisions import Store, labels
from toolkit.outputs import output_hash, output_hashes
from toolkit.review import compare, show


def many(n):
    """n samples with ~50-character ids, as real runs name them."""
    ids = [f"corpus/novels/austen-pride-and-prejudice/chunk-{i:05d}" for i in range(n)]
    return pd.DataFrame({"chunk_id": ids, "text": [f"text {i}" for i in range(n)],
                         "gen": [f"out {i}" for i in range(n)], "gen.status": "ok"})


def test_two_viewers_on_one_folder_lose_nothing_and_show_current_counts(tmp_path):
    first, second = show(frame(), right="generic", folder=tmp_path), show(frame(), right="generic", folder=tmp_path)
    first.label("good", note="reads well")
    second.go(1)
    second.label("bad")
    assert {k: (v["label"], v["note"]) for k, v in Store(tmp_path).labels().items()} == {
        "c0": ("good", "reads well"), "c1": ("bad", "")}
    assert second.progress == "2 of 4 reviewed"
    first.next()  # any update reads what others wrote
    assert first.progress == "2 of 4 reviewed" and first.sample["mark"] == "bad"
    assert [e[3] for e in first.view["list"][:2]] == ["good", "bad"]
    second.go(0)
    assert second.sample["note"] == "reads well"  # the other viewer's note is not overwritten


def _label_half(folder, part, ready):
    """One of two processes: label every other sample of the 300, after both are ready."""
    v = show(many(300), right="gen", folder=folder)
    ready.wait()
    for k in range(part, 300, 2):
        v.go(k)
        v.label("good" if k % 3 else "bad")


def test_two_processes_labelling_one_folder_at_once_keep_every_label(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Barrier(2)
    procs = [ctx.Process(target=_label_half, args=(str(tmp_path), part, ready)) for part in (0, 1)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    assert [p.exitcode for p in procs] == [0, 0]
    out = labels(many(300), tmp_path)
    assert (out["label"] == ["good" if k % 3 else "bad" for k in range(300)]).all()
    assert show(many(300), right="gen", folder=tmp_path).progress == "300 of 300 reviewed"


def test_old_labels_and_picks_json_are_imported_once_and_kept(tmp_path):
    (tmp_path / "labels.json").write_text(json.dumps({"c1": {"label": "bad", "note": "old note"}}))
    a, b = runs()
    pair = [output_hash(df.set_index("chunk_id").at["edited", "gen"]) for df in (a, b)]
    (tmp_path / "picks.json").write_text(json.dumps({"edited": [{"a": pair[0], "b": pair[1], "pick": "B"}]}))
    for _ in range(2):
        Store(tmp_path)
    with sqlite3.connect(tmp_path / "review.sqlite") as db:
        assert db.execute("SELECT count(*) FROM events").fetchone() == (2,)  # not imported twice
    out = labels(frame(), tmp_path)
    assert list(out["label"]) == ["unreviewed", "bad", "unreviewed", "unreviewed"] and out["note"][1] == "old note"
    assert not out["label_stale"].any()  # an imported label does not say which output it judged
    assert picks_of(a, b, tmp_path)["edited"] == "B"
    assert (tmp_path / "labels.json").exists() and (tmp_path / "picks.json").exists()


def picks_of(a, b, folder):
    col = tk.picks(a, b, folder=folder)
    return dict(zip(col["chunk_id"], col["pick"]))


def test_a_label_belongs_to_the_output_it_judged(tmp_path):
    v = show(frame(), right="generic", folder=tmp_path)
    v.label("bad", note="copied the text")
    v.go(1)
    v.label("good")
    rerun = frame()
    rerun.loc[0, "generic"] = "A rewritten answer."  # the prompt changed, c0's output with it
    out = labels(rerun, tmp_path)
    assert list(out["label"]) == ["unreviewed", "good", "unreviewed", "unreviewed"]
    assert list(out["label_stale"]) == [True, False, False, False] and out["note"][0] == "copied the text"
    assert labels(rerun, tmp_path, stale="keep")["label"][0] == "bad"
    kept, dropped = tk.keep(labels(rerun, tmp_path), steps=["generic"])
    assert "c0" in set(kept["chunk_id"])  # its "bad" judged another text
    kept, dropped = tk.keep(labels(rerun, tmp_path, stale="keep"), steps=["generic"])
    assert "c0" in set(dropped["chunk_id"])

    again = show(rerun, right="generic", folder=tmp_path)
    again.go(0)
    assert again.sample["mark"] == "unreviewed" and again.sample["stale"] == "labelled bad on an earlier output"
    assert again.view["list"][0][3] == "was bad" and again.progress == "1 of 4 reviewed"
    again.set_filter(label="stale")
    assert again.counter == "1 of 1 filtered (4 total)"
    again.label("good")  # judged again: current
    assert labels(rerun, tmp_path)["label"][0] == "good"
    with pytest.raises(ValueError, match="stale must be"):
        labels(rerun, tmp_path, stale="drop")


def test_labels_judge_the_column_they_were_given_on_else_the_last_step(tmp_path):
    df = frame()
    df["second"], df["second.status"] = df["generic"].str.upper(), "ok"
    v = show(df, right="generic", folder=tmp_path)
    v.label("good")
    assert labels(df, tmp_path)["label"][0] == "good"  # the store records that generic was judged
    assert labels(df, tmp_path, column="second")["label_stale"][0]
    later = df.drop(columns=["generic"])  # that column is gone: the last step's output is compared
    assert labels(later, tmp_path)["label_stale"][0]
    other = show(df, right="second", folder=tmp_path)
    assert other.sample["stale"] == "labelled good on generic"


def test_undo_reverts_this_viewers_decisions_only(tmp_path):
    v, other = show(frame(), right="generic", folder=tmp_path), show(frame(), right="generic", folder=tmp_path)
    v.label("good", advance=True)
    v.label("bad", advance=True)
    other.go(3)
    other.label("good")
    send(v, do="undo")  # the z key
    assert v.current == "c1" and v.sample["mark"] == "unreviewed"
    assert v.message == "undid bad for c1: its label is now unreviewed"
    send(v, do="undo")
    assert v.current == "c0" and v.progress == "1 of 4 reviewed"  # other's c3 stays
    send(v, do="undo")
    assert v.message == "nothing to undo"
    assert {k: e["label"] for k, e in Store(tmp_path).labels().items()} == {"c3": "good"}
    s = Store(tmp_path)
    s.pick("x", "h1", "h2", "A", source="judge:gpt")
    assert s.undo() is None  # nothing of "person" made through this store
    assert s.undo(source="judge:gpt")["value"] == "A" and s.picks(source="judge:gpt") == {}


def test_undo_says_the_decision_the_sample_has_now(tmp_path):
    """z in one viewer after another viewer overwrote that sample: the label stays the other's,
    and the message says so instead of implying it was reverted."""
    v, other = show(frame(), right="generic", folder=tmp_path), show(frame(), right="generic", folder=tmp_path)
    v.label("good")
    other.label("bad")
    send(v, do="undo")
    assert v.message == "undid good for c0: its label is now bad" and v.sample["mark"] == "bad"
    a, b = runs()
    c, c2 = compare(a, b, "gen", folder=tmp_path / "c"), compare(a, b, "gen", folder=tmp_path / "c")
    c.pick("A")
    c2.pick("tie")
    send(c, do="undo")
    assert c.message == "undid A for same: its pick is now tie"


def test_bulk_labels_the_filtered_set_and_undoes_as_one(tmp_path):
    v = show(frame(), right="generic", folder=tmp_path)
    v.set_filter(status="ok")
    assert v.view["bulk"] == 2  # what the page's confirm says
    send(v, do="bulk", value="good")
    assert v.progress == "2 of 4 reviewed" and "labelled 2 filtered samples good" in v.message
    assert list(labels(frame(), tmp_path)["label"]) == ["good", "good", "unreviewed", "unreviewed"]
    v.undo()
    assert v.progress == "0 of 4 reviewed" and "undid the bulk label of 2 samples" in v.message
    with pytest.raises(ValueError, match="label must be one of"):
        v.label_all("great")


def test_label_sets_and_their_keys(tmp_path):
    assert show(frame(), right="generic", folder=tmp_path).view["marks"] == [
        ["good", "g"], ["bad", "b"], ["unreviewed", "u"]]
    v = show(frame(), right="generic", folder=tmp_path, labels=["good", "bad", "off-topic"])
    assert v.view["marks"] == [["good", "1"], ["bad", "2"], ["off-topic", "3"], ["unreviewed", "u"]]
    assert "3 off-topic" in v.view["help"]
    send(v, do="mark", value="off-topic", advance=True)
    assert labels(frame(), tmp_path)["label"][0] == "off-topic" and v.current == "c1"
    v.set_filter(label="off-topic")
    assert v.counter == "1 of 1 filtered (4 total)"
    with pytest.raises(ValueError, match="label must be one of"):
        v.label("meh")
    for bad in ([], [str(i) for i in range(10)], ["good", "unreviewed"], ["a", "a"]):
        with pytest.raises(ValueError, match="labels= must be"):
            show(frame(), right="generic", folder=tmp_path, labels=bad)


def walk(v):
    seen = [v.current]
    for _ in range(v.view["n"] - 1):
        v.next()
        seen.append(v.current)
    return seen


def test_review_order_shuffled_with_a_seed_or_by_a_column():
    df = many(20)
    shuffled = walk(show(df, right="gen", order="shuffle", seed=3))
    expected = df["chunk_id"].to_numpy()[np.argsort(np.random.default_rng(3).permutation(20))]
    assert shuffled == list(expected) and sorted(shuffled) == list(df["chunk_id"])
    assert walk(show(df, right="gen", order="shuffle", seed=3)) == shuffled
    assert walk(show(df, right="gen", order="shuffle", seed=4)) != shuffled
    assert walk(show(frame(), right="generic", order="tokens")) == ["c3", "c2", "c1", "c0"]  # 4, 5, 9, 12 tokens
    v = show(frame(), right="generic", order="tokens")
    v.set_filter(status="ok")
    assert walk(v) == ["c1", "c0"]  # filters keep the order
    with pytest.raises(KeyError, match="order="):
        show(frame(), right="generic", order="nope")


def test_reopens_at_the_first_unreviewed_and_n_goes_to_the_next(tmp_path):
    v = show(frame(), right="generic", folder=tmp_path)
    v.label("good")
    v.go(1)
    v.label("bad")
    v.go(3)
    v.label("good")
    again = show(frame(), right="generic", folder=tmp_path)
    assert again.current == "c2"
    send(again, do="unreviewed")  # the n key: c2 is the only one left, from anywhere
    assert again.current == "c2"
    again.label("bad")
    send(again, do="unreviewed")
    assert again.current == "c2" and again.message == "every filtered sample has a decision"
    assert show(frame(), right="generic", folder=tmp_path, order="tokens").current == "c3"


def test_list_entries_carry_a_short_id_and_messages_clear(tmp_path):
    v = show(many(30), right="gen", folder=tmp_path)
    entry = v.view["list"][0]
    assert entry[1] == "corpus/novels/austen-pride-and-prejudice/chunk-00000" and entry[4] == "00000"
    send(v, do="mark", value="good", advance=True)
    assert v.message.startswith("saved good") and v.view["list"][0][3] == "good"
    send(v, do="next")
    assert v.message == ""
    send(v, do="jump", text="nothing-like-this")
    assert "no filtered sample" in v.message
    send(v, do="filter", name="search", value="text")
    assert v.message == ""


def test_an_empty_comparison_says_why(tmp_path):
    a, b = runs()
    other = b.assign(chunk_id=b["chunk_id"] + "-x")
    c = compare(a, other, folder=tmp_path)
    assert "share no sample id (A has 9 rows, B 9)" in c.view["empty"]
    assert "Both frames have no rows" in compare(a.iloc[:0], b.iloc[:0]).view["empty"]
    c = compare(a, b)
    c.set_filter("newly ok", search="broke")
    assert "No row matches the filters" in c.view["empty"]


def test_compare_undo_next_unpicked_and_reopen(tmp_path):
    a, b = runs()
    c = compare(a, b, folder=tmp_path)
    assert c.current == "same"
    c.pick("A", advance=True)
    c.pick("B", advance=True)
    assert c.current == "failed-same"
    send(c, do="undo")
    assert c.current == "edited" and c.sample["mark"] == "unpicked"
    assert compare(a, b, folder=tmp_path).current == "edited"  # reopens where the reviewer stopped
    send(c, do="bulk", value="A")
    assert "only offered in the sample viewer" in c.message


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text()), max_size=30), st.data())
def test_bulk_hashes_of_a_text_column_are_the_stores_hashes(texts, data):
    """output_hashes (from the pyarrow buffer) gives each cell's output_hash, on any rows taken."""
    column = pd.Series(texts, dtype="str")
    rows = data.draw(st.lists(st.integers(0, len(texts) - 1), max_size=10)) if texts else []
    for values in (column, column.iloc[rows], column.iloc[1:], pd.Series(texts, dtype=object)):
        assert output_hashes(values) == [output_hash(v) for v in values.to_numpy(dtype=object)]
