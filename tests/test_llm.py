"""The LLM layer against a real loopback server: cache modes, retries, limits, transports."""

import asyncio
import sqlite3
import subprocess
import sys
import time

import pytest

import toolkit
from tests.loopback import Fault, LoopbackServer
from toolkit import LLM
from toolkit.llm import CacheMiss, Retry, transports
from toolkit.llm.cache import FLUSH_ANSWERS

SECRET = "sk-SENTINEL-do-not-store-0123456789"


def test_direct_transport_answers_and_counts(server, loopback_llm):
    llm = loopback_llm(server, api_key=SECRET)
    r = llm.complete("hello there", max_tokens=20)
    assert r.ok and r.text == "echo: hello there" and r.finish_reason == "stop"
    assert (r.prompt_tokens, r.completion_tokens, r.attempts, r.cached) == (2, 3, 1, False)
    assert server.count == 1
    assert server.requests[0]["body"]["model"] == "loopback"
    assert server.requests[0]["headers"]["Authorization"] == f"Bearer {SECRET}"
    assert llm.usage.as_dict()["calls"] == 1


def test_cache_use_does_not_resend_and_survives_a_new_object(server, loopback_llm):
    loopback_llm(server).complete("one", temperature=0)
    llm = loopback_llm(server)
    r = llm.complete("one", temperature=0)
    assert r.cached and r.text == "echo: one"
    assert server.count == 1
    assert llm.usage.cache_hits == 1 and llm.usage.calls == 0
    llm.complete("one", temperature=0.5)  # a sampling parameter is part of the key
    assert server.count == 2


def test_cache_key_ignores_keys_and_endpoints(server, folder, loopback_llm):
    loopback_llm(server, api_key=SECRET).complete("shared")
    with LoopbackServer(latency=0) as other:
        llm = LLM("openai/loopback", api_base=other.url, api_key="sk-other", folder=folder)
        assert llm.complete("shared").cached
        assert other.count == 0
    stored = b"".join(p.read_bytes() for p in folder.iterdir())
    assert SECRET.encode() not in stored and server.url.encode() not in stored


def test_connection_settings_are_refused_as_call_params(server, loopback_llm):
    with pytest.raises(ValueError, match="api_key belong to LLM"):
        loopback_llm(server).complete("x", api_key="sk-leak")
    assert server.count == 0


def test_replay_miss_names_the_caller_and_shows_the_message(server, loopback_llm):
    llm = loopback_llm(server, cache="replay")
    with pytest.raises(CacheMiss, match=r"replay mode.*First message: 'never recorded'"):
        llm.complete("never recorded")
    assert server.count == 0


def test_refresh_resends_and_off_neither_reads_nor_writes(server, folder, loopback_llm):
    loopback_llm(server).complete("a")
    assert not loopback_llm(server, cache="refresh").complete("a").cached
    assert server.count == 2
    off = loopback_llm(server, folder=folder / "off", cache="off")
    off.complete("b")
    off.complete("b")
    assert server.count == 4 and not (folder / "off" / "cache.sqlite").exists()


def test_recordings_round_trip_into_replay(server, tmp_path, loopback_llm):
    llm = loopback_llm(server, api_key=SECRET)
    llm.complete_many(["r1", "r2", "r3"], max_tokens=5)
    path = tmp_path / "rec.jsonl"
    assert llm.cache.export(path) == 3
    text = path.read_text()
    assert text.count("\n") == 3 and '"echo: r2"' in text and SECRET not in text
    replay = loopback_llm(server, folder=tmp_path / "fresh", cache="replay")
    assert replay.cache.load(path) == 3
    assert [c.text for c in replay.complete_many(["r1", "r2", "r3"], max_tokens=5)] == \
        ["echo: r1", "echo: r2", "echo: r3"]
    assert server.count == 3


def test_retry_after_is_honoured(server, loopback_llm):
    server.faults = [Fault("429", retry_after=1)]
    start = time.monotonic()
    r = loopback_llm(server).complete("patience")
    assert r.ok and r.attempts == 2
    times = [q["time"] for q in server.requests]
    assert times[1] - times[0] >= 0.95
    assert time.monotonic() - start >= 0.95


@pytest.mark.parametrize("kind", ["500", "503", "malformed", "drop"])
def test_transient_faults_are_retried(server, kind, loopback_llm):
    server.faults = [Fault(kind), Fault(kind)]
    llm = loopback_llm(server)
    r = llm.complete("retry me")
    assert r.ok and r.text == "echo: retry me" and r.attempts == 3
    assert server.count == 3 and llm.usage.retries == 2


