"""One background event loop that runs every model call, from a cell, a script or async code.

Jupyter already runs an event loop in the kernel's main thread, so `asyncio.run` fails there, and
patching the user's loop (nest_asyncio) changes the kernel for everything else. Instead the toolkit
owns one loop in a daemon thread: sync callers block on a future, async callers await it. HTTP
sessions, limiters and cache connections all live on that loop.

But: it is one loop for the whole process. A step's parser and validator run on it too, so a slow
one delays every call in flight; the embedded model runs in a worker thread (local_model.py) so a
long generation does not block it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any

_loop: asyncio.AbstractEventLoop | None = None
_lock = threading.Lock()


def loop() -> asyncio.AbstractEventLoop:
    """The toolkit's event loop, started on first use."""
    global _loop
    with _lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="toolkit-calls", daemon=True).start()
        return _loop


def run_sync(coro: Coroutine) -> Any:
    """Run a coroutine on the toolkit's loop and wait for it; Ctrl-C / kernel interrupt cancels it."""
    target = loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is target:
        coro.close()
        raise RuntimeError("run_sync was called from inside the toolkit's own loop; await the async API")
    future = asyncio.run_coroutine_threadsafe(coro, target)
    try:
        return future.result()
    except BaseException:  # KeyboardInterrupt included: stop the work, keep what finished (cached)
        future.cancel()
        raise


async def run_async(coro: Coroutine) -> Any:
    """Await a coroutine that runs on the toolkit's loop from any other loop (e.g. Jupyter's)."""
    target = loop()
    if asyncio.get_running_loop() is target:
        return await coro
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, target))
