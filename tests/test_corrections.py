"""Corrections: your text for an output, kept as a decision and used in place of the model's.

Stored like a label (an event tied to the output's hash, shared by every store object and process,
undone by undo), never written into the frame or the cache; stale once the output changes; put in
place by the one rule (frame.corrected) that keep, sharegpt, the exports and the card read through;
and turned into DPO pairs. A review.sqlite made before corrections opens unchanged and takes them."""

import json
import multiprocessing
import shutil
import sqlite3
import warnings
from pathlib import Path

import datasets
import pandas as pd
import pytest

import toolkit as tk
from tests.loopback import LoopbackServer
from toolkit.decisions import Store
from toolkit.frame import corrected
from toolkit.outputs import output_hash as h

FIXTURE = Path(__file__).parent / "fixtures" / "review_main"


def frame(folder):
    """A step's output as Step.run leaves it: c2 failed, c3 skipped."""
    df = pd.DataFrame({"chunk_id": ["c0", "c1", "c2", "c3"], "text": ["One.", "Two.", "Three.", "Four."],
                       "gen": ["Uno.", "Dos.", None, None], "gen.raw": ["Uno.", "Dos.", "Tres??", None],
                       "gen.status": ["ok", "ok", "failed", "skipped"],
                       "gen.error": [None, None, "parse: no sentence", "not selected by when="]})
    df.attrs["folder"] = str(folder)
    return df


# -- the decision --------------------------------------------------------------------------------

def test_a_correction_is_tied_to_the_output_it_corrected_and_undone_like_a_label(tmp_path):
    mine, other = Store(tmp_path), Store(tmp_path)
    mine.label("c0", h("Uno."), "bad", column="gen")
    mine.correct("c0", "gen", h("Uno."), "One, in Spanish: uno.")
    assert other.correction_of("c0", "gen") == {"text": "One, in Spanish: uno.", "output": h("Uno.")}
    assert other.refresh() == {"c0"}  # another viewer learns which sample to redraw
    other.correct("c1", "gen", h("Dos."), "Two.")
    assert mine.corrections() == {"gen": {"c0": {"text": "One, in Spanish: uno.", "output": h("Uno.")},
                                          "c1": {"text": "Two.", "output": h("Dos.")}}}
    undone = mine.undo()  # the correction, not the label before it, and not the other store's
    assert (undone["kind"], undone["sample"], undone["value"]) == ("correct", "c0", "One, in Spanish: uno.")
    assert set(other.corrections()["gen"]) == {"c1"} and mine.labels()["c0"]["label"] == "bad"
    other.correct("c1", "gen", h("Dos."), None)  # withdrawn
    other.correct("c1", "gen", h("Dos."), "Dos.")  # the output itself: nothing to correct, nothing written
    assert mine.corrections() == {} and mine.correction_of("c1", "gen") is None
    with pytest.raises(ValueError, match="empty.*withdraw"):
        mine.correct("c0", "gen", h("Uno."), "  \n")
    mine.close()
    other.close()


def _correct_half(folder, part, ready):
    """One of two processes: correct every other sample of 200, after both are ready."""
    store = Store(folder)
    ready.wait()
    for k in range(part, 200, 2):
        store.correct(f"c{k}", "gen", h(f"out {k}"), f"fixed {k}")
    store.close()


