"""A run folder's SQLite files (the LLM cache, the review store): opened in WAL mode, and whole
whenever nothing is in flight.

WAL lets readers and a writer, even in two processes, share a file, but keeps new commits in
`<file>-wal` until a checkpoint copies them into the file itself. A user copies or commits the
`.sqlite` file alone, so each owner calls `checkpoint` when its work ends (a run's end, close) and
`whole_at_exit` makes sure `close()` runs at interpreter exit for whatever is still open.

But: a checkpoint does not wait long for another process in the middle of a transaction on the
same file; the file is then whole as of an earlier commit, and that process's own end checkpoints
again.
"""

from __future__ import annotations

import atexit
import sqlite3
import sys
import time
import weakref
from pathlib import Path

BUSY_MS = 30_000  # how long a write waits for another process's transaction
CHECKPOINT_WAIT_MS = 200  # a checkpoint does not wait long for another process: it is redone later


def connect(path: str | Path, schema: str, **kwargs) -> sqlite3.Connection:
    """Open `path` in WAL mode with autocommit (each statement commits unless a BEGIN says so) and
    create `schema` (CREATE ... IF NOT EXISTS statements)."""
    db = sqlite3.connect(path, timeout=BUSY_MS / 1000, isolation_level=None, **kwargs)
    for attempt in range(100):
        try:  # switching a new file to WAL can be refused at once while another
            db.execute("PRAGMA journal_mode=WAL")  # process does the same: try again
            db.executescript(schema)
            break
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or attempt == 99:
                raise
            time.sleep(0.05)
    db.execute("PRAGMA synchronous=NORMAL")  # in WAL mode: durable against a killed process, fast
    return db


def checkpoint(db: sqlite3.Connection) -> bool:
    """Copy the WAL into the file itself and empty it (TRUNCATE); False when another process's
    transaction kept it from finishing within CHECKPOINT_WAIT_MS."""
    db.execute(f"PRAGMA busy_timeout={CHECKPOINT_WAIT_MS}")
    try:
        busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    except sqlite3.OperationalError as e:
        if "locked" not in str(e) and "busy" not in str(e):
            raise
        return False
    finally:
        db.execute(f"PRAGMA busy_timeout={BUSY_MS}")
    return not busy


_open: weakref.WeakSet = weakref.WeakSet()


def whole_at_exit(owner) -> None:
    """Call `owner.close()` at interpreter exit (a script's end, a kernel shut down) if it is still
    alive then; `owner.path` names its file in the message when that fails."""
    _open.add(owner)


@atexit.register
def _close_all() -> None:
    for owner in list(_open):
        try:
            owner.close()
        except sqlite3.Error as e:  # at exit nobody can act on it: say so, and let the others finish
            print(f"toolkit: could not commit {owner.path} at exit: {e}", file=sys.stderr)
