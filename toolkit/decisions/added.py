"""Decisions brought into the review store from files: a review kept as data (JSONL, `Store.add`,
tk.add_decisions) and the labels.json / picks.json of before the store (imported once).

Store (store.py) takes these methods from `AddedDecisions`; they write through its own
transaction and lock, so what is added is stored as any other decision.
"""

import json
import time
from pathlib import Path

from ..outputs import output_hash
from ..stats import PICKS

NEEDS = {"label": "a label needs sample, column, output and label", "pick": "a pick needs sample, a, b and pick",
         None: "a label needs sample, column, output and label; a pick sample, a, b and pick"}


class AddedDecisions:
    """The Store's methods that bring decisions in from files (see the module)."""

    def add(self, path, kind=None):
        """Write the decisions of a JSONL file into the store, as the person's, once; returns how
        many were written. A label line is {"sample", "column", "output", "label", "note"} with
        `output` the text labelled (its hash ties the label to that output, so it is stale for any
        other); a pick line is {"sample", "a", "b", "pick"} with `a` and `b` the two texts compared.
        A decision already stored on those outputs is skipped, so adding a file again writes
        nothing. `kind` ("label" or "pick") accepts only lines of that kind."""
        path, rows = Path(path), []
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            what = kind
            try:
                e = json.loads(line)
                what = kind or ("pick" if isinstance(e, dict) and "pick" in e else "label")
                row = self._pick_row(e) if what == "pick" else self._label_row(e)
            except (json.JSONDecodeError, KeyError, TypeError) as err:
                raise ValueError(f"{path}, line {n}: not a {what or 'decision'} ({err!r}); {NEEDS[what]}") from None
            except ValueError as err:
                raise ValueError(f"{path}, line {n}: {err}") from None
            if row is not None:
                rows.append(row)
        self._write(rows, "person")
        return len(rows)

    def add_labels(self, path):
        """`add(path, kind="label")`: labels made by hand and kept with a notebook as data."""
        return self.add(path, "label")

    def add_picks(self, path):
        """`add(path, kind="pick")`: A/B picks made by hand and kept with a notebook as data."""
        return self.add(path, "pick")

    def _label_row(self, e):
        """The event row of one label line, or None when that label is stored already."""
        sample, column, output, value = str(e["sample"]), e["column"], output_hash(e["output"]), e["label"]
        note, now = e.get("note") or "", self.label_of(sample)
        if now and (now["label"], now["output"], now["note"]) == (value, output, note):
            return None
        return ("label", sample, output, column, value, note)

    def _pick_row(self, e):
        """The event row of one pick line, or None when that pick is stored already."""
        sample, a, b, value = str(e["sample"]), output_hash(e["a"]), output_hash(e["b"]), e["pick"]
        if value not in PICKS:
            raise ValueError(f"pick must be one of {PICKS}, not {value!r}")
        return None if self.pick_of(sample, a, b) == value else ("pick", sample, a, b, value, None)

    # -- labels.json / picks.json from before the store ------------------------------------------
    def _import(self):
        """Read labels.json and picks.json once (the first Store on the folder does it, inside one
        transaction, so two processes starting together do not import twice)."""
        files = [name for name in ("labels.json", "picks.json") if (self.folder / name).exists()]
        if not files:
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                done = {r[0] for r in self._db.execute("SELECT name FROM imported")}
                for name in files:
                    if name not in done:
                        self._import_file(name)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _import_file(self, name):
        path = self.folder / name
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise ValueError(f"{path} is not valid JSON ({e}); fix or move it before reviewing") from None
        now, batch = time.time(), f"import:{name}"
        if name == "labels.json":
            rows = [("label", str(sid), None, None, v.get("label"), v.get("note") or "") for sid, v in saved.items()]
        else:
            rows = [("pick", str(sid), e["a"], e["b"], e["pick"], None) for sid, es in saved.items() for e in es]
        self._db.executemany(
            "INSERT INTO events (time, kind, sample, a, b, value, note, source, session, batch) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 'person', 'import', ?)", [(now, *row, batch) for row in rows])
        self._db.execute("INSERT INTO imported VALUES (?, ?)", (name, now))
