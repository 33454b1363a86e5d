"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests and benchmarks.

Why a real server rather than mocks: throttling, retries, Retry-After, timeouts and
cache modes only show their true behaviour over real sockets. The server adds
controllable latency and scripted faults, and counts every request it receives so
tests can assert on what actually reached the "provider".

    with LoopbackServer(latency=0.05, faults=[None, Fault("429", retry_after=1)]) as srv:
        client = openai.OpenAI(base_url=srv.url, api_key="x")
        ...
        assert srv.counts_by_fault() == {"ok": 2, "429": 1}

Tests that interrupt or kill a client mid-run never race a timer: ``hold(from_index=n)`` makes
every request from index n on wait at a gate, ``wait_for(n)`` blocks until n requests have
arrived (held ones included), and ``release()`` opens the gate:

    srv.hold(from_index=40)            # the first 40 are answered, the rest wait
    ...start the client...
    srv.wait_for(40 + 4)               # 40 answered + 4 in flight, held: the client is stuck
    proc.send_signal(signal.SIGINT)    # interrupted mid-run, whatever the machine's load
    srv.release()

A server that spends what it is allowed to: ``default_max_tokens=4096`` cuts an answer that names no
max_tokens at 4,096 tokens (as many servers do) instead of sending it whole; with ``reply=long_reply``
every answer is that long. Fault "overspend" ignores the request's max_tokens (a quirk: the
server then reports more completion tokens than were allowed).

Several answers a request (``n``): ``LoopbackServer(n="honour")`` answers a request for n with n
choices (each from its own ``reply(body)`` call: a reply that counts or draws gives n different
answers), as OpenAI and vLLM do; the default ``n="ignore"`` sends one choice whatever n says
(llama-cpp-python's and ollama's servers), and ``n="refuse"`` answers n > 1 with HTTP 400 (llama.cpp's
llama-server: "Only one completion choice is allowed"). Usage counts the prompt once and every choice.

Script mode (for subprocess tests): ``python -m tests.loopback --port 0 --latency 0.05``
prints the base URL as its first stdout line and serves until killed; ``--host`` binds another
address (a test host in a network namespace), ``--log FILE`` appends each chat request's headers
as a JSON line.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import dataclasses
import json
import re
import signal
import socket
import sys
import threading
import time
import uuid
from typing import Callable

from aiohttp import web

KINDS = ("429", "500", "503", "hang", "malformed", "empty", "length", "drop", "think", "overspend")
N_MODES = ("honour", "ignore", "refuse")  # what the server does with a request's n


@dataclasses.dataclass(frozen=True)
class Fault:
    """What to do wrong for one request (see KINDS)."""

    kind: str
    retry_after: float | None = None  # "429": value of the Retry-After header
    seconds: float | None = None  # "hang": delay before the normal answer (default 30)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {KINDS}")


def _text(content) -> str:
    """Message content as text: a string, or the text parts of a multimodal list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def echo_reply(body: dict) -> str:
    """Default reply: deterministic, so cache tests can compare outputs."""
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    return "echo: " + (_text(users[-1].get("content")) if users else "")


def long_reply(body: dict) -> str:
    """An answer that goes on for 10,000 tokens (one word each) unless it is cut off."""
    return " ".join(["word"] * 10_000)


class ThreadedApp:
    """An aiohttp app on 127.0.0.1, served by its own event loop in a daemon thread: the lifecycle
    every test server shares. A subclass builds its app in make_app(); once start() returns, `url`
    is http://127.0.0.1:<port><url_path>."""

    url_path = "/v1"
    host = "127.0.0.1"
    port = 0  # 0: any free port
    runner_options: dict = {}  # for web.AppRunner, e.g. handler_cancellation
    _thread: threading.Thread | None = None

    def make_app(self) -> web.Application:
        raise NotImplementedError

    @contextlib.asynccontextmanager
    async def serving(self):
        """What lives as long as the server besides its app (e.g. a client session)."""
        yield

    def start(self):
        ready = threading.Event()
        errors: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, args=(ready, errors), name=type(self).__name__,
                                        daemon=True)
        self._thread.start()
        ready.wait()
        if errors:
            self._thread.join()
            self._thread = None
            raise errors[0]
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join()
        self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _run(self, ready: threading.Event, errors: list) -> None:
        """Thread body; asyncio.run cancels leftover tasks and closes the loop on exit."""
        async def main():
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            runner = web.AppRunner(self.make_app(), access_log=None, **self.runner_options)
            try:
                await runner.setup()
                await web.TCPSite(runner, self.host, self.port, backlog=1024).start()
                self.port = runner.addresses[0][1]
                self.url = f"http://{self.host}:{self.port}{self.url_path}"
                async with self.serving():
                    ready.set()
                    await self._stop.wait()
            finally:
                await runner.cleanup()

        try:
            asyncio.run(main())
        except BaseException as e:  # e.g. port in use: re-raised by start()
            errors.append(e)
        finally:
            ready.set()


