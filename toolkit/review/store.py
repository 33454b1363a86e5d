"""The review store: every label, note and A/B pick made on a run folder, in `<folder>/review.sqlite`.

Why SQLite with an append-only event log: each decision is one INSERT committed at once, so a key
press costs the same with 50,000 decisions stored as with 10, and nothing is ever rewritten, so two
viewers, two kernels or two reviewers on one folder cannot overwrite each other (the old
labels.json was rewritten whole from each widget's own copy and lost the other's labels). SQLite
(in the standard library) gives what a hand-made log file would have to re-invent: appends from
several processes serialised by its lock, a crash never leaving half a record, WAL mode so readers
never block a writer, and "events after the last one I saw" as one indexed query. Readers merge on
read: per key the latest event wins, so a widget keeps its view current by reading only the events
newer than the last it saw (`refresh`).

Events: (id, time, kind, sample, a, b, value, note, source, session, batch). kind is "label"
(a = hash of the labelled output, b = the name of its column, value = the label or NULL for
unreviewed, note = the note or NULL for "unchanged"), "note" (a note alone), "pick" (a, b = the
two outputs' hashes, value "A" | "B" | "tie" or NULL for unpicked) or "undo" (value = the batch it
reverts). source is "person" or "judge:<name>"; session is one Store object (one widget), so
`undo` never reverts another reviewer's decision; events written together (`label_many`) share a
batch and are undone together. An existing labels.json / picks.json is imported once as
"person" events and left in place; a review kept as data (JSONL, one decision a line, with the text
it judged) is written by add_labels / add_picks, tied to those outputs.

But: no redo, and nothing is ever deleted from the log (its size grows with every decision, about
100 bytes each); labels imported from labels.json do not say which output they judged, so they
count as current for any output.
"""

import itertools
import json
import sqlite3
import threading
import time
import uuid
from pathlib import Path

PICKS = ("A", "B", "tie")
SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, time REAL NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('label', 'note', 'pick', 'undo')),
    sample TEXT NOT NULL, a TEXT, b TEXT, value TEXT, note TEXT,
    source TEXT NOT NULL, session TEXT NOT NULL, batch TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS imported (name TEXT PRIMARY KEY, time REAL NOT NULL);
