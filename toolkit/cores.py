"""Spread a long list's work over the machine's cores, for the signals that read every row.

    columns = spread(compare, pairs)   # what compare(pairs) returns, sooner on several cores

`fn` maps a list of items to a tuple of columns, each a list of one value per item, each value
depending on its item only (columns, not a tuple per item: the caller joins a worker's columns with
a list's extend, and a frame is built from columns anyway). Below `AT_LEAST` items, or on a
machine with one core, it is simply `fn(items)`.

The calling process works too: worker processes take chunks from the front while it takes them
from the end, so a worker that starts late (or a core that other jobs hold) costs only the chunks
it never got to, and a first call, while its workers start, goes about as fast as one process. The workers are loky's
(fork + exec, never a bare fork of the caller: forking a Jupyter kernel, which runs threads, can
leave the child waiting forever on a lock one of them held; and, unlike multiprocessing's spawn
and forkserver, loky does not run the caller's script again in each worker, so a script without
`if __name__ == "__main__":` is safe). A new worker imports the toolkit (≈ 3.5 s, while the caller
works alone); it stays for IDLE seconds after its last chunk, so the next large call finds it ready.
"""

from __future__ import annotations

import gc
import os
from contextlib import contextmanager
from itertools import chain

AT_LEAST = 20_000  # items below which one process does it all: a worker's start would not pay
CHUNK = 1_000  # items a worker takes at a time: small, so that no one waits long at the end
IDLE = 300  # seconds an idle worker is kept (≈ 180 MB each with the toolkit imported)


def spread(fn, items: list) -> tuple[list, ...]:
    """`fn(items)`, the work shared between this process and workers on the other cores. A chunk
    a worker failed on is done again here, so an error is raised where the caller can read it."""
    workers = pool() if len(items) >= AT_LEAST else None
    with paused_gc():
        return fn(items) if workers is None else _shared(fn, items, workers)


def _shared(fn, items: list, workers) -> tuple[list, ...]:
    """The chunks of `items`: the workers take them from the front, this process from the end."""
    chunks = [items[i:i + CHUNK] for i in range(0, len(items), CHUNK)]
    futures = [workers.submit(_quiet, fn, chunk) for chunk in chunks]
    out = [None] * len(chunks)
    try:
        ahead = len(chunks)  # chunks from here on are done here
        while ahead and futures[ahead - 1].cancel():  # no worker has taken it yet
            ahead -= 1
            out[ahead] = fn(chunks[ahead])
        # A worker holds the rest; if none has finished a chunk yet, it is still starting: do them here.
        started = any(f.done() for f in futures[:ahead])
        for i in range(ahead):
            try:
                out[i] = futures[i].result() if started else fn(chunks[i])
            except Exception:  # a worker that died, or fn's own error: raised here again if it is fn's
                out[i] = fn(chunks[i])
    finally:  # on an error here (or Ctrl-C), the workers drop what they have not started
        for f in futures:
            f.cancel()
    return tuple(list(chain.from_iterable(column)) for column in zip(*out))


@contextmanager
def paused_gc():
    """The cyclic garbage collector off for a while. The results, ≈ 10 lists and tuples a row that
    all live on, would each set off its collections, which scan them again and again: in the caller
    unpickling 100 k rows' results took 0.86 s CPU with it, 0.12 s without. Nothing made here is a
    cycle (reference counting frees it); the collector runs again as before when the block ends."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _quiet(fn, chunk: list) -> tuple[list, ...]:
    """`fn(chunk)` in a worker, the collector paused (see paused_gc)."""
    with paused_gc():
        return fn(chunk)


def pool():
    """loky's reusable pool of a worker per core but this one, started if need be; None on one core."""
    n = len(os.sched_getaffinity(0)) - 1 if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1) - 1
    if n < 1:
        return None
    from loky import get_reusable_executor  # imported on first use: a small call never needs it

    return get_reusable_executor(max_workers=n, timeout=IDLE)
