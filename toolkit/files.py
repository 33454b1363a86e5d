"""Writing a file so that a crash or an error never leaves half of it: temp file, fsync, rename.

The file gets the mode any file the user writes gets (0644 under the usual umask 022), not the
0600 a temp file is made with: a dataset is handed on, to a training box or another user.

But: the folder entry itself is not fsynced, so after a power cut the rename may be lost (the old
file is then still whole). Appends (the manifest) are not atomic this way; each is one line.
The umask is read once, when the toolkit is imported (reading it means setting it, which is not
safe while other threads create files); a later os.umask() in the same process is not seen.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

_UMASK = os.umask(0o022)
os.umask(_UMASK)
MODE = 0o666 & ~_UMASK  # what open() would give a new file


@contextmanager
def atomic_write(path: str | Path, mode: str = "w"):
    """Open a temp file beside `path`; on success it replaces `path`, on error it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
            f.flush()
            os.fchmod(f.fileno(), MODE)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
