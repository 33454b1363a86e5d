"""Big runs: a bounded window of rows in flight, the cache's durability bound under SIGKILL, a start
without litellm, and frames of 0 and 1 rows. Every wait is on an event or a condition the server or
the cache reports, never a sleep raced against the code."""

import asyncio
import json
import signal
import sqlite3
import subprocess
import sys
import threading

import pandas as pd
import pytest

import toolkit as tk
from tests.loopback import LoopbackServer
from toolkit.llm import loop
from toolkit.llm.cache import FLUSH_ANSWERS
from toolkit.steps import ROWS_PER_SLOT


class HoldingServer(LoopbackServer):
    """Answers the first `answer` requests, then holds every later one until `release()`."""

    def __init__(self, answer: int = 0, **kw):
        super().__init__(**kw)
        self.answer, self.arrived, self.held = answer, 0, 0
        self._cond = threading.Condition()
        self._gate = asyncio.Event()  # bound to the server's loop on first wait

    async def _chat(self, request):
        with self._cond:
            self.arrived += 1
            hold = self.arrived > self.answer
            self.held += hold
            self._cond.notify_all()
        if hold:
            await self._gate.wait()
        return await super()._chat(request)

    def wait_held(self, n: int, timeout: float = 120) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: self.held >= n, timeout), f"only {self.held} held"

    def release(self) -> None:
        self._loop.call_soon_threadsafe(self._gate.set)


def in_thread(fn):
    result = {}
    thread = threading.Thread(target=lambda: result.update(value=fn()), daemon=True)
    thread.start()
    return thread, result


def stored(folder) -> set[str]:
    db = sqlite3.connect(folder / "cache.sqlite")
    try:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        return {json.loads(r)["messages"][-1]["content"] for (r,) in db.execute("SELECT request FROM calls")}
    finally:
        db.close()


def test_a_step_keeps_a_bounded_window_of_rows_in_flight(loopback_llm, prompt_file, rows):
    with HoldingServer(answer=0, latency=0) as srv:
        step = tk.Step("s", prompt_file(), loopback_llm(srv, max_concurrent=4))
        thread, result = in_thread(lambda: step.run(rows(3000)))
        srv.wait_held(4)

        async def tasks():  # this run's tasks (other tests may leave tasks on the shared loop)
            return [t.get_coro().__qualname__ for t in asyncio.all_tasks()
                    if t.get_coro().__qualname__.endswith("._run_rows.<locals>.worker")]
        live = asyncio.run_coroutine_threadsafe(tasks(), loop.loop()).result()
        assert len(live) == ROWS_PER_SLOT * 4  # a window of workers, not one task per row
        srv.release()
        thread.join(120)
    out = result["value"]
    assert len(out) == 3000 and (out["s.status"] == "ok").all() and (out["s"] == "echo: " + out["text"]).all()
    assert out.index.equals(pd.RangeIndex(3000)) and srv.peak_concurrency == 4


def test_the_cache_commits_within_the_time_bound_while_the_run_waits(folder, loopback_llm, prompt_file, rows):
    with HoldingServer(answer=5, latency=0) as srv:
        step = tk.Step("s", prompt_file(), loopback_llm(srv, max_concurrent=2))
        thread, _ = in_thread(lambda: step.run(rows(20)))
        srv.wait_held(2)  # 5 answered, fewer than FLUSH_ANSWERS: only the timer can commit them
        db = sqlite3.connect(folder / "cache.sqlite", timeout=30)
        deadline = threading.Event()
        for _ in range(600):  # a condition polled with a generous limit, not a race
            if db.execute("SELECT count(*) FROM calls").fetchone()[0] == 5:
                break
            deadline.wait(0.05)
        assert db.execute("SELECT count(*) FROM calls").fetchone()[0] == 5
        assert thread.is_alive() and srv.count == 5  # the run is still held: the timer committed them
        srv.release()
        thread.join(120)
        assert db.execute("SELECT count(*) FROM calls").fetchone()[0] == 20  # the end of a run flushes
        db.close()


KILLED = """
import sys, pandas as pd, toolkit as tk
llm = tk.LLM("openai/loopback", api_base=sys.argv[1], api_key="k", folder=sys.argv[2], max_concurrent=8)
tk.Step("s", sys.argv[3], llm).run(pd.DataFrame({"text": [f"kill {i}" for i in range(300)]}))
"""


