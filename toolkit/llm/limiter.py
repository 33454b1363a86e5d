"""Client-side throttle: callers over a limit wait their turn instead of getting a 429.

litellm's Router answers an over-limit caller with an immediate RateLimitError; a notebook user wants
the opposite: queue the work, keep the provider within its limits, finish every row.

But: the limits are this process's own view. Two processes sharing one API key each keep their own
count, and the provider's real remaining quota (its rate-limit headers) is not read; a 429 that
still comes back is retried with backoff by the LLM (llm.py).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

RATE_PERIOD = 60.0  # requests/minute and tokens/minute are counted over a sliding minute


class Limiter:
    """Max concurrent requests, requests per minute and tokens per minute for one model or endpoint.

    Lives on the toolkit's event loop (see `loop.py`), so its asyncio primitives are never shared
    across loops.
    """

    def __init__(self, max_concurrent: int | None = None, rpm: int | None = None,
                 tpm: int | None = None):
        for name, value in (("max_concurrent", max_concurrent), ("rpm", rpm), ("tpm", tpm)):
            if value is not None and value < 1:
                raise ValueError(f"{name} must be a positive number or None (no limit), got {value}")
        self.max_concurrent, self.rpm, self.tpm = max_concurrent, rpm, tpm
        self._slots = asyncio.Semaphore(max_concurrent) if max_concurrent else None
        self._sent: deque[tuple[float, int]] = deque()  # (time, tokens) of requests in the window
        self._window_lock = asyncio.Lock()

    def _forget_old(self, now: float) -> None:
        while self._sent and self._sent[0][0] <= now - RATE_PERIOD:
            self._sent.popleft()

    async def _wait_for_window(self, tokens: int) -> None:
        """Block until one more request of `tokens` fits in the last minute's budget."""
        if not (self.rpm or self.tpm):
            return
        tokens = min(tokens, self.tpm) if self.tpm else tokens  # a huge call must still run eventually
        async with self._window_lock:  # FIFO: the first waiter is served first
            while True:
                now = time.monotonic()
                self._forget_old(now)
                used = sum(t for _, t in self._sent)
                if ((not self.rpm or len(self._sent) < self.rpm)
                        and (not self.tpm or used + tokens <= self.tpm)):
                    self._sent.append((now, tokens))
                    return
                await asyncio.sleep(max(0.001, self._sent[0][0] + RATE_PERIOD - now))

    def slot(self, tokens: int = 0) -> _Slot:
        """Hold one request slot for the duration of a call of `tokens` (tokens.estimate):
        `async with limiter.slot(tokens):`."""
        return _Slot(self, tokens)


class _Slot:
    """The slot's context manager, written out: a generator-based one costs more than the rest of
    an unthrottled call's bookkeeping."""

    __slots__ = ("limiter", "tokens")

    def __init__(self, limiter: Limiter, tokens: int):
        self.limiter, self.tokens = limiter, tokens

    async def __aenter__(self) -> None:
        limiter = self.limiter
        if limiter._slots:
            await limiter._slots.acquire()
        if limiter.rpm or limiter.tpm:
            try:
                await limiter._wait_for_window(self.tokens)
            except BaseException:
                if limiter._slots:
                    limiter._slots.release()
                raise

    async def __aexit__(self, *exc) -> None:
        if self.limiter._slots:
            self.limiter._slots.release()

