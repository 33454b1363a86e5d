"""Batch mode against a loopback batch service: submit → poll → collect → resume after a restart."""

import json
import subprocess
import sys
import time

import pandas as pd
import pytest

import toolkit as tk
from tests.batch_server import BatchServer
from tests.loopback import LoopbackServer
from toolkit.llm import BatchError

SECRET = "sk-SENTINEL-batch-0123456789"


@pytest.fixture
def service():
    with BatchServer(polls=3) as srv:
        yield srv


@pytest.fixture
def prompt(prompt_file):
    return prompt_file("params: {max_tokens: 50}\nmessages:\n  - user: 'Q: {text}'\n")


@pytest.fixture
def step(loopback_llm, prompt):
    """step(srv, model="openai/loopback", **kw): the qa step, on `srv`, with the sentinel key."""
    def make(srv, model="openai/loopback", **kw):
        llm = loopback_llm(srv, model, api_key=SECRET, retry=tk.llm.Retry(max_attempts=2, base_delay=0.01))
        return tk.Step("qa", prompt, llm, **kw)
    return make


def submitted(srv, n=-1) -> list[dict]:
    """The request lines of the n-th submitted batch, as the service received them."""
    batch = list(srv.batches.values())[n]["object"]
    return [json.loads(line) for line in srv.files[batch["input_file_id"]].splitlines()]


def test_submit_poll_collect_then_the_step_runs_from_the_cache(service, folder, prompt, capsys, loopback_llm, rows,
                                                              step):
    qa = step(service)
    out = tk.batch(qa, rows(50), poll_seconds=0.01)
    assert (out["qa.status"] == "ok").all()
    assert list(out["qa"]) == [f"echo: Q: row {i}" for i in range(50)]
    assert service.submissions == 1 and service.poll_count == 3 and service.live == 0
    lines = submitted(service)
    assert len(lines) == 50 and lines[0]["body"] == {
        "model": "loopback", "messages": [{"role": "user", "content": "Q: row 0"}], "max_tokens": 50}
    assert service.auth == {f"Bearer {SECRET}"}
    printed = capsys.readouterr().out
    assert "qa: batch batch-2 completed → 50 answered, 0 failed" in printed
    assert "50 cache hits" in printed
    state = json.loads((folder / "batches" / "qa.json").read_text())
    assert state["batch_id"] == "batch-2" and state["collected"] and state["status"] == "completed"
    assert sorted(state["keys"]) == sorted(line["custom_id"] for line in lines)
    assert qa.llm.usage.calls == 50 and qa.llm.usage.cache_hits == 50
    # what the batch stored is what a live call stores: a live server sees no request for these
    with LoopbackServer(latency=0) as live:
        again = tk.Step("qa", prompt, loopback_llm(live)).run(rows(50))
        assert live.count == 0 and again["qa"].equals(out["qa"])
    assert tk.batch(qa, rows(50), poll_seconds=0.01)["qa"].equals(out["qa"])
    assert service.submissions == 1  # nothing left to submit
    for path in folder.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes()


def test_only_uncached_and_distinct_requests_are_submitted(service, rows, step):
    qa = step(service)
    tk.batch(qa, rows(10), poll_seconds=0.01)
    df = pd.concat([rows(15), rows(15)], ignore_index=True)  # 5 new rows, each twice
    out = tk.batch(qa, df, poll_seconds=0.01)
    assert (out["qa.status"] == "ok").all() and len(out) == 30
    assert [line["body"]["messages"][0]["content"] for line in submitted(service)] == \
        [f"Q: row {i}" for i in range(10, 15)]


def test_failed_requests_keep_their_reason_and_are_sent_again_next_time(rows, step):
    bad = {"poison": True}
    with BatchServer(polls=2, fail=lambda b: "prompt too long" if bad["poison"] and "7" in str(
            b["messages"]) else None) as srv:
        qa = step(srv)
        out = tk.batch(qa, rows(20), poll_seconds=0.01)
        failed = out[out["qa.status"] == "failed"]
        assert list(failed["text"]) == ["row 7", "row 17"]
        assert failed["qa.error"].str.contains("batch: HTTP 400: prompt too long").all()
        assert srv.live == 0  # failed stays failed: no live call behind the user's back
        bad["poison"] = False
        out = tk.batch(qa, rows(20), poll_seconds=0.01)
        assert (out["qa.status"] == "ok").all()
        resent = [line["body"]["messages"][0]["content"] for line in submitted(srv)]
        assert resent == ["Q: row 7", "Q: row 17"]


def test_a_feedback_retry_is_a_live_call(service, rows, step):
    refused = set()
    def odd_once(value, row):  # refuses an odd row's first answer only
        if int(row["text"].split()[1]) % 2 and row["text"] not in refused:
            refused.add(row["text"])
            return "not even"
    out = tk.batch(step(service, validate=odd_once, max_retries=1), rows(6), poll_seconds=0.01)
    assert list(out["qa.attempts"]) == [1, 2] * 3
    assert service.submissions == 1 and service.live == 3  # the three retries went live, not in a batch
    # the service echoes the last user message, here the feedback: an answer a step refuses (steps.py)
    assert list(out["qa.status"]) == ["ok", "failed"] * 3
    assert out["qa.error"].dropna().str.startswith("the answer repeats the feedback it was sent (not even)").all()


