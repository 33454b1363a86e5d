"""The direct path's HTTP client (toolkit/llm/wire.py) against a server whose every byte a test
writes: the response forms real servers send (chunked, to the connection's end, gzip), connections
kept alive and dropped, a server that hangs, TLS with certificates checked, headers refused."""

import asyncio
import gzip
import json
import socket
import ssl
import threading

import pytest
import trustme

from toolkit.llm import wire
from toolkit.llm.transports import CallError, OpenAIHTTP

OK = b'{"ok": true}'


def sized(body: bytes = OK, extra: str = "") -> bytes:
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{extra}Content-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


class Scripted:
    """A server on 127.0.0.1 that answers the n-th request with `replies[n]`: bytes to write, or a
    function of the socket (to write in pieces, close, or hold). Counts connections; a thread each."""

    def __init__(self, replies, tls: ssl.SSLContext | None = None):
        self.replies, self.tls, self.connections, self.requests = list(replies), tls, 0, []
        self.release, self.closed = threading.Event(), threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.sock.getsockname()[1]}/v1/chat/completions"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            conn, _ = self.sock.accept()
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            if self.tls:
                conn = self.tls.wrap_socket(conn, server_side=True)
            data = b""
            while True:
                while b"\r\n\r\n" not in data:
                    more = conn.recv(65536)
                    if not more:
                        return
                    data += more
                head, _, data = data.partition(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length")))
                while len(data) < length:
                    data += conn.recv(65536)
                self.requests.append((head, data[:length]))
                data = data[length:]
                reply = self.replies.pop(0)
                if callable(reply):
                    if reply(conn, self) == "closed":
                        return
                else:
                    conn.sendall(reply)
        except (ssl.SSLError, OSError):
            return
        finally:
            conn.close()
            self.closed.set()


def post(url, headers=None, timeout=5.0, body=b'{"q": 1}'):
    return asyncio.run(wire.request("POST", url, body, headers or {"Content-Type": "application/json"}, timeout))


def posts(url, n, timeout=5.0):
    """n requests one after another on one event loop (so kept-alive connections can be reused)."""
    async def run():
        return [await wire.request("POST", url, b"{}", {}, timeout) for _ in range(n)]
    return asyncio.run(run())


def test_connections_are_kept_alive_and_the_request_is_what_was_given():
    srv = Scripted([sized(b'{"n": %d}' % i) for i in range(5)])
    out = posts(srv.url, 5)
    assert [json.loads(r.body)["n"] for r in out] == [0, 1, 2, 3, 4] and {r.status for r in out} == {200}
    assert srv.connections == 1  # one connection for five requests
    head, body = srv.requests[0]
    assert head.startswith(b"POST /v1/chat/completions HTTP/1.1\r\n") and b"\r\nHost: 127.0.0.1:" in head
    assert body == b"{}"


def test_a_chunked_response_is_read_whole_across_writes():
    def chunked(conn, _):
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"ok\"\r\n")
        conn.sendall(b"7\r\n: true}\r\n0\r\n\r\n")
    srv = Scripted([chunked, sized()])
    a, b = posts(srv.url, 2)
    assert a.body == OK and b.body == OK and srv.connections == 1


def test_a_body_that_ends_with_the_connection_is_read_and_the_next_request_connects_anew():
    def to_the_end(conn, _):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + OK)
        conn.shutdown(socket.SHUT_WR)
        return "closed"
    srv = Scripted([to_the_end, sized()])
    a, b = posts(srv.url, 2)
    assert a.body == OK and b.body == OK and srv.connections == 2


def test_gzip_and_deflate_bodies_are_undone():
    import zlib
    srv = Scripted([sized(gzip.compress(OK), "Content-Encoding: gzip\r\n"),
                    sized(zlib.compress(OK), "Content-Encoding: deflate\r\n")])
    assert [r.body for r in posts(srv.url, 2)] == [OK, OK]
    assert b"accept-encoding: gzip, deflate" in srv.requests[0][0].lower()


def test_connection_close_is_honoured():
    srv = Scripted([sized(OK, "Connection: close\r\n"), sized()])
    assert [r.body for r in posts(srv.url, 2)] == [OK, OK] and srv.connections == 2


