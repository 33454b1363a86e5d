"""Quick checks that the loopback server itself behaves, so other tests can trust it."""
import asyncio
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import aiohttp
import pytest

from tests.loopback import Fault, LoopbackServer

BODY = {"model": "m-1", "messages": [{"role": "system", "content": "be brief"},
                                     {"role": "user", "content": "hello there world"}]}


def post(srv, body=BODY, timeout=10):
    """POST with urllib; returns (status, headers, raw text) also for error statuses."""
    req = urllib.request.Request(srv.url + "/chat/completions", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json",
                                          "Authorization": "Bearer sk-test"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


async def burst(srv, n, body=BODY):
    """n simultaneous requests from one aiohttp session; returns their statuses."""
    async with aiohttp.ClientSession() as s:
        async def one():
            async with s.post(srv.url + "/chat/completions", json=body) as r:
                await r.read()
                return r.status
        return await asyncio.gather(*(one() for _ in range(n)))


def test_reply_shape_usage_and_latency():
    with LoopbackServer(latency=0.1) as srv:
        t = time.perf_counter()
        status, _, text = post(srv)
        assert time.perf_counter() - t >= 0.1
        out = json.loads(text)
        assert status == 200 and out["object"] == "chat.completion" and out["model"] == "m-1"
        assert out["choices"][0]["message"] == {"role": "assistant",
                                                "content": "echo: hello there world"}
        assert out["choices"][0]["finish_reason"] == "stop"
        assert out["usage"] == {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9}
        out = json.loads(post(srv, {**BODY, "max_tokens": 2})[2])
        assert out["choices"][0]["message"]["content"] == "echo: hello"
        assert out["choices"][0]["finish_reason"] == "length"
        rec = srv.requests[0]
        assert rec["body"] == BODY and rec["headers"]["Authorization"] == "Bearer sk-test"
        assert rec["fault"] is None and isinstance(rec["time"], float)


def test_custom_reply_and_models():
    with LoopbackServer(latency=0, reply=lambda body: "fixed answer") as srv:
        assert json.loads(post(srv)[2])["choices"][0]["message"]["content"] == "fixed answer"
        with urllib.request.urlopen(srv.url + "/models") as r:
            assert [m["id"] for m in json.load(r)["data"]] == ["loopback"]
        assert srv.count == 1  # /models is not counted


def test_fault_list_applies_by_index_and_counts():
    faults = [None, "500", Fault("429", retry_after=2), None, Fault("503"), "malformed",
              "empty", "length", "think"]
    with LoopbackServer(latency=0, faults=faults) as srv:
        results = [post(srv) for _ in range(len(faults) + 1)]
        assert [s for s, _, _ in results] == [200, 500, 429, 200, 503, 200, 200, 200, 200, 200]
        assert results[2][1]["Retry-After"] == "2"
        assert "Retry-After" not in results[1][1]
        assert "error" in json.loads(results[1][2])
        with pytest.raises(ValueError):
            json.loads(results[5][2])
        empty, length, think = (json.loads(r[2])["choices"][0] for r in results[6:9])
        assert empty["message"]["content"] == ""
        assert length["finish_reason"] == "length" and length["message"]["content"] == "echo: hello"
        assert think["message"]["content"] == "<think>reasoning here</think>answer"
        assert [r["fault"] for r in srv.requests][:3] == [None, "500", "429"]
        assert srv.counts_by_fault() == {"ok": 3, "500": 1, "429": 1, "503": 1, "malformed": 1,
                                         "empty": 1, "length": 1, "think": 1}
        assert srv.counts_by_fault()["drop"] == 0
        srv.reset()
        assert srv.count == 0 and post(srv)[0] == 200  # index 0 again: ok


def test_callable_faults_drop_and_fail_all():
    with LoopbackServer(latency=0, faults=lambda i, body: Fault("drop") if i == 1 else None) as srv:
        assert post(srv)[0] == 200
        with pytest.raises((ConnectionError, urllib.error.URLError, OSError)):
            post(srv)
        srv.fail_all("503")
        assert [post(srv)[0] for _ in range(3)] == [503, 503, 503]
        srv.heal()
        assert post(srv)[0] == 200
        assert srv.counts_by_fault() == {"ok": 2, "drop": 1, "503": 3}


def test_hang_holds_one_request_without_blocking_others():
    with LoopbackServer(latency=0, faults=[Fault("hang", seconds=600)]) as srv:
        async def main():
            hung = asyncio.create_task(burst(srv, 1))
            await asyncio.to_thread(srv.wait_for, 1)  # the hang has arrived: it has index 0
            assert await burst(srv, 5) == [200] * 5
            assert not hung.done()  # five answers came back while the hang still waits
            hung.cancel()  # the client gives up; the server cancels the handler
        asyncio.run(main())


def test_hang_triggers_client_timeout():
    with LoopbackServer(latency=0, faults=[Fault("hang", seconds=5)]) as srv:
        with pytest.raises((TimeoutError, urllib.error.URLError)):
            post(srv, timeout=0.3)
    # stop() returned promptly despite the hanging handler (the with-block exit)


async def held_burst(srv, n):
    """A burst of n whose requests wait at the server's gate until all n have arrived, so the
    measured concurrency does not depend on how fast the machine sends them."""
    srv.hold()
    task = asyncio.create_task(burst(srv, n))
    await asyncio.to_thread(srv.wait_for, n)
    srv.release()
    return await task


def test_peak_concurrency_measured():
    with LoopbackServer(latency=0) as srv:
        assert asyncio.run(held_burst(srv, 20)) == [200] * 20
        assert srv.peak_concurrency == 20 and srv.count == 20


def test_max_concurrent_rejects_extras_with_429():
    with LoopbackServer(latency=0, max_concurrent=5) as srv:
        statuses = asyncio.run(held_burst(srv, 20))
        assert sorted(statuses) == [200] * 5 + [429] * 15
        assert srv.rejected == 15 and srv.counts_by_fault() == {"ok": 5, "429": 15}
        assert srv.peak_concurrency > 5  # rejected requests count while in flight, so excess shows


def test_hold_release_and_wait_for():
    with LoopbackServer(latency=0) as srv:
        srv.hold(from_index=2)
        async def main():
            first = await burst(srv, 2)  # index 0 and 1: answered at once
            held = asyncio.create_task(burst(srv, 3))
            await asyncio.to_thread(srv.wait_for, 5)
            assert srv.held == 3 and not held.done()
            srv.release()
            return first, await held
        assert asyncio.run(main()) == ([200] * 2, [200] * 3)
        assert srv.held == 0 and post(srv)[0] == 200  # released: new requests are not held
        with pytest.raises(AssertionError, match="2 request"):
            srv.reset()
            post(srv), post(srv)
            srv.wait_for(3, timeout=0.1)


def test_script_mode_prints_url_and_serves():
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen([sys.executable, "-m", "tests.loopback", "--port", "0",
                             "--latency", "0.01"], cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        with urllib.request.urlopen(url + "/models", timeout=5) as r:
            assert r.status == 200
    finally:
        proc.terminate()
        proc.stdout.close()
        assert proc.wait(timeout=5) == 0


def test_reply_text_kept_verbatim_unless_truncated():
    text = '{\n  "q": "a b",\n  "a": "c"\n}'
    with LoopbackServer(latency=0, reply=lambda body: text) as srv:
        choice = json.loads(post(srv)[2])["choices"][0]
        assert choice["message"]["content"] == text and choice["finish_reason"] == "stop"
        choice = json.loads(post(srv, {**BODY, "max_tokens": 3})[2])["choices"][0]
        assert choice["message"]["content"] == '{\n  "q": "a' and choice["finish_reason"] == "length"
