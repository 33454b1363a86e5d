"""decisions/: what users made survives the move and the end of a session.

A review.sqlite written by the toolkit before the store had its own package opens unchanged with
every decision; the old import paths still work (with a DeprecationWarning); and review.sqlite alone
holds every decision once its store is closed or its process has ended, even while another process
still holds the database."""

import json
import shutil
import sqlite3
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest

import toolkit as tk
from toolkit.decisions import Store
from toolkit.outputs import output_hash as h

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).parent / "fixtures" / "review_main"


def decisions(path: Path) -> dict:
    """The live labels and picks in review.sqlite at `path`, read with plain sqlite3 from that one
    file (its -wal is not copied): {(kind, sample, source): value}."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT kind, sample, source, value FROM events WHERE kind != 'undo' ORDER BY id").fetchall()
    finally:
        db.close()
    return {(kind, sample, source): value for kind, sample, source, value in rows}


def test_a_review_store_written_before_the_move_opens_unchanged_with_every_decision(tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(FIXTURE, folder)
    before = (folder / "review.sqlite").read_bytes()
    expected = json.loads((FIXTURE / "expected.json").read_text())
    with Store(folder) as s:
        found = {"sources": s.sources(),
                 **{src: {"labels": s.labels(src), "picks": s.picks(src)} for src in s.sources()},
                 "label_of": {sid: s.label_of(sid) for sid in ("c0", "c1", "c2", "c3", "c5", "old0")},
                 "pick_of": {"s0": s.pick_of("s0", h("A text 0"), h("B text 0")),
                             "s2": s.pick_of("s2", h("A text 2"), h("B text 2"))}}
    assert found == expected
    assert expected["sources"] == ["judge:plainer", "judge:supported", "person"]  # the fixture has them all
    assert expected["person"]["labels"]["old0"]["output"] is None  # and a label from labels.json
    assert (folder / "review.sqlite").read_bytes() == before  # no migration, nothing rewritten
    # the frame-level readers see it as well: the label on c5 was made on a rewritten answer
    df = pd.DataFrame({"chunk_id": ["c0", "c1", "c5", "old0"], "answer": ["answer 0", "answer 1", "answer 5", "x"],
                       "answer.status": "ok"})
    out = tk.labels(df, folder)
    assert out["label"].tolist() == ["good", "bad", "unreviewed", "good"]
    assert out["label_stale"].tolist() == [False, False, True, False]
    pairs = tk.picks(pd.DataFrame({"chunk_id": ["s0", "s1"], "gen": ["A text 0", "A text 1"], "gen.status": "ok"}),
                     pd.DataFrame({"chunk_id": ["s0", "s1"], "gen": ["B text 0", "B text 1"], "gen.status": "ok"}),
                     folder=folder)
    assert pairs["pick"].tolist() == ["A", "tie"]


def test_the_old_names_still_work_and_say_where_they_moved():
    with pytest.warns(DeprecationWarning, match=r"toolkit.review.Store moved to toolkit.decisions.Store"):
        assert tk.review.Store is Store
    with pytest.warns(DeprecationWarning, match="moved to toolkit.decisions.labels"):
        assert tk.review.labels is tk.labels
    for name in ("picks", "preference_pairs"):
        with pytest.warns(DeprecationWarning):
            assert getattr(tk.review, name) is getattr(tk, name)
    with pytest.warns(DeprecationWarning, match="toolkit.review.store.Store moved"):
        from toolkit.review.store import Store as old_store
    with pytest.warns(DeprecationWarning, match="toolkit.review.labels.output_hash moved to toolkit.outputs"):
        from toolkit.review.labels import output_hash
    with pytest.warns(DeprecationWarning, match="toolkit.review.labels.LABELS moved"):
        from toolkit.review.labels import LABELS
    with pytest.warns(DeprecationWarning):
        from toolkit.review.preferences import preference_pairs
    with pytest.warns(DeprecationWarning):
        from toolkit.review.diff import cell_text
    with pytest.warns(DeprecationWarning, match="toolkit.export.keep moved to toolkit.keep.keep"):
        from toolkit.export import keep
    assert (old_store, output_hash, LABELS, preference_pairs, keep) == (Store, h, ("good", "bad"),
                                                                        tk.preference_pairs, tk.keep)
    assert cell_text({"a": 1}) == '{\n  "a": 1\n}'
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tk.show, tk.compare, tk.labels, tk.decisions.Store  # the new homes warn about nothing


def test_closing_a_store_leaves_every_decision_in_review_sqlite_alone(tmp_path):
    """Another store (a viewer, another kernel) still holds the database, so SQLite's own
    checkpoint on the last close does not happen: close() must make the file whole itself."""
    other = Store(tmp_path)
    store = Store(tmp_path)
    store.label("c0", h("an answer"), "good")
    store.pick("s0", h("a"), h("b"), "B")
    store.close()
    store.close()  # twice is harmless
    shutil.copy(tmp_path / "review.sqlite", tmp_path / "copy.sqlite")
    other.close()
    assert decisions(tmp_path / "copy.sqlite") == {("label", "c0", "person"): "good", ("pick", "s0", "person"): "B"}


def test_while_a_store_is_open_sqlite_backup_copies_every_decision(tmp_path):
    """What docs/durability.md and run-folder.md say to do while a kernel still has a widget open:
    the file alone lacks the newest decisions, SQLite's backup reads the log too."""
    store = Store(tmp_path)
    store.label("c0", h("an answer"), "good")
    try:
        shutil.copy(tmp_path / "review.sqlite", tmp_path / "plain.sqlite")
        with pytest.raises(sqlite3.OperationalError, match="no such table"):  # all of it is in the -wal yet
            decisions(tmp_path / "plain.sqlite")
        sqlite3.connect(tmp_path / "review.sqlite").backup(sqlite3.connect(tmp_path / "backup.sqlite"))
        assert decisions(tmp_path / "backup.sqlite") == {("label", "c0", "person"): "good"}
    finally:
        store.close()


