"""The review widgets' state without a browser: decisions from elsewhere (the page's sync), filters
that follow decisions with the shown sample kept, the bulk confirm, and a comparison that reads
texts per shown row."""

import importlib

import numpy as np
import pandas as pd
import pytest

from tests.test_viewer import send
from toolkit.decisions.store import Store
from toolkit.outputs import output_hash
from toolkit.review import compare, show
from toolkit.review.columns import same_texts


def rows(n=12):
    return pd.DataFrame({"chunk_id": [f"s{i:02d}" for i in range(n)], "text": [f"text {i}" for i in range(n)],
                         "generic": [f"output {i}" for i in range(n)], "generic.status": "ok"})


class Sent(list):
    """What a widget sends the page besides its view (custom messages)."""


def listen(widget):
    sent = Sent()
    widget.send = sent.append
    return sent


def test_sync_redraws_only_when_decisions_landed(tmp_path):
    a, b = show(rows(), right="generic", folder=tmp_path), show(rows(), right="generic", folder=tmp_path)
    sent, before = listen(b), b.view
    send(b, do="sync", n=7)
    assert b.view is before and sent == [{"synced": 7}]  # nothing new: no redraw, only the answer
    a.label("good", advance=True)
    other = Store(tmp_path)  # another process's reviewer
    other.label("s05", output_hash("output 5"), "bad", column="generic")
    other.close()
    send(b, do="sync", n=8)
    assert b.progress == "2 of 12 reviewed" and b.view["seq"] == 8 and sent[-1] == {"synced": 8}
    badges = {entry[1]: entry[3] for entry in b.view["list"]}
    assert badges["s00"] == "good" and badges["s05"] == "bad"


def test_a_decision_filter_follows_decisions_and_keeps_the_shown_sample(tmp_path):
    v, other = show(rows(), right="generic", folder=tmp_path), show(rows(), right="generic", folder=tmp_path)
    v.set_filter(label="unreviewed")
    assert v.counter == "1 of 12 filtered (12 total)" and v.current == "s00"
    v.label("good")  # no advance: s00 stays on screen though no longer unreviewed
    assert v.counter == "1 of 12 filtered (12 total)" and v.current == "s00" and "no longer matches" in v.message
    assert v.view["ahead"]["counter"] == "1 of 11 filtered (12 total)"  # where j goes, without s00
    ahead = v.view["ahead"]
    v.next()
    assert v.current == "s01" and v.counter == "1 of 11 filtered (12 total)"
    assert (ahead["sample"], ahead["counter"], ahead["pos"]) == (v.view["sample"], v.counter, v.view["pos"])
    other.go(3)
    other.label("bad")  # s03, elsewhere
    send(v, do="sync")
    assert v.counter == "1 of 10 filtered (12 total)" and v.current == "s01"
    v.label("good", advance=True)  # s01 leaves, s02 is next
    assert v.current == "s02" and v.counter == "1 of 9 filtered (12 total)"
    v.prev()  # nothing before: s02 stays
    assert v.current == "s02"


def test_the_bulk_confirm_says_what_would_change_and_writes_nothing(tmp_path):
    v = show(rows(4), right="generic", folder=tmp_path)
    v.label("good", advance=True)
    v.label("bad", advance=True)
    send(v, do="preview", value="unreviewed")
    assert v.view["confirm"] == {"value": "unreviewed", "n": 4, "text": "Label all 4 filtered samples unreviewed? "
                                 "This changes 2 of them (now 1 good, 1 bad). z undoes it as a whole."}
    assert v.progress == "2 of 4 reviewed"
    send(v, do="next")
    assert v.view["confirm"] is None  # any other action closes it
    send(v, do="preview", value="bad")
    assert "This changes 3 of them" in v.view["confirm"]["text"]
    with pytest.raises(ValueError, match="label must be one of"):
        v._preview("great")


def test_same_texts_compares_columns_as_the_panes_show_them():
    a = pd.Series(["x", "y", None, "", None, "q", {"k": 1}, np.nan], dtype=object)
    b = pd.Series(["x", "z", "", None, np.nan, None, {"k": 1}, ""], dtype=object)
    want = [True, False, True, True, True, False, True, True]
    assert list(same_texts(a, b)) == want
    assert list(same_texts(a[:6].astype("str"), b[:6].astype("str"))) == want[:6]  # pyarrow-backed text
    assert list(same_texts(a[:6].astype("str"), b[:6])) == want[:6]  # one of each


def test_compare_reads_the_texts_of_the_rows_it_shows(monkeypatch, tmp_path):
    columns, compare_module = (importlib.import_module(f"toolkit.review.{m}") for m in ("columns", "compare"))
    read = []
    real = compare_module.cell_text
    counting = lambda value: read.append(1) or real(value)  # noqa: E731
    monkeypatch.setattr(columns, "cell_text", counting)
    monkeypatch.setattr(compare_module, "cell_text", counting)
    n = 20_000
    pool = [f"passage {i} " * 200 for i in range(20)]
    at = np.arange(n) % 20
    for dtype in (object, "str"):
        a = pd.DataFrame({"chunk_id": [f"d{i}" for i in range(n)], "text": pd.Series(pool, dtype=dtype)[at].values,
                          "out": pd.Series(pool[::-1], dtype=dtype)[at].values, "out.status": "ok"})
        b = a.assign(out=pd.Series(pool[1:] + pool[:1], dtype=dtype)[at].values)
        read.clear()
        c = compare(a, b, "out", folder=tmp_path / str(dtype))
        differ = sum(x != y for x, y in zip(pool[::-1], pool[1:] + pool[:1])) * n // 20  # 18 of each 20
        assert len(read) < 50 and c.counts["changed"] == differ == 18_000, dtype
        c.next()
        assert len(read) < 100
