"""The review keys have one home (toolkit/review/keys.py): the widget's handler, the page's key map,
the buttons, the help line and docs/review-keys.md all follow it."""

import re
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from toolkit.review import keys
from toolkit.review.candidates import Candidates
from toolkit.review.compare import Comparison, compare
from toolkit.review.front import ESM
from toolkit.review.viewer import Viewer, show

DOC = Path(__file__).resolve().parents[1] / "docs" / "review-keys.md"


def frame():
    return pd.DataFrame({"chunk_id": ["a", "b"], "text": ["The cat sat.", "A dog ran."],
                         "generic": ["The dog sat.", "A dog ran."], "generic.status": ["ok", "ok"]})


def test_the_docs_table_is_made_from_the_code():
    text = DOC.read_text(encoding="utf-8")
    assert keys.BEGIN + keys.markdown() + keys.END in text, (
        "docs/review-keys.md's key table is out of date: run "
        "python -c \"from toolkit.review.keys import write_docs; write_docs('docs/review-keys.md')\"")


def test_write_docs_fills_the_marked_block(tmp_path):
    page = tmp_path / "keys.md"
    page.write_text("intro\n" + keys.BEGIN + "old table\n" + keys.END + "after\n", encoding="utf-8")
    keys.write_docs(page)
    assert page.read_text(encoding="utf-8") == "intro\n" + keys.BEGIN + keys.markdown() + keys.END + "after\n"
    (tmp_path / "none.md").write_text("no block\n", encoding="utf-8")
    with pytest.raises(ValueError, match="none.md has no"):
        keys.write_docs(tmp_path / "none.md")


def test_every_action_has_its_handler():
    """A kernel action is a `_do_<action>` method of both widgets; a page action is in front.py's
    PAGE; a row the docs list but the page does not bind (Enter in a box) needs neither."""
    table = ESM[ESM.index("const PAGE = {"):ESM.index("\n  };", ESM.index("const PAGE"))]
    page = set(re.findall(r"^    (\w+)\(", table, re.M))
    for k in keys.KEYS:
        if not k.keys:
            continue
        if k.do.startswith("page:"):
            assert k.do[5:] in page, k
        else:
            for widget in (Viewer, Candidates, Comparison):
                if widget.WHERE in k.where:
                    assert callable(getattr(widget, f"_do_{k.do}", None)), (widget, k)
    assert callable(Viewer._do_mark) and callable(Comparison._do_mark) and callable(Candidates._do_mark)


@pytest.mark.parametrize("marks", [keys.label_keys(["good", "bad"]), keys.label_keys([f"l{i}" for i in range(9)]),
                                   keys.pick_keys(False), keys.pick_keys(True), keys.candidate_keys(9)])
def test_no_key_does_two_things(marks):
    where = "compare" if marks[0][0] in ("A", "left") else "candidates" if marks[0][0] == "#1" else "show"
    taken = [key for k in keys.KEYS if where in k.where for key in k.keys]
    assert len(taken) == len(set(taken))
    assert not {key for _, key in marks} & set(taken)


def test_the_widgets_send_what_the_table_says(tmp_path):
    v = show(frame(), right="generic", folder=tmp_path / "v", labels=["good", "bad", "off-topic"])
    marks = v.view["marks"]
    assert v.view["keys"] == keys.key_map("show", marks) and v.view["help"] == keys.help_line("show", marks)
    assert v.view["keys"]["3"] == {"do": "mark", "value": "off-topic", "advance": True, "ahead": True}
    assert {k: a["do"] for k, a in v.view["keys"].items() if "do" in a and a["do"] != "mark"} == {
        "ArrowRight": "next", "j": "next", "ArrowLeft": "prev", "k": "prev", "n": "unreviewed", "z": "undo",
        "f": "promote", "r": "trace"}
    assert v.view["keys"]["e"] == {"page": "edit", "side": -1} and "Shift+E" not in v.view["keys"]
    c = compare(frame(), frame().assign(generic=["x", "y"]), "generic", folder=tmp_path / "c")
    assert [b[1] for b in c.view["buttons"]] == ["next", "prev", "next unpicked", "undo", "source", "list"]
    assert "n next unpicked" in c.view["help"] and "unreviewed" not in c.view["help"]
    assert [b[1] for b in v.view["buttons"]] == ["next", "prev", "next unreviewed", "undo", "list"]
    off = show(frame(), right="generic")  # no run folder: no decision keys
    assert "n" not in off.view["keys"] and "z" not in off.view["keys"] and "g" not in off.view["keys"]
    assert [b[0] for b in off.view["buttons"]] == ["next", "prev", "page:list"]
    assert "e" not in off.view["keys"] and "f" not in off.view["keys"]  # corrections and promotions need a folder


def test_an_unknown_action_is_said_not_raised():
    v = show(frame(), right="generic", folder=tempfile.mkdtemp())
    v._on_msg(v, {"do": "fly"}, [])
    assert v.message == "unknown action 'fly' from the page" and v.view["alert"]