SESSION = """
import sys
from toolkit.decisions import Store
from toolkit.outputs import output_hash
store = Store(sys.argv[1])          # left open, as a notebook's viewer leaves it
store.label("c0", output_hash("an answer"), "bad", note="made up")
store.label_many([("c1", output_hash("x")), ("c2", output_hash("y"))], "good")
keep = [store]                      # still referenced when the interpreter exits
print("labelled", flush=True)
"""


def test_at_interpreter_exit_a_store_left_open_is_checkpointed(tmp_path):
    holder = Store(tmp_path)  # this process holds the database for the whole session
    try:
        out = subprocess.run([sys.executable, "-c", SESSION, str(tmp_path)], capture_output=True, text=True,
                             timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
        assert out.returncode == 0 and out.stdout == "labelled\n", out.stderr
        shutil.copy(tmp_path / "review.sqlite", tmp_path / "copy.sqlite")  # only the main file
    finally:
        holder.close()
    assert decisions(tmp_path / "copy.sqlite") == {("label", "c0", "person"): "bad", ("label", "c1", "person"): "good",
                                                    ("label", "c2", "person"): "good"}


def test_add_decisions_reads_labels_and_picks_from_one_file_once(tmp_path):
    """What factual_qa and style_clone do with their committed labels and picks."""
    path = tmp_path / "decided.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in [
        {"sample": "c0", "column": "answer", "output": "Every 6 months.", "label": "good", "note": "in the text"},
        {"sample": "s0", "a": "Uno.", "b": "One.", "pick": "B"}]) + "\n\n", encoding="utf-8")
    tk.add_decisions(path, tmp_path / "run")
    tk.add_decisions(path, tmp_path / "run")  # again: nothing new is written
    with Store(tmp_path / "run") as s:
        assert s._query("SELECT count(*) FROM events")[0][0] == 2
        assert s.add(path) == 0
        assert s.labels()["c0"]["output"] == h("Every 6 months.")
        assert s.picks() == {"s0": [{"a": h("Uno."), "b": h("One."), "pick": "B"}]}
    path.write_text(json.dumps({"sample": "c1", "label": "bad"}) + "\n")
    with pytest.raises(ValueError, match=r"decided.jsonl, line 1: not a label .*sample, column, output and label"):
        tk.add_decisions(path, tmp_path / "run")
    path.write_text("{}\n[1]\n")
    with pytest.raises(ValueError, match="line 1: not a label"):
        tk.add_decisions(path, tmp_path / "run")