def test_timeout_is_retried(server, loopback_llm):
    # The first request never answers (its handler is cancelled when the client gives up); the
    # timeout is long enough that the second, normal answer beats it on a loaded machine too.
    server.faults = [Fault("hang", seconds=600)]
    r = loopback_llm(server, timeout=5).complete("slow")
    assert r.ok and r.attempts == 2 and server.counts_by_fault() == {"hang": 1, "ok": 1}


def test_a_call_that_keeps_failing_returns_its_error(server, loopback_llm):
    server.fail_all("503")
    llm = loopback_llm(server, retry=Retry(max_attempts=3, base_delay=0.01))
    r = llm.complete("doomed")
    assert not r.ok and r.error_kind == "server" and r.attempts == 3
    assert "HTTP 503" in r.error and "after 3 attempt(s)" in r.error
    assert server.count == 3 and llm.usage.failures == 1
    assert len(llm.cache) == 0  # failures are not cached: the next run tries again


def test_retry_budget_stops_hammering_a_dead_server(server, loopback_llm):
    server.fail_all("500")
    llm = loopback_llm(server, retry=Retry(max_attempts=10, base_delay=0.001, budget=4))
    results = llm.complete_many([f"x{i}" for i in range(5)])
    assert all(not r.ok for r in results)
    assert llm.usage.retries == 4 and server.count == 5 + 4
    assert any("retry budget" in r.error for r in results)


def test_max_concurrent_holds_and_callers_wait_instead_of_429(loopback_llm):
    with LoopbackServer(latency=0.05, max_concurrent=4) as srv:
        results = loopback_llm(srv, max_concurrent=4).complete_many([f"c{i}" for i in range(24)])
        assert all(r.ok and r.attempts == 1 for r in results)
        assert srv.peak_concurrency == 4 and srv.rejected == 0


def test_rpm_and_tpm_spread_requests_over_the_window(server, folder, admissions, loopback_llm):
    loopback_llm(server, rpm=3).complete_many([f"m{i}" for i in range(7)])
    [times] = admissions.values()
    assert len(times) == 7 == server.count
    assert all(times[i + 3] - times[i] >= 1.0 for i in range(len(times) - 3))
    admissions.clear()
    # each call is estimated at len/4 + max_tokens = 100 tokens: 250 tpm allows two per window
    loopback_llm(server, folder=folder / "t", tpm=250).complete_many([f"t{i}" for i in range(5)], max_tokens=100)
    [times] = admissions.values()
    assert len(times) == 5
    assert all(times[i + 2] - times[i] >= 1.0 for i in range(len(times) - 2))


def test_think_tags_are_split_off(server, loopback_llm):
    server.faults = [Fault("think")]
    r = loopback_llm(server).complete("ponder")
    assert (r.text, r.reasoning) == ("answer", "reasoning here")
    assert loopback_llm(server).complete("ponder").reasoning == "reasoning here"  # cached with it


@pytest.mark.parametrize("text,fields,expected", [
    ("<think>plan</think>\n\nFINAL", (), ("FINAL", "plan")),
    ("plan</think>\n\nFINAL", (), ("FINAL", "plan")),            # template opened the tag
    ("FINAL", ("plan",), ("FINAL", "plan")),                      # reasoning_content / reasoning
    ("<think>b</think>FINAL", ("a",), ("FINAL", "a\nb")),
    ("<think>cut off mid-plan", (), ("<think>cut off mid-plan", "")),  # stays whole: refused as cut
    ("intro <think>x</think> y", (), ("intro <think>x</think> y", "")),  # not a leading block
    ("  FINAL", (None, ""), ("  FINAL", "")),
])
def test_split_reasoning_reads_every_form(text, fields, expected):
    assert transports.split_reasoning(text, *fields) == expected


def test_finish_trusts_a_reported_reason_and_counts_tokens_where_there_is_none():
    assert transports.finish("stop", 10, {"max_tokens": 10}) == "stop"
    assert transports.finish("stop", 10, {"max_tokens": 10}, reported=False) == "length"
    assert transports.finish(None, 10, {"max_completion_tokens": 10}) == "length"
    assert transports.finish(None, 9, {"max_tokens": 10}) is None
    assert transports.finish("stop", 10, {}, reported=False) == "stop"


