"""The review widgets without a browser: build on a frame, drive them through their Python API and
the same messages the front-end sends, read what they would put on the page."""

import json

import numpy as np
import pandas as pd
import pytest

from toolkit.decisions import Store, labels, picks
from toolkit.outputs import output_hash
from toolkit.review import compare, viewer
from toolkit.review.diff import MAX_TOKENS, segments
from toolkit.review.front import ESM
from toolkit.review.viewer import show
from toolkit.review.widget import WINDOW

XSS = '<img src=x onerror="window.__xss=1">'
STORE_FILES = {"review.sqlite", "review.sqlite-wal", "review.sqlite-shm"}


def frame():
    """A step output in the conventions other modules produce: `generic` plus its `generic.*`."""
    return pd.DataFrame({
        "chunk_id": ["c0", "c1", "c2", "c3"],
        "source": ["a.txt", "a.txt", "b.txt", XSS],
        "position": [0, 1, 0, 0],
        "tokens": [12, 9, 5, 4],
        "text": ["The cat sat on the mat.\n\n  Indented line.", XSS, "Plain words here.", "gone"],
        "generic": ["The dog sat on the mat.\n\n  Indented line.", f"quoted {XSS}", None, None],
        "generic.status": ["ok", "ok", "failed", "skipped"],
        "generic.error": [None, None, f"parse error {XSS}", "no value for {text}"],
        "generic.attempts": [1, 2, 3, 0],
        "generic.raw": ["r0", "r1", "Plain words there.", None],
        "generic.reasoning": [None, "I thought about cats.", None, None],
        "generic.prompt_version": ["v1", "v1", "v2", "v2"],
    })


def pane_text(pane):
    return "".join(text for _, text in pane["segments"])


def send(widget, **content):
    """What the front-end does: a custom message to the kernel."""
    widget._on_msg(widget, content, [])


def test_next_prev_go_move_and_clamp():
    v = show(frame(), left="text", right="generic")
    assert v.counter == "1 of 4 filtered (4 total)" and v.current == "c0"
    v.next()
    assert v.counter == "2 of 4 filtered (4 total)" and v.current == "c1"
    v.prev()
    v.prev()
    assert v.counter == "1 of 4 filtered (4 total)"
    v.go(99)
    assert v.counter == "4 of 4 filtered (4 total)" and v.current == "c3"


def test_front_end_messages_drive_the_widget(tmp_path):
    v = show(frame(), right="generic", folder=tmp_path)
    send(v, do="next")
    send(v, do="go", pos=3)
    assert v.current == "c3"
    send(v, do="prev")
    send(v, do="mark", value="bad", advance=True)  # the b key: label and go on
    assert v.current == "c3" and v.progress == "1 of 4 reviewed"
    assert Store(tmp_path).labels() == {
        "c2": {"label": "bad", "note": "", "output": output_hash(None), "column": "generic"}}
    send(v, do="filter", name="status", value="skipped")
    assert v.counter == "1 of 1 filtered (4 total)"
    send(v, do="jump", text="c")
    assert v.current == "c3"  # the only filtered sample


def test_a_refused_action_from_the_page_shows_on_the_message_line():
    v = show(frame(), right="generic")  # no run folder: labels are off
    send(v, do="mark", value="good", advance=True)
    assert "pass folder=" in v.view["message"] and v.current == "c0"
    send(v, do="filter", name="view", value="sideways")
    assert "view must be" in v.view["message"]


def test_jump_by_id_position_and_prefix():
    df = frame()
    df["chunk_id"] = ["doc-a/0", "doc-b/0", "doc-b/1", "12"]
    v = show(df, right="generic")
    v.jump("doc-b")
    assert v.current == "doc-b/0"
    v.jump("3")
    assert v.counter.startswith("3 of") and v.current == "doc-b/1"
    v.jump("12")  # an exact id wins over a position number
    assert v.current == "12"
    v.jump("#1")  # "#" always means a position
    assert v.current == "doc-a/0"
    v.jump("nope")
    assert v.current == "doc-a/0" and "nope" in v.view["message"]
    v.jump("#9")
    assert v.current == "doc-a/0" and "out of range" in v.view["message"]


