"""The sample viewers without a browser: build on a DataFrame, click, filter, label, read panes."""

import json
import time

import ipywidgets as W
import pandas as pd
import pytest

import toolkit.review.viewer as viewer
from toolkit.review.diff import MAX_TOKENS, diff
from toolkit.review.viewer import compare, labels, show

XSS = '<img src=x onerror="window.__xss=1">'


def frame():
    """A step output in the conventions other modules produce: `generic` plus its `generic.*`."""
    return pd.DataFrame({
        "chunk_id": ["c0", "c1", "c2", "c3"],
        "source": ["a.txt", "a.txt", "b.txt", XSS],
        "position": [0, 1, 0, 0],
        "tokens": [12, 9, 5, 4],
        "text": ["The cat sat on the mat.\n\n  Indented line.", XSS, "Plain words here.", "gone"],
        "generic": ["The dog sat on the mat.\n\n  Indented line.", f"quoted {XSS}", None, "x"],
        "generic.status": ["ok", "ok", "failed", "skipped"],
        "generic.error": [None, None, f"parse error {XSS}", None],
        "generic.attempts": [1, 2, 3, 0],
        "generic.raw": ["r0", "r1", f"raw {XSS}", None],
        "generic.reasoning": [None] * 4,
        "generic.prompt_version": ["v1", "v1", "v2", "v2"],
    })


def html_values(widget):
    """Every value an HTML widget inside `widget` would set as innerHTML."""
    if isinstance(widget, W.HTML):
        return [widget.value]
    return [v for child in getattr(widget, "children", ()) for v in html_values(child)]


def test_next_prev_go_move_and_clamp():
    v = show(frame(), left="text", right="generic")
    assert v.counter == "1 of 4 filtered (4 total)"
    first = v.right_html
    v.next()
    assert v.counter == "2 of 4 filtered (4 total)" and v.right_html != first
    v.prev()
    v.prev()
    assert v.counter == "1 of 4 filtered (4 total)" and v.right_html == first
    v.go(99)
    assert v.counter == "4 of 4 filtered (4 total)" and v._next_b.disabled


def test_buttons_slider_and_jump_work_without_keyboard():
    v = show(frame(), right="generic")
    v._next_b.click()
    assert v.counter.startswith("2 of")
    v._slider.value = 4
    assert v.counter.startswith("4 of") and "gone" in v.left_html
    v._jump.value = "c1"
    assert v.counter.startswith("2 of")
    v._jump.value = "nope"
    assert v.counter.startswith("2 of") and "nope" in v._msg.value


def test_header_shows_id_source_tokens_and_step_fields():
    v = show(frame(), right="generic")
    v.go(2)
    head = v._header.value
    for part in ("c2", "b.txt", "5", "failed", "3", "v2", "parse error"):
        assert part in head


def test_word_diff_marks_changes_and_keeps_whitespace():
    v = show(frame(), right="generic")
    assert "<del" in v.left_html and ">cat</del>" in v.left_html
    assert "<ins" in v.right_html and ">dog</ins>" in v.right_html
    assert "\n\n  Indented line." in v.right_html and "white-space:pre-wrap" in v.right_html
    v._diff_w.value = False
    assert "<ins" not in v.right_html and "The dog sat" in v.right_html


def test_missing_output_shows_raw_response_and_parsed_output_as_json():
    df = frame()
    df["generic"] = [*df["generic"][:3], {"question": "why?"}]
    v = show(df, right="generic")
    v.go(2)
    assert "raw model response" in v.right_html and "raw &lt;img" in v.right_html
    v.go(3)
    assert "&quot;question&quot;: &quot;why?&quot;" in v.right_html


def test_huge_text_falls_back_to_plain_with_a_note():
    df = pd.DataFrame({"text": ["word " * MAX_TOKENS], "out": ["other " * 10]})
    v = show(df, right="out")
    assert "diff skipped" in v.left_html and "<del" not in v.left_html


def test_repetitive_text_is_marked_changed_whole_instead_of_stalling():
    lines = "- item\n" * 2400  # matching 2,400 equal lines costs ~0.7 s; the budget stops it
    start = time.perf_counter()
    left, right = diff(lines + "x", lines + "y")
    assert time.perf_counter() - start < 0.5
    assert left.count("<del") == 1 and right.count("<ins") == 1


def test_every_html_value_is_escaped():
    df = frame()
    df = df.rename(columns={"generic": XSS, "generic.status": f"{XSS}.status"})
    v = show(df, right=XSS)
    for i in range(len(df)):
        v.go(i)
        values = html_values(v)
        assert not any("<img" in value for value in values)
        assert any("&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;" in value for value in values)