class LoopbackServer(ThreadedApp):
    """aiohttp app in a daemon thread with its own event loop; see the module docstring."""

    log: str | None = None  # script mode's --log

    def __init__(self, latency: float = 0.05, reply: Callable[[dict], str] | None = None,
                 faults=None, max_concurrent: int | None = None, port: int = 0, n: str = "ignore",
                 default_max_tokens: int | None = None):
        if n not in N_MODES:
            raise ValueError(f"n={n!r}: one of {N_MODES}")
        self.latency, self.reply, self.faults, self.n = latency, reply or echo_reply, faults, n
        self.default_max_tokens = default_max_tokens  # the cut-off of an answer that names none
        self.max_concurrent, self.port = max_concurrent, port
        self.url: str | None = None
        self._lock = threading.RLock()  # reentrant: a faults callable may read srv.count
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._fail_all: Fault | None = None
        self._arrived = threading.Condition(self._lock)  # notified on every recorded request
        self._hold_from: int | None = None  # requests with index >= this wait for release()
        self._gate: asyncio.Event | None = None
        self.held = 0  # requests waiting at the gate right now
        self.reset()

    # ---- inspection (thread-safe) -------------------------------------------------
    def reset(self) -> None:
        """Forget recorded requests, peak and rejections; fault list indices restart at 0."""
        with self._lock:
            self._requests: list[dict] = []
            self._inflight = getattr(self, "_inflight", 0)  # requests still running keep counting
            self.peak_concurrency = self._inflight
            self.rejected = 0  # requests refused with 429 because max_concurrent was exceeded

    @property
    def requests(self) -> list[dict]:
        """Copy of the records: {"body", "headers", "time" (time.monotonic()), "fault"}."""
        with self._lock:
            return list(self._requests)

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._requests)

    def counts_by_fault(self) -> collections.Counter:
        """{"ok": n, "429": n, ...}; a Counter, so absent kinds read as 0."""
        with self._lock:
            return collections.Counter(r["fault"] or "ok" for r in self._requests)

    def fail_all(self, kind: str | Fault) -> None:
        """Apply one fault to every request (e.g. "drop" or "503" = dead endpoint) until heal()."""
        self._fail_all = kind if isinstance(kind, Fault) else Fault(kind)

    def heal(self) -> None:
        self._fail_all = None

    # ---- synchronisation for tests (no timers) ------------------------------------
    def hold(self, from_index: int = 0) -> None:
        """Requests with index >= from_index (counted since reset()) wait until release()."""
        with self._lock:
            self._hold_from, self._gate = from_index, asyncio.Event()

    def release(self) -> None:
        """Open the gate: held requests go on (latency, faults, answer), new ones are not held."""
        with self._lock:
            gate, self._hold_from, self._gate = self._gate, None, None
        if gate is not None and self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(gate.set)

    def wait_for(self, n: int, timeout: float = 120) -> None:
        """Block until at least n requests have arrived (held ones count). The timeout is only a
        guard against a hung test: reaching it is a failure, never the expected path."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self._requests) >= n, timeout):
                raise AssertionError(f"loopback: {len(self._requests)} request(s) arrived in "
                                     f"{timeout:g} s, the test waited for {n}")

    # ---- lifecycle ---------------------------------------------------------------
    # No access log (speed); cancel handlers whose client went away (hang + timeout); short
    # shutdown so stop() does not wait for hanging requests.
    runner_options = {"handler_cancellation": True, "shutdown_timeout": 0.2}

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        return app

    # ---- handlers ----------------------------------------------------------------
    def _pick_fault(self, index: int, body: dict) -> Fault | None:
        if self._fail_all is not None:
            return self._fail_all
        if callable(self.faults):
            f = self.faults(index, body)
        elif self.faults is not None and index < len(self.faults):
            f = self.faults[index]
        else:
            f = None
        return Fault(f) if isinstance(f, str) else f

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [
            {"id": "loopback", "object": "model", "created": 0, "owned_by": "loopback"}]})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        try:
            body = json.loads(await request.read())
        except ValueError:
            return _error(400, "request body is not valid JSON", "invalid_request_error")
        with self._lock:
            index = len(self._requests)
            fault = self._pick_fault(index, body)
            self._inflight += 1
            self.peak_concurrency = max(self.peak_concurrency, self._inflight)
            over = self.max_concurrent is not None and self._inflight > self.max_concurrent
            if over:
                self.rejected += 1
                fault = Fault("429")
            self._requests.append({"body": body, "headers": dict(request.headers),
                                   "time": time.monotonic(), "fault": fault and fault.kind})
            if self.log:
                with open(self.log, "a", encoding="utf-8") as f:
                    f.write(json.dumps({"headers": dict(request.headers)}) + "\n")
            held = not over and self._hold_from is not None and index >= self._hold_from
            gate = self._gate if held else None
            self.held += gate is not None
            self._arrived.notify_all()
        try:
            if gate is not None:
                try:
                    await gate.wait()
                finally:
                    with self._lock:
                        self.held -= 1
            if over:
                return _error(429, "loopback: max_concurrent exceeded", "rate_limit_exceeded")
            kind = fault.kind if fault else None
            hang = 30 if fault is None or fault.seconds is None else fault.seconds
            await asyncio.sleep(hang if kind == "hang" else self.latency)
            if kind == "drop":  # close the socket; aiohttp then quietly skips the response
                request.transport.close()
                return web.Response()
            return self._respond(body, kind, fault)
        finally:
            with self._lock:
                self._inflight -= 1

    def _respond(self, body: dict, kind: str | None, fault: Fault | None) -> web.StreamResponse:
        if kind == "429":
            headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            return _error(429, "loopback: rate limited", "rate_limit_exceeded", headers)
        if kind in ("500", "503"):
            return _error(int(kind), f"loopback: injected {kind}", "server_error")
        if kind == "malformed":
            return web.Response(text='{"id": "chatcmpl-broken", "choices": [', status=200,
                                content_type="application/json")
        n = body.get("n") or 1
        if n > 1 and self.n == "refuse":
            return _error(400, "Only one completion choice is allowed", "invalid_request_error")
        text = "<think>reasoning here</think>answer" if kind == "think" else self.reply(body)
        words = re.findall(r"\S+\s*", text)  # words with their trailing space: text survives
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        if limit is None or kind == "overspend":
            limit = self.default_max_tokens
        if kind == "length":
            limit = min(limit or len(words), max(1, len(words) // 2))
        truncated = limit is not None and len(words) > limit
        content = "" if kind == "empty" else "".join(words[:limit]).rstrip() if truncated else text
        prompt = sum(len(_text(m.get("content")).split()) for m in body.get("messages", []))
        completion = len(content.split())
        choices = [{"index": 0, "message": {"role": "assistant", "content": content},
                    "finish_reason": "length" if truncated or kind == "length" else "stop", "logprobs": None}]
        for index in range(1, n if self.n == "honour" else 1):  # the other answers: each its own reply
            more = re.findall(r"\S+\s*", self.reply(body))
            cut = limit is not None and len(more) > limit
            choices.append({"index": index, "finish_reason": "length" if cut else "stop", "logprobs": None,
                            "message": {"role": "assistant", "content": "".join(more[:limit]).rstrip()}})
            completion += len(choices[-1]["message"]["content"].split())
        return web.json_response({
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion",
            "created": int(time.time()), "model": body.get("model", "loopback"),
            "choices": choices,
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                      "total_tokens": prompt + completion}})


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now, for a server started as another process."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _error(status: int, message: str, type_: str, headers=None) -> web.Response:
    """OpenAI-shaped error body, so SDKs parse it into their own exception types."""
    return web.json_response({"error": {"message": message, "type": type_, "param": None,
                                        "code": str(status)}}, status=status, headers=headers)


def main(argv=None) -> None:
    """Serve until killed; the first stdout line is the base URL."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--max-concurrent", type=int, default=None)
    ap.add_argument("--fail-all", choices=KINDS, default=None, help="fault for every request")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--log", default=None, help="append each chat request's headers here (JSONL)")
    args = ap.parse_args(argv)
    srv = LoopbackServer(latency=args.latency, max_concurrent=args.max_concurrent, port=args.port)
    srv.host, srv.log = args.host, args.log
    if args.fail_all:
        srv.fail_all(args.fail_all)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    with srv:
        print(srv.url, flush=True)
        while not done.wait(3600):  # wake periodically so signals are handled promptly
            pass
    sys.exit(0)


if __name__ == "__main__":
    main()
