"""llama-cpp-python's own OpenAI-compatible server, serving the embedded model's weights, behind a
counting proxy on 127.0.0.1: the direct HTTP path against a real model server, as users run it.

    with ModelServer() as srv:           # srv.url is the proxy's base URL: http://127.0.0.1:N/v1
        ...                              # srv.proxy.count, .peak, .requests: what reached the model
        srv.proxy.hold_after(2)          # requests after the first two wait for release()
        srv.proxy.wait_for(lambda p: p.answered == 2 and p.held)
        srv.kill(); srv.proxy.release(); srv.start()   # a server that died mid-run, restarted

Why a proxy rather than the server's log: the log does not say which calls were answered or how
many were in flight, and a test that kills the server "after N requests" must not race the client.
The proxy holds requests until the test releases them, so the kill lands at a known point. It
keeps its port when the server restarts (the restarted server gets a fresh free port), so the
pipeline's `api_base` stays the same, as it would behind a real gateway.
But: no streaming (the toolkit does not stream), and only chat completions are counted.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import aiohttp
from aiohttp import web

from tests.loopback import ThreadedApp, free_port
from toolkit.llm.local_model import weights_path

ALIAS = "smollm2"  # the server answers any model name; this one is what /v1/models shows


class CountingProxy(ThreadedApp):
    """Forwards /v1/* to `upstream`, records each chat request, can hold requests for the test."""

    def __init__(self):
        self.upstream: str | None = None  # http://127.0.0.1:PORT of the model server
        self.url: str | None = None
        self._cond = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.reset()

    # ---- what the test reads and controls (thread-safe) --------------------------------------
    def reset(self) -> None:
        """Forget the recorded requests and any hold."""
        with self._cond:
            self.requests: list[dict] = []  # {"body", "status"}: status None while in flight
            self.inflight = self.peak = self.held = 0
            self._hold_after: int | None = None
            self._released: asyncio.Event | None = None

    @property
    def count(self) -> int:
        with self._cond:
            return len(self.requests)

    @property
    def answered(self) -> int:
        """Requests the model server answered with 200."""
        with self._cond:
            return sum(r["status"] == 200 for r in self.requests)

    def bodies(self, status=200) -> list[str]:
        """Request bodies (canonical JSON) that ended with `status` (None: all of them)."""
        with self._cond:
            return [_canonical(r["body"]) for r in self.requests if status is None or r["status"] == status]

    def statuses(self) -> list:
        """How each request ended (200, another status, "dropped"; None: still in flight)."""
        with self._cond:
            return [r["status"] for r in self.requests]

    def hold_after(self, n: int) -> None:
        """Forward the first n chat requests; hold every later one until release()."""
        with self._cond:
            self._hold_after = n
            self._released = asyncio.Event()

    def release(self) -> None:
        with self._cond:
            released, self._hold_after = self._released, None
        if released is not None:
            self._loop.call_soon_threadsafe(released.set)

    def wait_for(self, predicate, timeout: float = 300) -> None:
        """Block until predicate(proxy) is true; it is re-checked whenever a request changes state."""
        with self._cond:
            if not self._cond.wait_for(lambda: predicate(self), timeout):
                raise TimeoutError(f"proxy state never matched: {self.count} requests, {self.answered} "
                                   f"answered, {self.held} held, {self.inflight} in flight")

    # ---- lifecycle ------------------------------------------------------------------------------
    runner_options = {"handler_cancellation": True, "shutdown_timeout": 0.2}

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/v1/{tail:.*}", self._forward)
        return app

    @contextlib.asynccontextmanager
    async def serving(self):
        # a fresh connection per request: a kept-alive one that the server closes as it idles
        # would fail a forward now and then, and the client would send that call again
        connector = aiohttp.TCPConnector(limit=0, force_close=True)
        async with aiohttp.ClientSession(connector=connector) as self._client:
            yield

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        chat = request.path.endswith("/chat/completions")
        record = {"body": json.loads(raw) if chat else None, "status": None}
        with self._cond:
            if chat:
                self.requests.append(record)
                self.inflight += 1
                self.peak = max(self.peak, self.inflight)
            hold = (chat and self._hold_after is not None and len(self.requests) > self._hold_after)
            released = self._released
            if hold:
                self.held += 1
            self._cond.notify_all()
        try:
            if hold:
                try:
                    await released.wait()
                finally:
                    with self._cond:
                        self.held -= 1
            headers = {k: v for k, v in request.headers.items()
                       if k.lower() in ("content-type", "authorization")}
            try:
                async with self._client.request(request.method, self.upstream + request.path_qs,
                                                data=raw, headers=headers) as r:
                    status, body, ctype = r.status, await r.read(), r.content_type
            except aiohttp.ClientError:  # the server is down: the client sees a dead connection
                record["status"] = "dropped"
                request.transport.close()
                return web.Response()
            record["status"] = status
            return web.Response(status=status, body=body, content_type=ctype)
        finally:
            with self._cond:
                if chat:
                    self.inflight -= 1
                self._cond.notify_all()


class ModelServer:
    """`python -m llama_cpp.server` on the embedded model, started, killed and restarted by tests."""

    def __init__(self, n_ctx: int = 2048, threads: int = 2):
        self.n_ctx, self.threads = n_ctx, threads
        self.proxy = CountingProxy()
        self.process: subprocess.Popen | None = None
        self.log = Path(tempfile.mkdtemp(prefix="model-server-")) / "server.log"

    @property
    def url(self) -> str:
        return self.proxy.url

    def start(self, timeout: float = 120) -> ModelServer:
        """Start the server on a fresh free port; return once it answers /v1/models."""
        if self.proxy.url is None:
            self.proxy.start()
        port = free_port()
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "llama_cpp.server", "--model", str(weights_path()),
                 "--model_alias", ALIAS, "--host", "127.0.0.1", "--port", str(port),
                 "--n_ctx", str(self.n_ctx), "--n_threads", str(self.threads), "--seed", "0",
                 "--verbose", "false"],
                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        upstream = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while not _answers(upstream + "/v1/models"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"llama_cpp.server did not start; its log ({self.log}):\n"
                                   + self.log.read_text(errors="replace")[-3000:])
            time.sleep(0.1)  # waiting for a condition, with a deadline: not a race
        self.proxy.upstream = upstream
        return self

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would: no graceful shutdown."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def __enter__(self) -> ModelServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.kill()
        self.proxy.stop()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def _canonical(body) -> str:
    return json.dumps(body, sort_keys=True)
