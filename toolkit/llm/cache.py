"""The per-call response cache: one SQLite file in the run folder.

Finished calls are committed in small transactions (one SQLite commit per answer cost ≈ 47 µs, more
than the rest of a cached row): an answer is committed within FLUSH_ANSWERS answers or
FLUSH_SECONDS of arriving, whichever comes first, and at the end of every run, on an interrupt or
cancel, and at exit. A killed process (SIGKILL, the out-of-memory killer) loses at most that window;
the next run re-sends only the calls that are not in the cache. The key is the
content of the call (model, messages, sampling parameters) and never a key or an endpoint, so a
cache can be shared, exported as readable JSONL "recordings" and replayed in tests. A step's
several answers to one call (n=) are keyed apart by a mark in the params (`marked`), as is an
answer a re-ask replaced: each is a call of its own, exported and loaded like any. Each answer
records the weights that gave it, where the server said (`served`); llm.py answers a call again
when its endpoint now serves other weights, under `variant_key`.

`checkpoint()` copies the WAL into `cache.sqlite` (toolkit/sqlite.py) at the end of every run, when
the LLM is closed and at exit, so whenever nothing is in flight `cache.sqlite` alone is the whole
cache (the file a user copies).
A recording given to replay is held in memory and is all that replay answers from: the folder's
cache file is neither read nor written.

But: nothing is ever evicted. A run folder's cache only grows; start a new folder (or delete
cache.sqlite) to begin afresh. A recording holds one answer per call: `export` of a cache that
kept answers from two sets of weights writes both, and `load` keeps the later one.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterable
from pathlib import Path

from .. import sqlite

MODES = ("use", "replay", "refresh", "off")
# The durability bound (docs/durability.md): an answer waits for at most this many others or this
# long before its transaction commits.
FLUSH_ANSWERS = 64
FLUSH_SECONDS = 0.2
_UNREAD = object()  # get(): the key was not read ahead
PREFETCH_KEYS = 500  # keys one prefetch query names (SQLite allows 32,766 parameters)

_TABLES = """
CREATE TABLE IF NOT EXISTS calls (
    key      TEXT PRIMARY KEY,
    model    TEXT NOT NULL,
    request  TEXT NOT NULL,   -- {"messages": [...], "params": {...}}
    response TEXT NOT NULL,   -- the normalised answer: text, reasoning, finish_reason, usage, cost
    created  REAL NOT NULL
)
"""


class CacheMiss(LookupError):
    """A call that replay mode needed and the cache (or the recording) does not hold."""


def call_key(model: str, messages: list[dict], params: dict) -> str:
    """Content address of one call: the same request always maps to the same key."""
    blob = _KEY({"model": model, "messages": messages, "params": params})
    return hashlib.sha256(blob.encode()).hexdigest()


# made once: json.dumps builds an encoder per call, a visible share of a row's cost at 100 k rows
_KEY = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode
_TEXT = json.JSONEncoder(ensure_ascii=False).encode


# Marks in a call's params that are part of its key and never sent: which of a step's several
# answers it is (n=), and which earlier answer a re-ask replaced. They are stored with the call, so
# a recording's keys are recomputed with them (load).
CANDIDATE, EARLIER = "_candidate", "_earlier"


def marked(params: dict, candidate: int = 0, earlier: int = 0) -> dict:
    """The params a call is keyed and stored with: as given for the first answer to a call; with
    its candidate index for another (a step's n=), and an index for an answer a re-ask replaced."""
    if not candidate and not earlier:
        return params
    return {**params, **({CANDIDATE: candidate} if candidate else {}), **({EARLIER: earlier} if earlier else {})}


def unmarked(params: dict) -> dict:
    """A stored call's params as they were sent (without the marks)."""
    return {k: v for k, v in params.items() if k not in (CANDIDATE, EARLIER)}


def variant_key(key: str, weights: str) -> str:
    """Where the answer of call `key` from other `weights` is kept, when the call's own row holds an
    answer from the weights an endpoint served before (a swapped GGUF, a re-pulled tag): both stay."""
    return hashlib.sha256(f"{key}\0{weights}".encode()).hexdigest()


class Cache:
    """SQLite-backed cache with four modes.

    use      read, and write each new response within the durability bound (default)
    replay   read only; a miss raises CacheMiss (deterministic notebook regression). With a
             `recording` (JSONL from `export`), answers come from it alone, not from the file.
    refresh  ignore what is stored, overwrite with fresh answers
    off      neither read nor write
    """

    def __init__(self, path: str | Path, mode: str = "use", recording: str | Path | None = None):
        if mode not in MODES:
            raise ValueError(f"cache mode {mode!r} is not one of {', '.join(MODES)}")
        if recording is not None and mode != "replay":
            raise ValueError(f"a recording is replayed: it cannot be combined with cache mode {mode!r}")
        self.path = Path(path)
        self.mode = mode
        self.recording = None if recording is None else Path(recording)
        self._local = threading.local()
        self._pending: dict[str, tuple] = {}  # key -> row, answered but not committed yet
        self._lock = threading.Lock()  # a flush can come from the loop, a cell or atexit
        self._timer: object | None = None  # the armed flush timer's token (see put), None when none is
        self._recorded: dict[str, tuple] | None = None  # key -> row: replay's answers, when from a recording
        self._ahead: dict[str, str | None] = {}  # key -> stored answer or None: read ahead (prefetch), used once
        _open.add(self)
        sqlite.whole_at_exit(self)  # committed and checkpointed at exit
        if recording is not None:
            self._recorded = {}
            self.load(recording)
        elif mode != "off":
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db()  # create the file and schema now, so errors show up before any call

    def _db(self) -> sqlite3.Connection:
        """One connection per thread; WAL lets readers and a writer (even in two processes) share it."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = sqlite.connect(self.path, _TABLES)
        return db

    def get(self, key: str) -> dict | None:
        if self.mode in ("off", "refresh"):
            return None
        if self._recorded is not None:
            row = self._recorded.get(key)
            return None if row is None else json.loads(row[3])
        ahead = self._ahead.pop(key, _UNREAD)  # read ahead or not, used once
        pending = self._pending.get(key)
        if pending is not None:  # newer than anything read ahead from the file
            return json.loads(pending[3])
        if ahead is not _UNREAD:
            return None if ahead is None else json.loads(ahead)
        row = self._db().execute("SELECT response FROM calls WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def prefetch(self, keys: Iterable[str]) -> None:
        """Read the answers of `keys` in one query, for the next `get` of each (once: a later get
        reads the file again; a checkpoint, at a run's end, forgets what no get used). A step reads
        a block of rows ahead: one lookup per row cost more CPU than the rest of a cached row, and a
        quarter of an uncached one's own work."""
        if self.mode in ("off", "refresh") or self._recorded is not None:
            return
        keys = list(keys)
        ahead = dict.fromkeys(keys)
        for begin in range(0, len(keys), PREFETCH_KEYS):
            part = keys[begin:begin + PREFETCH_KEYS]
            ahead.update(self._db().execute(f"SELECT key, response FROM calls WHERE key IN "
                                            f"({','.join('?' * len(part))})", part))
        self._ahead.update(ahead)

    def stored(self, key: str) -> dict | None:
        """The whole stored call under `key` — {"model", "messages", "params", "response"}, the
        request as it was keyed (marks and all) — or None. What a trace shows; any mode reads."""
        held = self._pending.get(key) if self._recorded is None else self._recorded.get(key)
        if held is not None:  # not committed yet, or replayed from a recording (held in memory)
            model, request, response = held[1:4]
        elif self._recorded is not None or self.mode == "off" or not self.path.exists():
            return None
        else:
            row = self._db().execute("SELECT model, request, response FROM calls WHERE key=?", (key,)).fetchone()
            if row is None:
                return None
            model, request, response = row
        return {"model": model, **json.loads(request), "response": json.loads(response)}

    def put(self, key: str, model: str, messages: list[dict], params: dict, response: dict) -> None:
        if self.mode in ("off", "replay"):
            return
        row = _row(key, model, messages, params, response, time.time())
        self._ahead.pop(key, None)  # what was read ahead is older than this answer
        with self._lock:
            self._pending[key] = row
            full = len(self._pending) >= FLUSH_ANSWERS
            arm = not full and self._timer is None
            if arm:
                self._timer = token = object()
        if full:
            self.flush()
        elif arm:
            try:
                asyncio.get_running_loop().call_later(FLUSH_SECONDS, self._due, token)
            except RuntimeError:  # not on an event loop: nobody would fire the timer
                self.flush()

    def _due(self, token: object) -> None:
        """The oldest pending answer's time is up: commit, unless a flush came first (a timer armed
        before a full batch flushed would otherwise commit the next batch early: 1.6 × the commits)."""
        if self._timer is token:
            self.flush()

    def flush(self) -> None:
        """Commit every answer not yet committed, in one transaction."""
        with self._lock:  # a timer armed before this flush then does nothing (_due)
            rows, self._pending, self._timer = list(self._pending.values()), {}, None
        if rows:
            self._insert(rows)

    def _insert(self, rows: list[tuple]) -> None:
        """Store `rows` (see _row) in one transaction, replacing a call stored before."""
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany("INSERT OR REPLACE INTO calls VALUES (?, ?, ?, ?, ?)", rows)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def checkpoint(self) -> None:
        """Commit what is pending and copy the WAL into `cache.sqlite`, which alone is then whole.

        Another process in the middle of a transaction on the same file is not waited for (the
        file is then whole as of an earlier commit, and its own run's end checkpoints again)."""
        self._ahead.clear()  # what a run read ahead and never used could be stale by the next one
        self.flush()
        if self.mode != "off" and self._recorded is None:
            sqlite.checkpoint(self._db())

    def __len__(self) -> int:
        if self.mode == "off":
            return 0
        if self._recorded is not None:
            return len(self._recorded)
        self.flush()
        return self._db().execute("SELECT count(*) FROM calls").fetchone()[0]

    def export(self, path: str | Path) -> int:
        """Write every stored call as one JSONL line (oldest first), readable in a code review."""
        self.flush()
        if self._recorded is not None:
            rows = [row[1:4] for row in sorted(self._recorded.values(), key=lambda r: (r[4], r[0]))]
        else:
            rows = self._db().execute("SELECT model, request, response FROM calls ORDER BY created, key")
        n = 0
        with open(path, "w", encoding="utf-8") as f:
            for model, request, response in rows:
                req = json.loads(request)
                f.write(json.dumps({"model": model, "messages": req["messages"], "params": req["params"],
                                    "response": json.loads(response)}, ensure_ascii=False) + "\n")
                n += 1
        return n

    def load(self, path: str | Path) -> int:
        """Import recordings written by `export` (keys are recomputed from the content): into the
        file, or, in replay mode, as the answers replay gives."""
        rows, start = [], time.time()
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                    model, messages, params = rec["model"], rec["messages"], rec["params"]
                    response = rec["response"]
                except (ValueError, KeyError) as e:
                    raise ValueError(f"{path}, line {lineno}: not a recording ({e}); "
                                     "each line needs model, messages, params and response") from None
                rows.append(_row(call_key(model, messages, params), model, messages, params, response,
                                 start + len(rows) * 1e-6))
        if self.mode == "replay":
            if self._recorded is None:
                self._recorded = {}
            self._recorded.update((row[0], row) for row in rows)
            return len(rows)
        self._insert(rows)
        return len(rows)

    def close(self) -> None:
        """Commit, checkpoint, and close this thread's connection (the cache reopens on next use).
        A folder deleted since (a temp folder) with nothing pending has nothing to keep."""
        if self._pending or self.path.exists():
            self.checkpoint()
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None


def _row(key: str, model: str, messages: list[dict], params: dict, response: dict, created: float) -> tuple:
    """One `calls` row, as put() and load() both store it."""
    return (key, model, _TEXT({"messages": messages, "params": params}), _TEXT(response), created)


_open: weakref.WeakSet[Cache] = weakref.WeakSet()  # this process's caches, for reading()


class _Reader:
    """Reads a stored call from each of `caches` in turn (see reading)."""

    def __init__(self, caches: list[Cache]):
        self.caches = caches

    def stored(self, key: str) -> dict | None:
        return next((got for c in self.caches if (got := c.stored(key)) is not None), None)


def reading(path: str | Path) -> _Reader | None:
    """The cache file at `path` to read from: every Cache this process has open on it (one holds
    answers not committed yet, a replaying one its recording in memory, and a folder may have both),
    then the file itself; None when there is neither."""
    path = Path(path)
    caches = [c for c in list(_open) if c.path == path and c.mode != "off"]
    if path.exists() and all(c._recorded is not None for c in caches):  # none of them reads the file
        caches.append(Cache(path, "replay"))
    return _Reader(caches) if caches else None