def test_filters_by_status_label_and_search(tmp_path):
    v = show(frame(), right="generic", folder=tmp_path)
    v.set_filter(status="ok")
    assert v.counter == "1 of 2 filtered (4 total)"
    v.set_filter(search="PLAIN WORDS")
    assert v.counter == "1 of 1 filtered (4 total)" and "Plain words" in v.left_html
    v.set_filter(search="dog", search_in="left")
    assert v.counter == "0 of 0 filtered (4 total)" and "No sample matches" in v._header.value
    v.set_filter(search="dog", search_in="right")
    assert v.counter == "1 of 1 filtered (4 total)"
    v.set_filter()
    v.go(1)
    v.label("bad")
    v.set_filter(label="bad")
    assert v.counter == "1 of 1 filtered (4 total)" and "c1" in v._header.value
    v.set_filter(label="unreviewed", status="ok")
    assert v.counter == "1 of 1 filtered (4 total)" and "c0" in v._header.value
    v._status_f.value = "all"  # the dropdowns refilter on their own
    assert v.counter == "1 of 3 filtered (4 total)"


def test_label_clicks_save_atomically_and_reload(tmp_path):
    v = show(frame(), right="generic", folder=tmp_path)
    v._label_b["good"].click()
    v.next()
    v._label_b["bad"].click()
    v._note.value = "hallucinated a name"
    saved = json.loads((tmp_path / "labels.json").read_text())
    assert saved == {"c0": {"label": "good", "note": ""},
                     "c1": {"label": "bad", "note": "hallucinated a name"}}
    assert [p.name for p in tmp_path.iterdir()] == ["labels.json"]  # no temp file left behind
    v.prev()
    v.label("unreviewed")  # no note left: the entry goes
    assert "c0" not in json.loads((tmp_path / "labels.json").read_text())

    again = show(frame(), right="generic", folder=str(tmp_path))
    again.next()
    assert again._note.value == "hallucinated a name"
    assert again._label_b["bad"].button_style == "danger"


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
    assert list(out[out["label"] != "bad"]["chunk_id"]) == ["c0", "c2", "c3"]


def test_without_run_labels_are_off(tmp_path):
    v = show(frame(), right="generic")
    assert any("pass folder=" in value for value in html_values(v))
    with pytest.raises(ValueError, match="folder="):
        v.label("good")
    with pytest.raises(ValueError, match="folder="):
        v.set_filter(label="bad")
    assert labels(frame(), tmp_path)["label"].eq("unreviewed").all()


def test_corrupt_label_file_is_not_overwritten(tmp_path):
    (tmp_path / "labels.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        show(frame(), right="generic", folder=tmp_path)


def test_ids_default_to_index_and_right_to_last_step(tmp_path):
    df = frame().drop(columns="chunk_id").set_index(pd.Index([10, 11, 12, 13]))
    df["second"], df["second.status"] = df["text"].str.upper(), "ok"
    v = show(df, folder=tmp_path)
    assert "<b>second</b>" in v.right_html
    v.next()
    v.label("good")
    assert json.loads((tmp_path / "labels.json").read_text()) == {"11": {"label": "good", "note": ""}}
    assert "source" in show(df, right="generic", id="source")._header.value


def test_only_the_shown_sample_is_rendered(monkeypatch):
    calls = []
    real = viewer.diff
    monkeypatch.setattr(viewer, "diff", lambda a, b: calls.append(a) or real(a, b))
    df = pd.concat([frame()] * 250, ignore_index=True).drop(columns="chunk_id")
    v = show(df, right="generic")
    v.next()
    v.set_filter(status="ok")
    assert len(calls) == 3


def test_compare_counts_and_walks_changed_rows():
    a = frame()
    b = frame().drop(index=3)
    b.loc[0, "generic"] = "The dog sat on a mat.\n\n  Indented line."
    b.loc[1, ["generic", "generic.status"]] = [None, "failed"]
    c = compare(a, b, "generic")
    assert c.counts == {"changed": 2, "unchanged": 1, "newly_failed": 1}
    assert c.counter == "1 of 3 filtered (3 total)"
    assert ">the</del>" in c.a_html and ">a</ins>" in c.b_html and "Indented" in c._raw_w.value
    assert any("1 rows only in A" in value for value in html_values(c))
    c.set_filter("newly failed")
    assert c.counter == "1 of 1 filtered (3 total)" and "c1" in c._header.value
    assert not any("<img" in value for value in html_values(c))
    c.set_filter("changed")
    c.next()
    assert c.counter == "2 of 2 filtered (3 total)"


def test_rows_of_a_one_to_many_step_get_their_own_labels(tmp_path):
    df = pd.DataFrame({"chunk_id": ["c0", "c0", "c1"], "text": ["t", "t", "u"],
                       "answer": ["a1", "a2", "b1"], "qa.status": ["ok"] * 3})
    v = show(df, left="text", right="answer", folder=tmp_path)
    v.next()
    v.label("bad", note="second pair of c0")
    saved = json.loads((tmp_path / "labels.json").read_text())
    assert saved == {"c0/1": {"label": "bad", "note": "second pair of c0"}}
    assert labels(df, tmp_path)["label"].tolist() == ["unreviewed", "bad", "unreviewed"]