def test_litellm_transport_shares_retries_and_cache(server, loopback_llm):
    server.faults = [Fault("429", retry_after=0.2)]
    llm = loopback_llm(server, transport="litellm")
    assert type(llm._transport).__name__ == "LiteLLM"
    r = llm.complete("via litellm", max_tokens=10)
    assert r.ok and r.text == "echo: via litellm" and r.attempts == 2
    assert loopback_llm(server).complete("via litellm", max_tokens=10).cached  # same key either way


def test_sync_api_works_inside_a_running_event_loop(server, loopback_llm):
    llm = loopback_llm(server)

    async def cell():  # what a Jupyter cell is: code running while a loop runs
        sync = llm.complete("from a loop")
        awaited = await llm.acomplete("awaited")
        return sync.text, awaited.text
    assert asyncio.run(cell()) == ("echo: from a loop", "echo: awaited")


def test_unknown_model_and_missing_key_fail_before_any_request(folder, monkeypatch):
    with pytest.raises(ValueError, match="unknown model 'nosuchprovider/x'"):
        LLM("nosuchprovider/x", folder=folder)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(ValueError, match="needs an API key: set ANTHROPIC_API_KEY"):
        LLM("anthropic/claude-3-5-haiku-latest", folder=folder)
    with pytest.raises(ValueError, match="unknown embedded model local/nope"):
        LLM("local/nope", folder=folder)


def test_embedded_model_answers_for_real(folder):
    llm = LLM(folder=folder)
    assert llm.model == toolkit.llm.DEFAULT_MODEL == "local/smollm2"
    r = llm.complete("What is the capital of France? Answer in one word.", max_tokens=6)
    assert r.ok and r.text.strip() and 0 < r.completion_tokens <= 6 and r.prompt_tokens > 10
    assert r.cost == 0.0
    again = LLM(folder=folder, cache="refresh").complete(
        "What is the capital of France? Answer in one word.", max_tokens=6)
    assert again.text == r.text  # temperature 0 by default seed: reproducible
    stopped = LLM(folder=folder).complete("Count: 1, 2, 3, 4, 5, 6, 7", max_tokens=30, stop=[","])
    assert "," not in stopped.text


def test_import_prints_no_network_warning():
    out = subprocess.run([sys.executable, "-c", "import toolkit, litellm; toolkit.LLM(folder='/tmp/x')"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stderr == "" and out.stdout == ""


WRITER = """
import sys, toolkit
llm = toolkit.LLM("openai/loopback", api_base=sys.argv[1], api_key="k", folder=sys.argv[2],
                  max_concurrent=16)
llm.complete_many([f"kill me {i}" for i in range(2000)])
"""


def test_cache_survives_sigkill_of_the_writer(tmp_path):
    # Event-driven: 400 calls answered, the next 16 (max_concurrent) held, then the kill: it lands
    # mid-run whatever the machine's load.
    with LoopbackServer(latency=0) as srv:
        srv.hold(from_index=400)
        proc = subprocess.Popen([sys.executable, "-c", WRITER, srv.url, str(tmp_path)])
        try:
            srv.wait_for(400 + 16)
            assert srv.held == 16
        finally:
            proc.kill()
            proc.wait()
            srv.release()
    db = sqlite3.connect(tmp_path / "cache.sqlite")
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    stored = db.execute("SELECT count(*) FROM calls").fetchone()[0]
    # every answered call but at most the durability window (cache.py), none of the held ones
    assert 400 - FLUSH_ANSWERS < stored <= 400
    assert LLM("openai/loopback", api_base="http://127.0.0.1:9/v1", folder=tmp_path,
               cache="replay").complete("kill me 0").cached


def test_a_registered_transport_is_used_without_editing_the_package(server, loopback_llm):
    from toolkit.llm import connect, register_transport

    class Tagged(transports.OpenAIHTTP):
        """A transport of one's own: the direct HTTP client, tagging every answer it brings."""

        async def send(self, model, messages, params, timeout):
            reply = await super().send(model, messages, params, timeout)
            reply.text = f"[tagged] {reply.text}"
            return reply

    register_transport("tagged", lambda model, api_base, api_key: Tagged(model, api_base, api_key))
    try:
        llm = loopback_llm(server, transport="tagged")
        r = llm.complete("mine", max_tokens=10)
        assert r.ok and r.text == "[tagged] echo: mine" and server.count == 1
        with pytest.raises(ValueError, match="'nope' is not one of auto, http, litellm, local, tagged"):
            loopback_llm(server, transport="nope")
    finally:
        del connect._registry["tagged"]
    with pytest.raises(ValueError, match="'auto' picks a transport"):
        register_transport("auto", Tagged)