def test_a_kept_alive_connection_the_server_closed_while_idle_is_not_used():
    """As uvicorn and llama-server do after their keep-alive seconds: close an idle connection."""
    def answer_then_close(conn, server):
        conn.sendall(sized())
        server.release.wait(10)  # the client has its answer
        return "closed"
    srv = Scripted([answer_then_close, sized()])

    async def run():
        first = await wire.request("POST", srv.url, b"{}", {}, 5)
        srv.release.set()
        conn = wire._idle[("http", "127.0.0.1", int(srv.url.split(":")[2].split("/")[0]))][-1]
        while conn.open:  # the loop reads the server's end of it (an event, not a timer)
            await asyncio.sleep(0.01)
        return first, await wire.request("POST", srv.url, b"{}", {}, 5)
    first, second = asyncio.run(run())
    assert first.body == OK and second.body == OK and srv.connections == 2


def test_a_response_cut_off_midway_is_an_error_and_its_connection_is_not_reused():
    def cut(conn, _):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"ok\": tr")
        return "closed"
    srv = Scripted([cut, sized()])

    async def run():
        with pytest.raises(ConnectionError, match="mid-response"):
            await wire.request("POST", srv.url, b"{}", {}, 5)
        return await wire.request("POST", srv.url, b"{}", {}, 5)
    assert asyncio.run(run()).body == OK and srv.connections == 2


def test_a_server_that_hangs_times_out_and_its_connection_is_dropped():
    def hang(conn, server):
        server.release.wait(30)
    srv = Scripted([hang, sized()])

    async def run():
        with pytest.raises(TimeoutError):
            await wire.request("POST", srv.url, b"{}", {}, 0.3)
        srv.release.set()
        assert await asyncio.to_thread(srv.closed.wait, 30)  # the client hung up on it
        return await wire.request("POST", srv.url, b"{}", {}, 5)
    assert asyncio.run(run()).body == OK and srv.connections == 2


def test_the_transport_reports_a_dropped_connection_and_a_refused_one_as_connection_errors():
    srv = Scripted([lambda conn, _: "closed"])
    http = OpenAIHTTP("openai/m", srv.url.rsplit("/chat/completions", 1)[0], None)
    with pytest.raises(CallError, match="closed the connection before answering") as e:
        asyncio.run(http.send("openai/m", [{"role": "user", "content": "hi"}], {}, 5))
    assert e.value.kind == "connection" and e.value.retryable
    free = socket.create_server(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()  # nothing listens there now
    http = OpenAIHTTP("openai/m", f"http://127.0.0.1:{port}/v1", None)
    with pytest.raises(CallError, match="ConnectionRefusedError") as e:
        asyncio.run(http.send("openai/m", [{"role": "user", "content": "hi"}], {}, 5))
    assert e.value.kind == "connection"


def test_a_redirect_is_not_followed_and_the_error_says_where_it_points():
    """The key must not travel to wherever a server points: the user moves api_base themselves."""
    srv = Scripted([b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://elsewhere.example/v1/chat/completions\r\n"
                    b"Content-Length: 0\r\n\r\n"])
    http = OpenAIHTTP("openai/m", srv.url.rsplit("/chat/completions", 1)[0], "sk-secret")
    with pytest.raises(CallError, match="redirect to 'http://elsewhere.example/v1/chat/completions'.*set api_base"):
        asyncio.run(http.send("openai/m", [{"role": "user", "content": "hi"}], {}, 5))
    assert srv.connections == 1 and len(srv.requests) == 1  # nothing sent on to the other host


def test_a_header_with_a_line_break_is_refused_before_anything_is_sent():
    srv = Scripted([sized()])
    with pytest.raises(ValueError, match="'Authorization'.*line break"):
        post(srv.url, {"Authorization": "Bearer sk-abc\r\nX-Evil: 1"})
    assert srv.connections == 0


@pytest.fixture
def ca():
    return trustme.CA()


def test_tls_checks_the_certificate(ca, tmp_path, monkeypatch):
    """An HTTPS server whose certificate no trusted authority signed is refused; trusted, it answers."""
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_tls)
    srv = Scripted([sized()] * 2, tls=server_tls)
    wire._tls.cache_clear()
    with pytest.raises(ssl.SSLCertVerificationError):
        post(srv.url)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))  # what create_default_context reads
    wire._tls.cache_clear()
    try:
        assert post(srv.url).body == OK
    finally:
        wire._tls.cache_clear()