def test_an_expired_batch_keeps_its_answers_and_names_the_rest(rows, step):
    with BatchServer(polls=2, finish="expired") as srv:
        out = tk.batch(step(srv), rows(10), poll_seconds=0.01)
        assert (out["qa.status"] == "ok").sum() == 5
        assert out["qa.error"].dropna().str.contains("the batch ended expired without answering it").all()


def test_a_batch_the_service_rejects_fails_every_row_with_its_reason(service, rows, step):
    out = tk.batch(step(service, model="openai/nosuch"), rows(4), poll_seconds=0.01)
    assert (out["qa.status"] == "failed").all()
    assert out["qa.error"].str.contains("ended failed without answering it: line 1: model 'nosuch' "
                                        "not found").all()


def test_modes_and_models_without_a_batch_api_are_refused(service, prompt, loopback_llm, rows):
    off = tk.Step("qa", prompt, loopback_llm(service, cache="off"))
    with pytest.raises(ValueError, match="cache='off' would not read them"):
        tk.batch(off, rows(2))
    fleet = loopback_llm([service])
    with pytest.raises(ValueError, match="is a fleet"):
        tk.batch(tk.Step("qa", prompt, fleet), rows(2))
    replay = tk.Step("qa", prompt, loopback_llm(service, cache="replay"))
    with pytest.raises(tk.llm.CacheMiss):
        tk.batch(replay, rows(2))
    assert service.submissions == 0 and service.poll_count == 0


def test_a_saved_batch_the_provider_does_not_know_is_reported_then_resubmitted(folder, rows, step):
    """Saved under another account (or deleted there): the provider answers 404 for its id."""
    state = folder / "batches" / "qa.json"
    with BatchServer(polls=2) as srv:
        qa = step(srv)
        state.parent.mkdir(parents=True)
        state.write_text(json.dumps({"batch_id": "batch-77", "input_file_id": "file-1",
                                     "model": "openai/loopback", "params": qa.params,
                                     "keys": ["k"], "status": "in_progress",
                                     "submitted": "2026-11-01T10:00:00", "collected": False}))
        with pytest.raises(BatchError, match=r"does not know the saved batch batch-77 .*HTTP 404.*"
                                             r"another key or account.*resubmit=True"):
            tk.batch(qa, rows(4), poll_seconds=0.01)
        assert srv.submissions == 0 and json.loads(state.read_text())["batch_id"] == "batch-77"
        with pytest.raises(BatchError, match="batch-77"):  # and again: never silently
            tk.batch(qa, rows(4), poll_seconds=0.01)
        out = tk.batch(qa, rows(4), poll_seconds=0.01, resubmit=True)
        assert (out["qa.status"] == "ok").all() and srv.submissions == 1
        assert json.loads((folder / "batches" / "qa.batch-77.abandoned.json").read_text())["keys"] == ["k"]
        assert json.loads(state.read_text())["batch_id"] != "batch-77"


def test_the_key_is_reachable_but_never_printed(service, step):
    llm = step(service).llm
    endpoint = llm.endpoint()
    assert endpoint.headers == {"Authorization": f"Bearer {SECRET}"} and endpoint.base == service.url
    assert endpoint.model == "loopback"
    assert SECRET not in repr(endpoint) and SECRET not in repr(llm)


CELL = """
import sys, pandas as pd, toolkit as tk
llm = tk.LLM("openai/loopback", api_base=sys.argv[1], api_key="k", folder=sys.argv[2])
qa = tk.Step("qa", sys.argv[3], llm)
tk.batch(qa, pd.DataFrame({"text": [f"row {i}" for i in range(40)]}), poll_seconds=0.05)
"""


def test_a_restarted_kernel_resumes_polling_instead_of_resubmitting(service, folder, prompt, loopback_llm, rows):
    service.hold = True  # the batch stays in progress while the first "kernel" polls it
    kernel = subprocess.Popen([sys.executable, "-c", CELL, service.url, str(folder), str(prompt)])
    try:
        # `hold` keeps the batch in progress, so this waits for a condition that must come true
        # (no race); the kernel's exit or the generous guard ends the wait if it does not.
        deadline = time.monotonic() + 600
        while service.poll_count < 3 and kernel.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert service.poll_count >= 3, "the first kernel never polled"
    finally:
        kernel.kill()
        kernel.wait()
    state = json.loads((folder / "batches" / "qa.json").read_text())
    assert not state["collected"] and len(state["keys"]) == 40
    service.hold = False
    out = tk.batch(tk.Step("qa", prompt, loopback_llm(service)), rows(40), poll_seconds=0.01)
    assert (out["qa.status"] == "ok").all()
    assert service.submissions == 1 and service.live == 0
    assert json.loads((folder / "batches" / "qa.json").read_text())["collected"]
