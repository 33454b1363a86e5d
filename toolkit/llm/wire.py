"""The direct path's HTTP client: kept-alive HTTP/1.1 connections to OpenAI-compatible servers.

    r = await wire.request("POST", "http://127.0.0.1:8080/v1/chat/completions", body, headers, 600)
    r.status, r.headers["retry-after"], json.loads(r.body)

Why not aiohttp: against a local server at 100 k rows the client's own CPU is what a row costs, and
aiohttp's request machinery (cookies, tracing, payload objects, multidicts, two timers a request)
took ≈ 0.19 ms of CPU per request here, a whole row's budget; this takes ≈ 0.09 (benchmarks/
bench_llm.py prints both). It does what the chat-completions protocol needs and no more: a request
with a body, a response read whole (by Content-Length, chunked, or to the connection's end; gzip
and deflate undone), connections kept alive per server, TLS with the system's certificates, one
timeout over the whole request. httptools (the parser uvicorn runs on) reads the responses.

A connection the server closed while it sat idle is closed here too when the loop reads its end,
before anyone takes it. One the server drops while a request is on it raises ConnectionError, and
the request is not sent again here: the server may have run it, so sending it again is the retry
logic's to decide and to count (llm.py), not a quiet second request.

But: no proxies (the aiohttp session before did not read them either), no redirects (a 3xx comes
back as it is, and the caller reports its status), no HTTP/2; connections live on one event loop
(the toolkit's: loop.py).
"""

from __future__ import annotations

import asyncio
import atexit
import ssl
import time
import zlib
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import urlsplit

import httptools

IDLE = 15.0  # seconds a connection may sit unused and still be taken (aiohttp's keep-alive default)
AGENT = "toolkit (python; OpenAI-compatible client)"  # some front ends refuse a request without one


class Response(NamedTuple):
    status: int
    headers: dict  # names lowercased
    body: bytes


_idle: dict[tuple, list[_Connection]] = {}  # (scheme, host, port) → connections free to take, newest last


async def request(method: str, url: str, body: bytes, headers: dict, timeout: float) -> Response:
    """Send one request and read its whole response. Raises TimeoutError past `timeout` seconds
    (connecting included) and OSError (ConnectionError and its kin) when the server cannot be
    reached or hangs up before the response is whole."""
    origin, head = _target(method, url, tuple(headers.items()))
    data = b"%s%d\r\n\r\n%s" % (head, len(body), body)
    async with asyncio.timeout(timeout):
        conn = await _connection(origin)
        response = await conn.send(data)
    if conn.keep:
        conn.since = time.monotonic()
        _idle.setdefault(origin, []).append(conn)
    else:
        conn.close()
    return response


@lru_cache(maxsize=64)
def _target(method: str, url: str, headers: tuple) -> tuple[tuple, bytes]:
    """(the server's (scheme, host, port), the request's head up to its Content-Length value)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http:// or https:// URL")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {path} HTTP/1.1", f"Host: {parts.netloc.rpartition('@')[2]}",
             f"User-Agent: {AGENT}", "Accept-Encoding: gzip, deflate"]
    for name, value in headers:
        if any(c in f"{name}{value}" for c in "\r\n"):
            raise ValueError(f"the HTTP header {name!r} holds a line break: remove it (a key pasted with its newline?)")
        lines.append(f"{name}: {value}")
    try:
        head = ("\r\n".join(lines) + "\r\nContent-Length: ").encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"a header for {url} holds a character HTTP headers cannot carry: "
                         "check the API key for stray characters") from None
    return (parts.scheme, parts.hostname, port), head


async def _connection(origin: tuple) -> _Connection:
    """A kept-alive connection to `origin`, else a new one."""
    idle, loop, now = _idle.get(origin), asyncio.get_running_loop(), time.monotonic()
    while idle:
        conn = idle.pop()
        if conn.loop is not loop:  # another loop's (a test's asyncio.run): not this one's to use or close
            continue
        if conn.open and now - conn.since < IDLE:
            return conn
        conn.close()
    scheme, host, port = origin
    _, conn = await loop.create_connection(lambda: _Connection(loop), host, port,
                                           ssl=_tls() if scheme == "https" else None)
    return conn


@lru_cache(maxsize=1)
def _tls() -> ssl.SSLContext:
    return ssl.create_default_context()


@atexit.register
def _close_all() -> None:
    """At exit: the idle connections closed on their loop (a loop already stopped just drops them)."""
    for conns in _idle.values():
        for conn in conns:
            if not conn.loop.is_closed():
                conn.loop.call_soon_threadsafe(conn.close)
    _idle.clear()


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection, one request at a time, its responses fed to httptools."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop, self.open, self.since, self.keep = loop, True, 0.0, False
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future | None = None
        self.parser = httptools.HttpResponseParser(self)

    async def send(self, data: bytes) -> Response:
        """Write one request and wait for its response (the connection is open: _connection took
        only an open one, and nothing ran on the loop since)."""
        self.headers, self.body, self.status, self.sized, self.answered = {}, [], 0, True, False
        self.waiter = self.loop.create_future()
        self.transport.write(data)
        try:
            return await self.waiter
        except BaseException:  # a timeout or a cancel mid-request: the connection is in no state to reuse
            self.close()
            raise

    def close(self) -> None:
        self.open = False
        if self.transport is not None:
            self.transport.close()

    # -- asyncio's calls -------------------------------------------------------------------------
    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.answered = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as e:
            self._fail(ConnectionError(f"the server's response is not HTTP/1.1 the client can read ({e})"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        if self.answered and not self.sized and self.status:  # a body that ends where the connection does
            self.keep = False
            self._answer()
        else:
            self._fail(ConnectionError("the server closed the connection " +
                                       ("mid-response" if self.answered else "before answering")
                                       + (f" ({exc})" if exc else "")))

    def _fail(self, error: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(error)
        self.close()

    # -- httptools' calls ------------------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.sized = "content-length" in self.headers or "chunked" in self.headers.get("transfer-encoding", "")

    def on_body(self, chunk: bytes) -> None:
        self.body.append(chunk)

    def on_message_complete(self) -> None:
        self.keep = self.parser.should_keep_alive() and self.open
        self._answer()

    def _answer(self) -> None:
        """The response read: to the request waiting for it, its body decompressed."""
        if self.waiter is None or self.waiter.done():
            return
        body = b"".join(self.body)
        if self.headers.get("content-encoding") in ("gzip", "deflate", "x-gzip"):
            try:  # 32 + 15: a gzip or a zlib header, told apart; else a bare deflate stream (-15)
                body = zlib.decompress(body, 47 if body[:1] in (b"\x1f", b"x") else -15)
            except zlib.error as e:
                return self._fail(ConnectionError(f"the server's {self.headers['content-encoding']} "
                                                  f"body does not decompress ({e})"))
        self.waiter.set_result(Response(self.status, self.headers, body))