"""
COLUMNS = "id, kind, sample, a, b, value, note, source, session, batch"


class Store:
    """The decisions stored for run folder `folder` (created on first use). labels/picks/sources
    read the new events first; label_of/pick_of answer from what was last read (call refresh())."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / "review.sqlite"
        # autocommit (isolation_level=None): each INSERT is its own committed transaction
        self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # in WAL mode: durable across a crash of the process
        self._db.executescript(SCHEMA)
        self._session, self._batches_made = uuid.uuid4().hex, itertools.count()
        self._seen, self._changed = 0, set()
        self._keys = {}     # key -> [event, ...] in id order; key: ("label", source, sample) or
        #                      ("pick", source, sample, a, b)
        self._where = {}    # event id -> key
        self._batch = {}    # batch -> [event id, ...]
        self._mine = []     # batches this session wrote, oldest first, not yet undone
        self._import()
        self._read()

    def close(self):
        self._db.close()

    # -- writing ---------------------------------------------------------------------------------
    def label(self, sample_id, output_hash, value, note=None, source="person", column=None):
        """Label sample `sample_id`'s output (its hash; `column`: the output column it is in)
        `value` (None = unreviewed); note=None keeps the note."""
        self.label_many([(sample_id, output_hash)], value, note=note, source=source, column=column)

    def label_many(self, items, value, note=None, source="person", column=None):
        """Label every (sample_id, output_hash) in `items` `value` in one transaction; one `undo`
        reverts them all (a bulk "label all filtered as ...")."""
        self._write([("label", str(s), h, column, value, note) for s, h in items], source)

    def note(self, sample_id, output_hash, text, source="person", column=None):
        """Set the note of a sample, leaving its label as it is."""
        self._write([("note", str(sample_id), output_hash, column, None, text)], source)

    def pick(self, sample_id, hash_a, hash_b, value, source="person"):
        """Record "A" | "B" | "tie" (None = unpicked) for this exact pair of outputs of a sample."""
        if value is not None and value not in PICKS:
            raise ValueError(f"pick must be one of {PICKS} or None, not {value!r}")
        self._write([("pick", str(sample_id), hash_a, hash_b, value, None)], source)

    def undo(self, source="person"):
        """Revert the last decision (or bulk) of `source` made through this Store; returns what it
        undid ({"kind", "sample", "value", ...}, a list for a bulk) or None when there is none."""
        self._read()
        with self._lock:
            batch = next((b for b in reversed(self._mine) if self._events_of(b)
                          and self._events_of(b)[0]["source"] == source), None)
        if batch is None:
            return None
        undone = [{k: e[k] for k in ("kind", "sample", "a", "b", "value", "note")} for e in self._events_of(batch)]
        self._write([("undo", "", None, None, batch, None)], source)
        return undone[0] if len(undone) == 1 else undone

    def _write(self, rows, source):
        if not (source == "person" or (isinstance(source, str) and source.startswith("judge:") and source[6:])):
            raise ValueError(f"source must be 'person' or 'judge:<name>', not {source!r}")
        if not rows:
            return
        batch, now = f"{self._session}:{next(self._batches_made)}", time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT INTO events (time, kind, sample, a, b, value, note, source, session, batch) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(now, *row, source, self._session, batch) for row in rows])
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        self._read()

    # -- reading ---------------------------------------------------------------------------------
    def refresh(self):
        """Read the events written since the last read (by anyone); returns the ids of the samples
        whose decisions changed since the last `refresh()` (including through this Store)."""
        self._read()
        with self._lock:
            changed, self._changed = self._changed, set()
        return changed

    def _read(self):
        with self._lock:
            new = self._db.execute(f"SELECT {COLUMNS} FROM events WHERE id > ? ORDER BY id",
                                   (self._seen,)).fetchall()
            changed = set()
            for row in new:
                e = dict(zip(COLUMNS.split(", "), row))
                self._seen = e["id"]
                if e["kind"] == "undo":
                    for i in self._batch.pop(e["value"], ()):
                        key = self._where.pop(i)
                        self._keys[key] = [x for x in self._keys[key] if x["id"] != i]
                        changed.add(key[2])
                    if e["session"] == self._session and e["value"] in self._mine:
                        self._mine.remove(e["value"])
                    continue
                key = (("pick", e["source"], e["sample"], e["a"], e["b"]) if e["kind"] == "pick"
                       else ("label", e["source"], e["sample"]))
                self._keys.setdefault(key, []).append(e)
                self._where[e["id"]] = key
                self._batch.setdefault(e["batch"], []).append(e["id"])
                if e["session"] == self._session and (not self._mine or self._mine[-1] != e["batch"]):
                    self._mine.append(e["batch"])
                changed.add(e["sample"])
            self._changed |= changed

    def _events_of(self, batch):
        return [next(e for e in self._keys[self._where[i]] if e["id"] == i) for i in self._batch.get(batch, ())]

    def label_of(self, sample_id, source="person"):
        """{"label", "note", "output", "column"} of one sample (label None = unreviewed; output:
        the labelled output's hash, column: its column, None when not known), or None."""
        events = self._keys.get(("label", source, str(sample_id)))
        if not events:
            return None
        labelled = [e for e in events if e["kind"] == "label"]
        noted = [e for e in events if e["note"] is not None]
        state = {"label": labelled[-1]["value"] if labelled else None,
                 "note": noted[-1]["note"] if noted else "",
                 "output": labelled[-1]["a"] if labelled else None,
                 "column": labelled[-1]["b"] if labelled else None}
        return state if state["label"] is not None or state["note"] else None

    def pick_of(self, sample_id, hash_a, hash_b, source="person"):
        """The pick stored for sample `sample_id` on exactly this pair of outputs, or None."""
        events = self._keys.get(("pick", source, str(sample_id), hash_a, hash_b))
        return events[-1]["value"] if events else None

    def labels(self, source="person"):
        """{sample_id: {"label", "note", "output", "column"}}: every labelled sample's label."""
        self._read()
        found = {key[2]: self.label_of(key[2], source) for key in list(self._keys)
                 if key[0] == "label" and key[1] == source}
        return {k: v for k, v in found.items() if v is not None}

    def picks(self, source="person"):
        """{sample_id: [{"a", "b", "pick"}, ...]}: the current picks, one per pair of outputs."""
        self._read()
        out = {}
        for key, events in list(self._keys.items()):
            if key[0] == "pick" and key[1] == source and events and events[-1]["value"] is not None:
                out.setdefault(key[2], []).append({"a": key[3], "b": key[4], "pick": events[-1]["value"]})
        return out

    def sources(self):
        """Every source that has a decision stored, sorted ("person", "judge:<name>", ...)."""
        self._read()
        return sorted({key[1] for key, events in self._keys.items() if events})

    def one_source(self, source):
        """`source` as given, or for "judge" the one judge ("judge:<name>") with decisions stored;
        an error when there is none or several, so sources are never mixed silently."""
        if source != "judge":
            return source
        judges = [s for s in self.sources() if s.startswith("judge:")]
        if len(judges) != 1:
            raise ValueError(f"source='judge': {'no judge has' if not judges else 'several judges have'} "
                             f"decisions stored in {self.path}" + (f" ({judges}); name one, e.g. "
                                                                    f"source={judges[0]!r}" if judges else ""))
        return judges[0]

    def add_labels(self, path):
        """Write the labels of a JSONL file into the store, as the person's, once: each line
        {"sample", "column", "output", "label", "note"}, where `output` is the text labelled (its
        hash ties the label to that output, so it is stale for any other). A line whose label is
        already stored on that output is skipped, so running it again writes nothing. For labels
        made by hand and kept with a notebook as data."""
        from .labels import output_hash  # labels.py imports this module

        path, rows = Path(path), []
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            try:
                e = json.loads(line)
                sample, column, output, value = str(e["sample"]), e["column"], output_hash(e["output"]), e["label"]
            except (json.JSONDecodeError, KeyError, TypeError) as err:
                raise ValueError(f"{path}, line {n}: not a label ({err!r}); each line needs sample, column, "
                                 "output and label") from None
            now = self.label_of(sample)
            if not now or (now["label"], now["output"], now["note"]) != (value, output, e.get("note") or ""):
                rows.append(("label", sample, output, column, value, e.get("note") or ""))
        self._write(rows, "person")

    def add_picks(self, path):
        """Write the A/B picks of a JSONL file into the store, as the person's, as add_labels does:
        each line {"sample", "a", "b", "pick"}, `a` and `b` the two outputs compared (texts)."""
        from .labels import output_hash

        path, rows = Path(path), []
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            try:
                e = json.loads(line)
                sample, a, b, value = str(e["sample"]), output_hash(e["a"]), output_hash(e["b"]), e["pick"]
            except (json.JSONDecodeError, KeyError, TypeError) as err:
                raise ValueError(f"{path}, line {n}: not a pick ({err!r}); each line needs sample, a, b "
                                 "and pick") from None
            if value not in PICKS:
                raise ValueError(f"{path}, line {n}: pick must be one of {PICKS}, not {value!r}")
            if self.pick_of(sample, a, b) != value:
                rows.append(("pick", sample, a, b, value, None))
        self._write(rows, "person")

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