def test_header_and_notices_for_failed_and_skipped_rows():
    v = show(frame(), right="generic")
    v.go(2)
    head = dict(v.sample["head"])
    assert head == {"id": "c2", "source": "b.txt", "tokens": "5", "status": "failed", "attempts": "3",
                    "prompt": "v2"}
    assert v.sample["notice"] == ["failed", f"error: parse error {XSS}"]
    # a failed row is diffed too: its raw answer against the text
    left, right = v.sample["panes"]
    assert ["-", "here"] in left["segments"] and ["+", "there"] in right["segments"]
    assert right["title"] == "generic.raw" and "raw model response" in right["note"]
    v.go(3)
    assert v.sample["notice"] == ["skipped", "skipped: no value for {text}"]
    assert v.view["list"][3][2] == "skipped"  # the list marks it grey, not as an error


def test_word_diff_marks_changes_keeps_whitespace_and_plain_view():
    v = show(frame(), right="generic")
    left, right = v.sample["panes"]
    assert ["-", "cat"] in left["segments"] and ["+", "dog"] in right["segments"]
    assert pane_text(right) == "The dog sat on the mat.\n\n  Indented line."
    v.set_filter(view="plain")
    assert v.sample["panes"][1]["segments"] == [["=", "The dog sat on the mat.\n\n  Indented line."]]


def test_parsed_output_shows_as_json():
    df = frame()
    df["generic"] = [*df["generic"][:3], {"question": "why?"}]
    v = show(df, right="generic")
    v.go(3)
    assert '"question": "why?"' in pane_text(v.sample["panes"][1])


def test_huge_text_falls_back_to_plain_with_a_note():
    left, _, note = segments("word " * MAX_TOKENS, "other " * 10)
    assert "diff skipped" in note and left == [["=", "word " * MAX_TOKENS]]


def test_repetitive_text_is_marked_changed_whole_instead_of_stalling():
    lines = "- item\n" * 2400  # matching 2,400 equal lines costs ~0.7 s; the budget stops it (bench_diff.py times it)
    left, right, _ = segments(lines + "x", lines + "y")
    assert sum(k == "-" for k, _ in left) == 1 and sum(k == "+" for k, _ in right) == 1


def test_text_reaches_the_page_only_as_text():
    """Python sends plain strings; the front-end sets them with textContent, never as HTML."""
    v = show(frame(), right="generic")
    v.go(1)
    assert XSS in pane_text(v.sample["panes"][0])  # unescaped: textContent makes it inert
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "DOMParser"):
        assert sink not in ESM
    assert "textContent" in ESM


def test_reasoning_is_collapsed_until_opened():
    v = show(frame(), right="generic")
    v.go(1)
    (section,) = v.sample["sections"]
    assert section["name"] == "reasoning" and not section["open"] and section["text"] == ""
    send(v, do="open", what="reasoning", open=True)
    assert v.sample["sections"][0]["text"] == "I thought about cats."
    v.go(0)
    assert v.sample["sections"] == []  # no reasoning on this row


def test_filters_by_status_label_and_search(tmp_path):
    v = show(frame(), right="generic", folder=tmp_path)
    v.set_filter(status="ok")
    assert v.counter == "1 of 2 filtered (4 total)"
    v.set_filter(search="PLAIN WORDS")
    assert v.counter == "1 of 1 filtered (4 total)" and v.current == "c2"
    v.set_filter(search="dog", search_in="left")
    assert v.counter == "0 of 0 filtered (4 total)" and v.sample is None
    assert "No sample matches" in v.view["empty"] and v.view["list"] == []
    v.set_filter(search="dog", search_in="right")
    assert v.counter == "1 of 1 filtered (4 total)"
    v.set_filter()
    v.go(1)
    v.label("bad")
    v.set_filter(label="bad")
    assert v.counter == "1 of 1 filtered (4 total)" and v.current == "c1"
    v.set_filter(label="unreviewed", status="ok")
    assert v.counter == "1 of 1 filtered (4 total)" and v.current == "c0"


def test_filter_change_keeps_the_shown_sample_when_it_stays():
    v = show(frame(), right="generic")
    v.go(1)
    v.set_filter(status="ok")
    assert v.current == "c1" and v.counter == "2 of 2 filtered (4 total)"
    v.set_filter(status="failed")  # c1 is gone: the first filtered sample
    assert v.current == "c2"
    v.set_filter()
    assert v.current == "c2" and v.counter == "3 of 4 filtered (4 total)"