def test_sigkill_loses_at_most_the_durability_window_and_the_rerun_resends_only_those(
        folder, loopback_llm, prompt_file):
    prompt = prompt_file()
    answered = 100  # not a multiple of FLUSH_ANSWERS: some answers wait for the timer at the kill
    with HoldingServer(answer=answered, latency=0) as srv:
        proc = subprocess.Popen([sys.executable, "-c", KILLED, srv.url, str(folder), str(prompt)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            srv.wait_held(8)  # every answer is in the client; the next 8 requests wait here
        finally:
            proc.send_signal(signal.SIGKILL)
            _, err = proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGKILL, err[-2000:]
        got = {r["body"]["messages"][-1]["content"] for r in srv.requests}
        assert len(got) == srv.count == answered
        kept = stored(folder)
        assert kept <= got and answered - len(kept) < FLUSH_ANSWERS

        srv.answer = 10**9
        srv.reset()
        out = tk.Step("s", prompt, loopback_llm(srv)).run(
            pd.DataFrame({"text": [f"kill {i}" for i in range(300)]}))
        resent = {r["body"]["messages"][-1]["content"] for r in srv.requests}
        assert (out["s.status"] == "ok").all() and (out["s"] == "echo: " + out["text"]).all()
        assert len(resent) == srv.count == 300 - len(kept) and resent.isdisjoint(kept)
        srv.release()


FAST = """
import gc, sys, pandas as pd, toolkit as tk
assert gc.get_freeze_count() > 0, "import garbage is not frozen"
llm = tk.LLM("openai/gpt-4o-mini", api_base=sys.argv[1], api_key="k", folder=sys.argv[2])
out = tk.Step("s", sys.argv[3], llm).run(pd.DataFrame({"text": ["a", "b"]}))
print(out["s.status"].tolist(), out.attrs["step"]["usage"]["cost"] > 0, "litellm" in sys.modules)
"""


def test_import_and_a_direct_http_step_never_import_litellm_yet_know_the_price(server, folder, prompt_file):
    proc = subprocess.run([sys.executable, "-c", FAST, server.url, str(folder), str(prompt_file())],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.splitlines()[-1] == "['ok', 'ok'] True False"


def test_the_bundled_prices_are_the_ones_litellm_reports():
    import litellm

    from toolkit.llm import token_prices
    for model in ("openai/gpt-4o-mini", "openai/gpt-4o", "gpt-4o-mini", "openai/loopback",
                  "hosted_vllm/qwen", "hosted_vllm/gpt-4o"):
        try:
            info = litellm.get_model_info(model)
            expected = (info["input_cost_per_token"] or 0.0, info["output_cost_per_token"] or 0.0)
        except Exception:
            expected = None
        assert token_prices(model) == expected, model


STATUS = ["status", "error", "attempts", "raw", "reasoning", "prompt_version", "call"]
PAIRS = '[{"question": "Q1", "answer": "A1"}, {"question": "Q2", "answer": "A2"}]'


@pytest.mark.parametrize("n", [0, 1])
def test_zero_and_one_row_frames_get_every_column(n, loopback_llm, prompt_file, rows):
    with LoopbackServer(latency=0, reply=lambda body: PAIRS) as srv:
        llm = loopback_llm(srv)
        prompt = prompt_file()
        plain = tk.Step("s", prompt, llm).run(rows(n))
        fan = tk.Step("qa", prompt, llm, parse="json").run(rows(n))
        fan_declared = tk.Step("qd", prompt, llm, parse="json", columns=["question", "answer"]).run(rows(n))
        pair = tk.Step("one", prompt, llm, parse=lambda t: json.loads(t)[0],
                       columns=["question", "answer"]).run(rows(n))
    base = ["chunk_id", "text"]
    assert list(plain.columns) == base + ["s"] + [f"s.{f}" for f in STATUS] and len(plain) == n
    assert list(pair.columns) == base + ["question", "answer"] + [f"one.{f}" for f in STATUS]
    assert pair["question"].tolist() == ["Q1"] * n and pair["one.status"].tolist() == ["ok"] * n
    if n == 0:  # nothing says the parser returns lists: the declared columns or `<step>`
        assert list(fan.columns) == base + ["qa"] + [f"qa.{f}" for f in STATUS] and fan.empty
        assert list(fan_declared.columns) == base + ["question", "answer"] + [f"qd.{f}" for f in STATUS]
    else:
        assert list(fan.columns) == base + ["question", "answer"] + [f"qa.{f}" for f in STATUS] + ["qa.item"]
        assert fan.index.tolist() == [0, 0] and fan["qa.item"].tolist() == [0, 1]
        assert fan["answer"].tolist() == ["A1", "A2"] and fan["chunk_id"].tolist() == ["c0", "c0"]


def test_a_rerun_on_its_own_output_replaces_its_columns_and_keeps_the_input(server, loopback_llm,
                                                                           prompt_file, rows):
    df = rows(3, score=[1, 2, 3]).set_index(pd.Index([10, 20, 30]))
    step = tk.Step("s", prompt_file(), loopback_llm(server))
    once = step.run(df)
    twice = step.run(once)
    assert list(twice.columns) == list(once.columns) and twice.index.tolist() == [10, 20, 30]
    assert twice["score"].dtype == df["score"].dtype and twice["s"].tolist() == once["s"].tolist()
    assert list(df.columns) == ["chunk_id", "text", "score"]  # the input frame is not touched
