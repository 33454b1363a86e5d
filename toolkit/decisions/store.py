"""The review store: every label, note, A/B pick, correction and few-shot promotion made on a run
folder, in `<folder>/review.sqlite`.

Why SQLite with an append-only event log: each decision is one INSERT committed at once, so a key
press grows only a little with the decisions stored (bench_review_store.py: 1.20x at 50,000 vs 10,
label-and-advance 1.44x), and nothing is ever rewritten, so two viewers, two kernels or two
reviewers on one folder cannot overwrite each other (the old labels.json was rewritten whole from
each widget's own copy and lost the other's labels). SQLite (in the standard library) gives what a
hand-made log file would have to re-invent: appends from several processes serialised by its lock, a
crash never leaving half a record, WAL mode so readers never block a writer, and "events after the
last one I saw" as one indexed query. Readers merge on read: per key the latest event not reverted
by an undo wins, and SQLite finds it (one GROUP BY for every sample at once, one indexed lookup for
one), so reading 100,000 decisions takes a fraction of a second and nothing is cached in Python to
go stale; a widget learns which samples to redraw from the events newer than the last it saw
(`refresh`).

Events: (id, time, kind, sample, a, b, value, note, source, session, batch). kind is "label"
(a = hash of the labelled output, b = the name of its column, value = the label or NULL for
unreviewed, note = the note or NULL for "unchanged"), "note" (a note alone), "pick" (a, b = the
two outputs' hashes, value "A" | "B" | "tie" or NULL for unpicked), "correct" (a = hash of the
corrected output, b = its column, value = the person's text or NULL for "no correction"), "example"
(the output promoted to a few-shot example: a = its hash, b = its column, value = the draft it went
into) or "undo" (value = the batch it reverts). source is "person" or "judge:<name>"; session is
one Store object (one widget), so `undo` never reverts another reviewer's decision; events written
together (`label_many`) share a batch and are undone together. An existing labels.json /
picks.json is imported once as "person" events and left in place; a review kept as data (JSONL, one
decision a line, with the text it judged) is written by `add` (`tk.add_decisions`), tied to those
outputs.

Closing a Store, and the end of the process that holds it, copies the write-ahead log into
review.sqlite (a TRUNCATE checkpoint), so whenever nothing is in flight that one file holds every
decision: copy or commit it alone.

A review.sqlite made before corrections existed opens unchanged; the first correction or
promotion written to it widens the table's list of kinds in place (`_widen`: one transaction,
every event kept with its id, so undo batches still hold).

But: no redo, and nothing is ever deleted from the log (its size grows with every decision, about
100 bytes each); labels imported from labels.json do not say which output they judged, so they
count as current for any output. While a widget or kernel still has the store open, the newest
decisions may sit in review.sqlite-wal beside it: copy both files then, or close the store first.
"""

import atexit
import itertools
import sqlite3
import threading
import time
import uuid
import weakref
from pathlib import Path

from .. import outputs
from ..stats import PICKS
from .added import AddedDecisions

KINDS = ("label", "note", "pick", "undo", "correct", "example")
NEW_KINDS = {"correct", "example"}  # kinds a review.sqlite made before them cannot hold until widened
EVENTS = """CREATE TABLE IF NOT EXISTS {name} (
    id INTEGER PRIMARY KEY, time REAL NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('label', 'note', 'pick', 'undo', 'correct', 'example')),
    sample TEXT NOT NULL, a TEXT, b TEXT, value TEXT, note TEXT,
    source TEXT NOT NULL, session TEXT NOT NULL, batch TEXT NOT NULL);"""
INDEXES = """
CREATE INDEX IF NOT EXISTS by_decision ON events (kind, source, sample);
CREATE INDEX IF NOT EXISTS by_batch ON events (batch);
"""
TABLES = EVENTS.format(name="events") + """
CREATE TABLE IF NOT EXISTS imported (name TEXT PRIMARY KEY, time REAL NOT NULL);""" + INDEXES
LIVE = "batch NOT IN (SELECT value FROM events WHERE kind = 'undo')"  # not reverted by an undo
_OPEN = weakref.WeakSet()  # the stores not closed yet: closed at interpreter exit