def test_labels_save_atomically_advance_and_reload(tmp_path):
    v = show(frame(), right="generic", folder=tmp_path)
    assert v.progress == "0 of 4 reviewed"
    v.label("good", advance=True)
    assert v.current == "c1"
    v.label("bad", note="hallucinated a name")
    assert v.progress == "2 of 4 reviewed" and v.sample["mark"] == "bad"
    send(v, do="note", text="made up a name")
    saved = {k: (e["label"], e["note"]) for k, e in Store(tmp_path).labels().items()}
    assert saved == {"c0": ("good", ""), "c1": ("bad", "made up a name")}
    assert {p.name for p in tmp_path.iterdir()} <= STORE_FILES  # the store, nothing else
    v.prev()
    v.label("unreviewed")  # no note left: the entry goes
    assert "c0" not in Store(tmp_path).labels()
    assert v.progress == "1 of 4 reviewed"

    again = show(frame(), right="generic", folder=str(tmp_path))
    again.next()
    assert again.sample["mark"] == "bad" and again.sample["note"] == "made up a name"
    assert again.progress == "1 of 4 reviewed" and again.view["list"][1][3] == "bad"


def test_label_on_the_last_sample_stays_there(tmp_path):
    v = show(frame(), right="generic", folder=tmp_path)
    v.go(3)
    v.label("good", advance=True)
    assert v.current == "c3" and "saved good for c3" in v.view["message"]


def test_labels_column_lets_export_drop_bad_rows(tmp_path):
    v = show(frame(), right="generic", folder=tmp_path)
    v.go(1)
    v.label("bad", note="wrong")
    v.go(2)
    v.label("good")
    out = labels(frame(), tmp_path)
    assert list(out["label"]) == ["unreviewed", "bad", "good", "unreviewed"]
    assert list(out["note"]) == ["", "wrong", "", ""]
    assert "label" not in frame()  # a new frame, the input is untouched


def test_without_run_labels_are_off(tmp_path):
    v = show(frame(), right="generic")
    assert v.view["marks"] == [] and "folder=" in v.progress
    with pytest.raises(ValueError, match="folder="):
        v.label("good")
    with pytest.raises(ValueError, match="folder="):
        v.set_filter(label="bad")
    with pytest.raises(ValueError, match="folder="):
        labels(frame())
    assert labels(frame(), tmp_path)["label"].eq("unreviewed").all()


def test_corrupt_label_file_is_not_overwritten(tmp_path):
    (tmp_path / "labels.json").write_text("{not json")
    with pytest.raises(ValueError, match="labels.json is not valid JSON"):
        show(frame(), right="generic", folder=tmp_path)
    assert (tmp_path / "labels.json").read_text() == "{not json"


def test_ids_default_to_index_and_right_to_last_step(tmp_path):
    df = frame().drop(columns="chunk_id").set_index(pd.Index([10, 11, 12, 13]))
    df["second"], df["second.status"] = df["text"].str.upper(), "ok"
    v = show(df, folder=tmp_path)
    assert v.sample["panes"][1]["title"] == "second"
    v.next()
    v.label("good")
    assert {k: e["label"] for k, e in Store(tmp_path).labels().items()} == {"11": "good"}
    assert show(df, right="generic", id="source").current == "a.txt"


def test_zero_and_one_row_frames(tmp_path):
    for n in (0, 1):
        df = frame().iloc[:n]
        v = show(df, right="generic", folder=tmp_path)
        assert v.counter == f"{n} of {n} filtered ({n} total)"
        v.next()
        v.prev()
        v.jump("#1")
        v.set_filter(status="ok")
        assert len(labels(df, tmp_path)) == n
        c = compare(df, df, "generic", folder=tmp_path)
        c.next()
        assert c.counts["changed"] == 0 and c.counts["unchanged"] == n
    empty = show(frame().iloc[:0], right="generic")
    assert empty.sample is None and empty.view["empty"] == "This frame has no rows to show."
    with pytest.raises(IndexError):
        show(frame().iloc[:0], right="generic", folder=tmp_path).label("good")


def test_only_the_shown_sample_is_sent(monkeypatch):
    calls = []
    real = viewer.segments
    monkeypatch.setattr(viewer, "segments", lambda a, b: calls.append(a) or real(a, b))
    df = pd.concat([frame()] * 2500, ignore_index=True).drop(columns="chunk_id")
    v = show(df, right="generic")
    v.go(5000)
    v.next()
    v.set_filter(status="ok")
    assert len(calls) == 8  # per update: the shown sample and the prefetched next one
    assert len(v.view["list"]) == 2 * WINDOW + 1 and len(json.dumps(v.view)) < 10_000