def test_two_processes_correcting_one_folder_at_once_keep_every_correction(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Barrier(2)
    procs = [ctx.Process(target=_correct_half, args=(str(tmp_path), part, ready)) for part in (0, 1)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    assert [p.exitcode for p in procs] == [0, 0]
    df = pd.DataFrame({"chunk_id": [f"c{k}" for k in range(200)], "gen": [f"out {k}" for k in range(200)],
                       "gen.status": "ok"})
    assert tk.labels(df, tmp_path)["gen.corrected"].tolist() == [f"fixed {k}" for k in range(200)]


def test_a_store_made_before_corrections_opens_unchanged_and_takes_them_in_place(tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(FIXTURE, folder)
    before = (folder / "review.sqlite").read_bytes()
    expected = json.loads((FIXTURE / "expected.json").read_text())

    def events():
        db = sqlite3.connect(folder / "review.sqlite")
        try:
            return db.execute("SELECT * FROM events ORDER BY id").fetchall()
        finally:
            db.close()

    def schema():
        db = sqlite3.connect(folder / "review.sqlite")
        try:
            return (db.execute("PRAGMA table_info(events)").fetchall(),
                    db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name").fetchall())
        finally:
            db.close()

    old, columns = events(), schema()
    with Store(folder) as s:
        assert s.corrections() == {} and s.examples() == {}  # read on the old table: nothing, no change
    assert (folder / "review.sqlite").read_bytes() == before
    with Store(folder) as s:
        s.correct("c1", "answer", h("answer 1"), "Answer one, as it should read.")
        s.example([("c0", h("answer 0"))], "answer", "generic.yaml")
        found = {"sources": s.sources(),
                 **{src: {"labels": s.labels(src), "picks": s.picks(src)} for src in s.sources()},
                 "label_of": {sid: s.label_of(sid) for sid in ("c0", "c1", "c2", "c3", "c5", "old0")},
                 "pick_of": {"s0": s.pick_of("s0", h("A text 0"), h("B text 0")),
                             "s2": s.pick_of("s2", h("A text 2"), h("B text 2"))}}
        assert s.corrections() == {"answer": {"c1": {"text": "Answer one, as it should read.",
                                                     "output": h("answer 1")}}}
        assert s.examples() == {"answer": {"c0": {"output": h("answer 0"), "draft": "generic.yaml"}}}
    assert found == expected  # every decision made before reads as it did, the bulk undo still holds
    now = events()
    assert schema() == columns  # the columns and indexes a toolkit of before reads are as they were
    assert now[: len(old)] == old and [e[2] for e in now[len(old):]] == ["correct", "example"]  # ids kept
    db = sqlite3.connect(folder / "review.sqlite")
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):  # the kinds are still checked
        db.execute("INSERT INTO events (time, kind, sample, source, session, batch) VALUES (0, 'oops', 'x', 'p', "
                   "'s', 'b')")
    db.close()


def _first_correction(folder, part, ready):
    store = Store(folder)
    ready.wait()
    store.correct(f"c{part}", "answer", h(f"answer {part}"), f"corrected by process {part}")
    store.close()


def test_two_processes_widening_an_old_store_at_once_lose_nothing(tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(FIXTURE, folder)
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Barrier(2)
    procs = [ctx.Process(target=_first_correction, args=(str(folder), part, ready)) for part in (0, 1)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    assert [p.exitcode for p in procs] == [0, 0]
    with Store(folder) as s:
        assert {sid: c["text"] for sid, c in s.corrections()["answer"].items()} == {
            "c0": "corrected by process 0", "c1": "corrected by process 1"}
        assert s.labels()["c0"]["label"] == "good" and s.label_of("c3") is None


# -- on the frame --------------------------------------------------------------------------------

def test_labels_add_the_corrected_text_and_leave_a_stale_correction_unapplied(tmp_path):
    df = frame(tmp_path)
    tk.correct(df, "c0", "One.")
    tk.correct(df, "c1", "Two.")
    rerun = df.copy()
    rerun.loc[1, "gen"] = "Dos, otra vez."  # c1's output changed since it was corrected
    with pytest.warns(UserWarning, match=r"1 correction\(s\) of 'gen' were made on an earlier output .*\(c1\)"):
        out = tk.labels(rerun)
    assert out["gen.corrected"].tolist() == ["One.", None, None, None]
    assert out["gen"].equals(rerun["gen"])  # the model's output is untouched
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tk.labels(df)["gen.corrected"].tolist() == ["One.", "Two.", None, None]
        plain = tk.labels(df.drop(columns="gen").assign(other="x"))
    assert "gen.corrected" not in plain  # a frame without the column gets no correction column


def test_keep_puts_your_text_in_place_counts_it_and_keeps_a_corrected_failed_row(tmp_path):
    df = frame(tmp_path)
    tk.correct(df, "c1", "Two, corrected.")
    tk.correct(df, "c2", "Three.")  # the step failed here: your text is the answer
    labelled = tk.labels(df)
    kept, dropped = tk.keep(labelled, steps=["gen"])
    assert kept["gen"].tolist() == ["Uno.", "Two, corrected.", "Three."]
    assert kept.attrs["corrected"] == {"gen": 2}
    assert dropped["chunk_id"].tolist() == ["c3"] and dropped["gen"].isna().all()
    assert df["gen"].equals(frame(tmp_path)["gen"]) and labelled["gen"].equals(df["gen"])  # the frames untouched
    f = tk.funnel(labelled)
    assert (f.kept, f.corrected) == (3, 2) and repr(f).startswith("4 rows in → 3 kept (2 with your corrected text)")
    again, _ = tk.keep(tk.labels(kept), steps=["gen"])  # a kept frame read again: the text in place is current
    assert again["gen"].tolist() == kept["gen"].tolist() and again.attrs["corrected"] == {"gen": 2}


def test_sharegpt_and_the_exports_use_and_count_the_corrected_text(tmp_path):
    df = frame(tmp_path)
    tk.correct(df, "c1", "Two, corrected.")
    kept, _ = tk.keep(tk.labels(df), steps=["gen"])
    pairs = tk.sharegpt(kept, human="Say it in Spanish: {text}", gpt="{gen}")
    assert [c[1]["value"] for c in pairs["conversations"]] == ["Uno.", "Two, corrected."]
    assert pairs["corrected"].tolist() == [False, True]
    info = tk.export_jsonl(pairs, "sft.jsonl", format="openai")
    assert info["corrected"] == 1 and info["rows"] == 2
    lines = [json.loads(line) for line in (tmp_path / "sft.jsonl").read_text().splitlines()]
    assert lines[1]["messages"][1] == {"role": "assistant", "content": "Two, corrected."}
    tk.export_hf(pairs, "hf")
    assert "- corrected by a person: 1 (their text in place of the model's)" in (tmp_path / "hf/README.md").read_text()
    assert datasets.load_from_disk(str(tmp_path / "hf"))[1]["conversations"][1]["value"] == "Two, corrected."
    # straight from tk.labels (not kept) the rule is the same; a template that does not use `gen` holds none
    assert tk.sharegpt(tk.labels(df).iloc[:2], human="{text}", gpt="{gen}")["corrected"].tolist() == [False, True]
    assert not tk.sharegpt(tk.labels(df).iloc[:2], human="{text}", gpt="{gen.raw}")["corrected"].any()
    assert "corrected" not in tk.sharegpt(df.iloc[:2], human="{text}", gpt="{gen}")  # no corrections: as before


def test_a_parsed_answer_is_corrected_with_json(tmp_path):
    df = pd.DataFrame({"chunk_id": ["c0", "c1"], "qa": [{"q": "Why?", "a": "Because."}, {"q": "How?", "a": "So."}],
                       "qa.status": "ok"})
    df.attrs["folder"] = str(tmp_path)
    with pytest.raises(ValueError, match="parsed answers.*JSON"):
        tk.correct(df, "c1", "So, really.")
    tk.correct(df, "c1", json.dumps({"q": "How?", "a": "Like this."}))
    out, rows = corrected(tk.labels(df))
    assert out["qa"].tolist() == [{"q": "Why?", "a": "Because."}, {"q": "How?", "a": "Like this."}]
    assert rows["qa"].tolist() == [False, True]
    with Store(tmp_path) as s:  # a correction stored by another way, not JSON: named, not applied silently
        s.correct("c0", "qa", h(df["qa"][0]), "not json")
    with pytest.raises(ValueError, match="row 'c0': the correction of 'qa' is not JSON"):
        tk.keep(tk.labels(df), steps=["qa"])


def test_correct_names_what_is_wrong(tmp_path):
    df = frame(tmp_path)
    with pytest.raises(KeyError, match="no sample 'c9'.*id="):
        tk.correct(df, "c9", "text")
    with pytest.raises(KeyError, match="no column 'nope'"):
        tk.correct(df, "c0", "text", column="nope")
    df.attrs.clear()
    with pytest.raises(ValueError, match="folder="):
        tk.correct(df, "c0", "text")
    tk.correct(df, "c0", "One.", folder=tmp_path)
    tk.correct(df, "c0", None, folder=tmp_path)  # withdrawn
    assert Store(tmp_path).corrections() == {}


# -- DPO pairs -------------------------------------------------------------------------------------

def test_corrections_become_dpo_pairs_in_trls_layout(tmp_path, prompt_file):
    df = frame(tmp_path)
    tk.correct(df, "c1", "Two.")
    tk.correct(df, "c2", "Three.")  # failed: the raw answer is the rejected one
    tk.correct(df, "c0", "One.")
    rerun = df.copy()
    rerun.loc[0, "gen"] = "Uno otra vez."  # c0 changed since: its correction is stale
    with pytest.warns(UserWarning, match="2 pairs; left out 1 decisions.*1 corrections made on an earlier output"):
        pairs = tk.preference_pairs(rerun, path="dpo.jsonl")
    assert pairs[["id", "chosen", "rejected"]].to_dict("records") == [
        {"id": "c1", "chosen": "Two.", "rejected": "Dos."}, {"id": "c2", "chosen": "Three.", "rejected": "Tres??"}]
    assert pairs.attrs["pairs"] == {"picks": 0, "corrections": 2}
    dpo = datasets.load_dataset("json", data_files=str(tmp_path / "dpo.jsonl"), split="train")
    assert sorted(dpo.column_names) == ["chosen", "prompt", "rejected"] and dpo[0]["prompt"] == "Two."
    prompt = tk.load_prompt(prompt_file("messages:\n  - system: Translate.\n  - user: 'Into Spanish: {text}'\n"))
    first = tk.preference_pairs(df, prompt=prompt).iloc[0]
    assert first["prompt"] == [{"role": "system", "content": "Translate."},
                               {"role": "user", "content": "Into Spanish: One."}]
    assert (first["chosen"], first["rejected"]) == ([{"role": "assistant", "content": "One."}],
                                                    [{"role": "assistant", "content": "Uno."}])
    kept, _ = tk.keep(tk.labels(df), steps=["gen"])
    with pytest.raises(ValueError, match="row id='c0'.*your text already.*tk.labels or Step.run"):
        tk.preference_pairs(kept)
    with pytest.raises(ValueError, match="corrections only"):
        tk.preference_pairs(df, corrections=False)


def test_picks_and_corrections_together(tmp_path):
    a, b = frame(tmp_path), frame(tmp_path)
    b.loc[0, "gen"] = "Una."
    c = tk.compare(a, b)
    c.jump("c0")
    c.pick("A")
    tk.correct(b, "c1", "Two.")  # on B's output
    tk.correct(a, "c0", "One.")  # on A's output, which B changed
    pairs = tk.preference_pairs(a, b, corrections=True)
    assert pairs[["id", "chosen", "rejected"]].to_dict("records") == [
        {"id": "c0", "chosen": "Uno.", "rejected": "Una."}, {"id": "c1", "chosen": "Two.", "rejected": "Dos."},
        {"id": "c0", "chosen": "One.", "rejected": "Uno."}]
    assert pairs.attrs["pairs"] == {"picks": 1, "corrections": 2}
    assert tk.preference_pairs(a, b)["id"].tolist() == ["c0"]  # picks alone, as before


# -- end to end: a real step, the cache, the card -----------------------------------------------------

def test_a_correction_leaves_the_step_and_its_cache_alone_and_the_card_counts_it(loopback_llm, prompt, rows, folder):
    with LoopbackServer(latency=0) as srv:
        step = tk.Step("echo", prompt, loopback_llm(srv))
        out = step.run(rows(3))
        tk.correct(out, "c1", "A better answer.")
        again = step.run(rows(3))
        assert srv.count == 3  # the rerun is all cache hits: nothing about the model or cache changed
    assert again["echo"].tolist() == out["echo"].tolist() == [f"echo: row {i}" for i in range(3)]
    kept, _ = tk.keep(tk.labels(again), steps=["echo"])
    card = tk.card(kept, pipeline="echo")
    assert card["corrected by a person"] == {"echo": "1 of 3 rows (their text in place of the model's)"}
    assert card["steps"]["echo"]["rows"] == "3 ok, 0 failed, 0 skipped"
    assert "corrected by a person" not in tk.card(again)  # no `.corrected` column, no line