class Store(AddedDecisions):
    """The decisions stored for run folder `folder` (created on first use); every read answers from
    the file as it is now (refresh() only says which samples changed)."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / "review.sqlite"
        # autocommit (isolation_level=None): each INSERT is its own committed transaction
        self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # in WAL mode: durable across a crash of the process
        self._db.executescript(TABLES)
        self._session, self._batches_made = uuid.uuid4().hex, itertools.count()
        self._seen, self._changed = 0, set()
        self._import()
        # refresh() says what changed after the Store was made
        self._seen = self._db.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
        self._closed = False
        _OPEN.add(self)

    def close(self):
        """Copy the write-ahead log into review.sqlite (so the file alone holds every decision:
        what to copy or commit) and close. Also done at interpreter exit for stores left open."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.OperationalError:
                pass  # another process holds the file past the timeout: its own close checkpoints
            self._db.close()
        _OPEN.discard(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

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

    def choose(self, sample_id, chosen, others, source="person"):
        """Record that of a sample's candidates (a step's n=) the one whose output hashes to
        `chosen` is best: a pick of it over each of `others` (their hashes), written together
        (one undo reverts them). `chosen=None`: no pick among `others` (each pair's withdrawn)."""
        if chosen is None:
            self._write([self._between(sample_id, x, y, None) for i, x in enumerate(others) for y in others[i + 1:]
                         if x != y], source)
            return
        self._write([self._between(sample_id, chosen, other, chosen) for other in others if other != chosen], source)

    def pick_between(self, sample_id, x, y, winner, source="person"):
        """Record a pick between two of a sample's candidates (output hashes `x`, `y`): `winner`
        (x or y), "tie", or None (no pick). Returns False, writing nothing, when that is stored."""
        row = self._between(sample_id, x, y, winner)
        if self.pick_of(*row[1:4], source=source) == row[4]:
            return False
        self._write([row], source)
        return True

    @staticmethod
    def _between(sample_id, x, y, winner):
        """The event row of a pick between two candidates: the pair in one order whoever was shown
        first, so a later pick on the same two replaces the earlier one."""
        a, b = sorted((x, y))
        value = winner if winner in ("tie", None) else "A" if winner == a else "B"
        return ("pick", str(sample_id), a, b, value, None)

    def correct(self, sample_id, column, output_hash, text, source="person"):
        """Store the person's `text` for the output of `column` whose hash is `output_hash` (the
        output shown: outputs.output_hash), in place of the model's wherever the dataset is made.
        `text=None`, or the output's own text, withdraws the correction. The model's output, the
        cache and the frame stay as they are; `undo` reverts it like a label."""
        if text is not None and not isinstance(text, str):
            raise TypeError(f"a correction is text (str) or None to withdraw it, not {type(text).__name__}")
        if text is not None and not text.strip():
            raise ValueError(f"the correction of {column!r} for sample {sample_id!r} is empty: an empty answer "
                             "trains nothing; pass None to withdraw a correction")
        if text is not None and outputs.output_hash(text) == output_hash:
            text = None  # the output as it is: no correction
        if text is None and self.correction_of(sample_id, column, source) is None:
            return
        self._write([("correct", str(sample_id), output_hash, column, text, None)], source)

    def example(self, items, column, draft, source="person"):
        """Record each (sample_id, output_hash) in `items` as promoted to a few-shot example of
        `column`'s step in prompt draft `draft` (tk.promote writes the draft; draft=None: no longer
        an example). One undo reverts them all: the record, not the draft."""
        self._write([("example", str(s), h, column, None if draft is None else str(draft), None)
                     for s, h in items], source)

    def undo(self, source="person"):
        """Revert the last decision (or bulk) of `source` made through this Store; returns what it
        undid ({"kind", "sample", "value", ...}, a list for a bulk) or None when there is none."""
        found = self._query("SELECT batch FROM events WHERE session = ? AND source = ? AND kind != 'undo' AND LIVE "
                            "ORDER BY id DESC LIMIT 1", (self._session, source))
        if not found:
            return None
        batch = found[0][0]
        undone = [dict(zip(("kind", "sample", "a", "b", "value", "note"), row)) for row in self._query(
            "SELECT kind, sample, a, b, value, note FROM events WHERE batch = ? ORDER BY id", (batch,))]
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
                if NEW_KINDS & {row[0] for row in rows}:
                    self._widen()
                self._db.executemany(
                    "INSERT INTO events (time, kind, sample, a, b, value, note, source, session, batch) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(now, *row, source, self._session, batch) for row in rows])
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        self._read()

    def _widen(self):
        """Let a table made before corrections hold them: SQLite cannot change a CHECK in place, so
        the table is copied into one with the new kinds, ids and all, and renamed, inside the
        caller's write transaction (a second process waits, then finds it done). The columns and
        indexes stay as they were, so a toolkit of before still finds what it reads."""
        sql = self._db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'events'").fetchone()[0]
        if "'correct'" in sql:
            return
        self._db.execute(EVENTS.format(name="events_widened"))
        self._db.execute("INSERT INTO events_widened SELECT id, time, kind, sample, a, b, value, note, source, "
                         "session, batch FROM events")
        self._db.execute("DROP TABLE events")
        self._db.execute("ALTER TABLE events_widened RENAME TO events")
        for statement in filter(str.strip, INDEXES.split(";")):
            self._db.execute(statement)

    # -- reading ---------------------------------------------------------------------------------
    def refresh(self):
        """Read the events written since the last read (by anyone); returns the ids of the samples
        whose decisions changed since the last `refresh()` (including through this Store)."""
        self._read()
        with self._lock:
            changed, self._changed = self._changed, set()
        return changed

    def _read(self):
        """Note the samples of the events newer than the last seen (an undo: the samples of the
        batch it reverts); the decisions themselves are read from SQLite when asked for."""
        with self._lock:
            seen = self._seen
            self._seen = self._db.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
            if self._seen == seen:
                return
            self._changed.update(r[0] for r in self._db.execute(
                "SELECT sample FROM events WHERE id > ? AND kind != 'undo' UNION "
                "SELECT e.sample FROM events u JOIN events e ON e.batch = u.value "
                "WHERE u.id > ? AND u.kind = 'undo' AND e.kind != 'undo'", (seen, seen)))

    def _query(self, sql, args=()):
        with self._lock:
            return self._db.execute(sql.replace("LIVE", LIVE), args).fetchall()

    def label_of(self, sample_id, source="person"):
        """{"label", "note", "output", "column"} of one sample (label None = unreviewed; output:
        the labelled output's hash, column: its column, None when not known), or None."""
        sid = str(sample_id)
        label = self._query("SELECT value, a, b FROM events WHERE kind = 'label' AND source = ? AND sample = ? "
                            "AND LIVE ORDER BY id DESC LIMIT 1", (source, sid))
        note = self._query("SELECT note FROM events WHERE kind IN ('label', 'note') AND source = ? AND sample = ? "
                           "AND note IS NOT NULL AND LIVE ORDER BY id DESC LIMIT 1", (source, sid))
        value, output, col = label[0] if label else (None, None, None)
        state = {"label": value, "note": note[0][0] if note else "", "output": output, "column": col}
        return state if state["label"] is not None or state["note"] else None

    def pick_of(self, sample_id, hash_a, hash_b, source="person"):
        """The pick stored for sample `sample_id` on exactly this pair of outputs, or None."""
        found = self._query("SELECT value FROM events WHERE kind = 'pick' AND source = ? AND sample = ? "
                            "AND a IS ? AND b IS ? AND LIVE ORDER BY id DESC LIMIT 1",
                            (source, str(sample_id), hash_a, hash_b))
        return found[0][0] if found else None

    def correction_of(self, sample_id, column, source="person"):
        """{"text", "output"} of the correction of sample `sample_id`'s `column` (output: the hash
        of the output it corrected; stale where that is not the output now), or None."""
        found = self._query("SELECT value, a FROM events WHERE kind = 'correct' AND source = ? AND sample = ? "
                            "AND b IS ? AND LIVE ORDER BY id DESC LIMIT 1", (source, str(sample_id), column))
        return {"text": found[0][0], "output": found[0][1]} if found and found[0][0] is not None else None

    def corrections(self, source="person"):
        """{column: {sample_id: {"text", "output"}}}: every correction standing, whatever the outputs
        are now (decisions.corrections puts the current ones on a frame)."""
        self._read()
        out = {}
        for sid, col, _, value, a in self._query("SELECT sample, b, max(id), value, a FROM events WHERE kind = "
                                                 "'correct' AND source = ? AND LIVE GROUP BY sample, b", (source,)):
            if value is not None:
                out.setdefault(col, {})[sid] = {"text": value, "output": a}
        return out

    def examples(self, source="person"):
        """{column: {sample_id: {"output", "draft"}}}: the outputs promoted to few-shot examples
        (tk.promote), per column, the latest promotion of each sample."""
        self._read()
        out = {}
        for sid, col, _, value, a in self._query("SELECT sample, b, max(id), value, a FROM events WHERE kind = "
                                                 "'example' AND source = ? AND LIVE GROUP BY sample, b", (source,)):
            if value is not None:
                out.setdefault(col, {})[sid] = {"output": a, "draft": value}
        return out

    def labels(self, source="person"):
        """{sample_id: {"label", "note", "output", "column"}}: the stored labels of `source` as
        they are in the log, whatever the outputs are now (tk.labels puts them on a frame, stale
        ones marked). SQLite finds each sample's latest label and latest note (one pass each, in C)."""
        self._read()
        # a bare column beside max() comes from the row holding the max (SQLite's documented rule)
        latest = self._query("SELECT sample, max(id), value, a, b FROM events WHERE kind = 'label' AND source = ? "
                             "AND LIVE GROUP BY sample", (source,))
        notes = dict(self._query("SELECT sample, note FROM (SELECT sample, max(id), note FROM events WHERE "
                                 "kind IN ('label', 'note') AND source = ? AND note IS NOT NULL AND LIVE "
                                 "GROUP BY sample) WHERE note != ''", (source,)))
        out = {sid: {"label": value, "note": notes.get(sid, ""), "output": a, "column": b}
               for sid, _, value, a, b in latest if value is not None or sid in notes}
        out.update({sid: {"label": None, "note": note, "output": None, "column": None}
                    for sid, note in notes.items() if sid not in out})
        return out

    def picks(self, source="person"):
        """{sample_id: [{"a", "b", "pick"}, ...]}: the stored picks of `source`, one per pair of
        outputs (tk.picks puts those on the present outputs on a frame)."""
        self._read()
        out = {}
        for sid, a, b, _, value in self._query("SELECT sample, a, b, max(id), value FROM events WHERE kind = 'pick' "
                                               "AND source = ? AND LIVE GROUP BY sample, a, b", (source,)):
            if value is not None:
                out.setdefault(sid, []).append({"a": a, "b": b, "pick": value})
        return out

    def sources(self):
        """Every source that has a decision stored, sorted ("person", "judge:<name>", ...)."""
        self._read()
        return sorted(r[0] for r in self._query("SELECT DISTINCT source FROM events WHERE kind != 'undo' AND LIVE"))

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


def add_decisions(path, folder) -> None:
    """Write the labels and picks kept in the JSONL file `path` into the review store of run
    folder `folder`, as the person's: decisions made by hand and committed with a notebook as data.
    One decision a line, with the text it judged — a label {"sample", "column", "output", "label",
    "note"}, a pick {"sample", "a", "b", "pick"} — so each is tied to that output and is stale for
    any other. A decision already stored is skipped: running it again writes nothing."""
    with Store(folder) as store:
        store.add(path)


@atexit.register
def _close_all():
    """At interpreter exit (a kernel shut down, a script's end), close every store still open, so
    no decision is left only in review.sqlite-wal."""
    for store in list(_OPEN):
        store.close()