def test_ahead_is_what_next_and_label_advance_then_show(tmp_path):
    v = show(frame(), right="generic", folder=tmp_path)
    for move in (v.next, lambda: send(v, do="mark", value="good", advance=True), v.next):
        ahead = v.view["ahead"]
        assert ahead["pos"] == v.view["pos"] + 1
        move()
        assert ahead["sample"] == v.view["sample"] and ahead["counter"] == v.view["counter"]
        assert ahead["pos"] == v.view["pos"]
    assert v.current == "c3" and v.view["ahead"] is None  # the last sample: nothing to prefetch
    assert {k: e["label"] for k, e in Store(tmp_path).labels().items()} == {"c1": "good"}  # the message's label
    v.set_filter(status="ok")
    v.go(0)
    assert v.view["ahead"]["sample"]["id"] == "c1" and v.view["ahead"]["counter"] == "2 of 2 filtered (4 total)"
    assert show(frame().iloc[:0], right="generic", folder=tmp_path / "empty").view["ahead"] is None


def test_rows_of_a_one_to_many_step_get_their_own_labels(tmp_path):
    df = pd.DataFrame({"chunk_id": ["c0", "c0", "c1"], "text": ["t", "t", "u"],
                       "answer": ["a1", "a2", "b1"], "qa.status": ["ok"] * 3})
    v = show(df, left="text", right="answer", folder=tmp_path)
    v.next()
    v.label("bad", note="second pair of c0")
    saved = {k: (e["label"], e["note"]) for k, e in Store(tmp_path).labels().items()}
    assert saved == {"c0/1": ("bad", "second pair of c0")}
    assert labels(df, tmp_path)["label"].tolist() == ["unreviewed", "bad", "unreviewed"]


# -- compare ---------------------------------------------------------------------------------

def runs():
    """Two runs covering every case a comparison counts (see the comment per row)."""
    cases = [  # id, (A output, raw, status), (B output, raw, status)
        ("same", ("x", "x", "ok"), ("x", "x", "ok")),                     # unchanged
        ("edited", ("x", "x", "ok"), ("y", "y", "ok")),                   # changed
        ("failed-same", (None, "bad", "failed"), (None, "bad", "failed")),  # unchanged, failed in both
        ("failed-diff", (None, "bad", "failed"), (None, "worse", "failed")),  # changed, failed in both
        ("fixed", (None, "bad", "failed"), ("z", "z", "ok")),              # changed, newly ok
        ("broke", ("z", "z", "ok"), (None, "oops", "failed")),            # changed, newly failed
        ("skipped", (None, None, "skipped"), (None, None, "skipped")),    # unchanged
        ("raw-only", ("x", "x <think>a</think>", "ok"), ("x", "x <think>b</think>", "ok")),  # changed
    ]
    def run(side, extra):
        rows = [(cid, *case[side]) for cid, *case in cases] + [extra]
        return pd.DataFrame({"chunk_id": [r[0] for r in rows], "text": [f"text of {r[0]}" for r in rows],
                             "gen": [r[1] for r in rows], "gen.raw": [r[2] for r in rows],
                             "gen.status": [r[3] for r in rows],
                             "gen.prompt_version": "v1" if side == 0 else "v2"})
    return run(0, ("only-a", "a", "a", "ok")), run(1, ("only-b", "b", "b", "ok"))


def test_compare_counts_every_case():
    a, b = runs()
    c = compare(a, b)
    assert c.counts == {"changed": 5, "unchanged": 3, "newly_ok": 1, "newly_failed": 1, "failed_both": 2}
    assert "8 shared rows: 5 changed, 3 unchanged, 1 newly ok, 1 newly failed, 2 failed in both" in c.view["summary"]
    assert "1 rows only in A, 1 only in B" in c.view["summary"]
    walked = {}
    for show_ in ("changed", "unchanged", "newly ok", "newly failed", "failed in both"):
        c.set_filter(show_)
        walked[show_] = [c.view["list"][i][1] for i in range(len(c.view["list"]))]
    assert walked == {"changed": ["edited", "failed-diff", "fixed", "broke", "raw-only"],
                      "unchanged": ["same", "failed-same", "skipped"], "newly ok": ["fixed"],
                      "newly failed": ["broke"], "failed in both": ["failed-same", "failed-diff"]}


def test_compare_diffs_failed_rows_by_raw_answer_and_shows_prompt_versions(tmp_path, prompt_file):
    a, b = runs()
    c = compare(a, b)
    c.jump("failed-d")
    left, right = c.sample["panes"]
    assert left["title"] == "A: gen.raw" and ["-", "bad"] in left["segments"] and ["+", "worse"] in right["segments"]
    assert dict(c.sample["head"])["changed"] == "raw answer"
    (section,) = c.sample["sections"]
    assert section["title"] == "prompt: A v1 \u00B7 B v2" and not section["open"]
    send(c, do="open", what="prompt", open=True)
    assert "set_prompts" in c.sample["sections"][0]["text"]
    c.set_prompts(prompt_file("messages:\n  - user: 'Rewrite: {text}'\n", "v1.yaml"),
                  prompt_file("messages:\n  - user: 'Rewrite briefly: {text}'\n", "v2.yaml"))
    pa, pb = c.sample["sections"][0]["panes"]
    assert ["+", "briefly"] in [[k, t.strip()] for k, t in pb["segments"]]
    assert "text of failed-diff" in pane_text(pa)


def test_compare_filter_keeps_position_search_and_empty(tmp_path):
    a, b = runs()
    c = compare(a, b)
    c.jump("fixed")
    c.set_filter("changed")
    assert c.current == "fixed" and c.counter == "3 of 5 filtered (8 total)"
    c.set_filter("changed", search="TEXT OF BROKE")
    assert c.current == "broke" and c.counter == "1 of 1 filtered (8 total)"
    c.set_filter("newly ok", search="broke")
    assert c.sample is None and c.view["list"] == [] and "No row matches" in c.view["empty"]
    send(c, do="filter", name="show", value="all")  # the search stays
    assert c.counter == "1 of 1 filtered (8 total)" and c.current == "broke"
    send(c, do="filter", name="search", value="")
    assert c.counter == "6 of 8 filtered (8 total)" and c.current == "broke"


def test_picks_saved_atomically_reloaded_and_readable_as_a_column(tmp_path):
    a, b = runs()
    c = compare(a, b, folder=tmp_path)
    assert c.view["marks"] == [["A", "a"], ["B", "b"], ["tie", "t"], ["unpicked", "u"]]
    c.jump("edited")
    send(c, do="mark", value="B", advance=True)  # the b key
    assert c.current == "failed-same" and c.progress == "1 of 8 picked"
    c.jump("broke")
    c.pick("A")
    c.jump("fixed")
    c.pick("tie")
    assert {p.name for p in tmp_path.iterdir()} <= STORE_FILES
    saved = Store(tmp_path).picks()
    assert {k: [e["pick"] for e in v] for k, v in saved.items()} == {"edited": ["B"], "broke": ["A"], "fixed": ["tie"]}

    again = compare(a, b, folder=tmp_path)
    assert again.progress == "3 of 8 picked"
    again.jump("edited")
    assert again.sample["mark"] == "B"
    again.set_filter("picked")
    assert again.counter == "1 of 3 filtered (8 total)" and again.current == "edited"
    col = picks(a, b, folder=tmp_path)
    assert dict(zip(col["chunk_id"], col["pick"])) == {
        "same": "", "edited": "B", "failed-same": "", "failed-diff": "", "fixed": "tie", "broke": "A",
        "skipped": "", "raw-only": "", "only-b": ""}

    b2 = b.copy()
    b2.loc[b2["chunk_id"] == "edited", "gen"] = "y, rerun"  # a new output: the old pick does not apply
    assert picks(a, b2, folder=tmp_path).set_index("chunk_id").loc["edited", "pick"] == ""
    third = compare(a, b2, folder=tmp_path)
    assert third.progress == "2 of 8 picked"
    third.jump("edited")
    third.pick("A")
    assert [e["pick"] for e in Store(tmp_path).picks()["edited"]] == ["B", "A"]  # both pairs keep their pick
    third.pick("unpicked")
    assert [e["pick"] for e in Store(tmp_path).picks()["edited"]] == ["B"]


def test_compare_without_folder_has_picks_off():
    a, b = runs()
    c = compare(a, b)
    assert c.view["marks"] == [] and "folder=" in c.progress
    with pytest.raises(ValueError, match="folder="):
        c.pick("A")
    assert np.array_equal(c._masks["changed"], ~c._masks["unchanged"])
