"""The spending cap on a real HTTP server: held requests, counted at the server, no timers."""

from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest

import toolkit as tk
from tests.loopback import LoopbackServer
from toolkit.llm import token_prices

# 10 words of 3 letters: 39 characters, so each call reserves 39 // 4 = 9 prompt tokens + 10 for
# the answer = 19; the server reports 10 + 10 = 20. One token per call beyond its reservation:
# the cap may be passed by at most one token per call in flight, and no room ever opens up again,
# so exactly CAP_CALLS calls are sent whatever the timing.
PROMPT = "params: {max_tokens: 10}\nmessages:\n  - user: \"{text}\"\n"
TEXT = " ".join(["abc"] * 10)
CAP_CALLS, ROWS = 30, 100


def ten_words(body):
    return " ".join(["ok"] * 10)


@pytest.fixture
def frame():
    return pd.DataFrame({"chunk_id": [f"c{i}" for i in range(ROWS)], "text": [f"{TEXT}"] * ROWS})


def run_held(srv, step, frame, sent):
    """Run the step with every request held at the server until `sent` have arrived (all in flight)."""
    srv.hold(from_index=0)
    with ThreadPoolExecutor(1) as pool:
        job = pool.submit(step.run, frame)
        srv.wait_for(sent)
        in_flight = srv.held
        srv.release()
        return job.result(), in_flight


@pytest.mark.parametrize("cap", ["tokens", "cost"])
def test_cap_holds_under_64_concurrent_calls_and_rerun_sends_only_capped_rows(cap, loopback_llm, prompt_file, frame):
    frame = frame.assign(text=[f"{TEXT} {i:03d}"[4:] for i in range(ROWS)])  # distinct rows, same size
    rates = token_prices("openai/gpt-4o-mini")
    assert rates is not None
    per_call = rates[0] * 9 + rates[1] * 10  # what each call reserves
    caps = ({"max_tokens_total": 19 * CAP_CALLS} if cap == "tokens"
            else {"max_cost": per_call * (CAP_CALLS + 0.5)})
    with LoopbackServer(latency=0.0, reply=ten_words) as srv:
        llm = loopback_llm(srv, model="openai/gpt-4o-mini", max_concurrent=64, **caps)
        step = tk.Step("gen", prompt_file(PROMPT), llm)
        out, in_flight = run_held(srv, step, frame, CAP_CALLS)
        assert in_flight == CAP_CALLS  # all were in flight at once
        assert srv.count == CAP_CALLS
        assert (out["gen.status"] == "ok").sum() == CAP_CALLS
        failed = out[out["gen.status"] == "failed"]
        assert len(failed) == ROWS - CAP_CALLS
        assert failed["gen.error"].str.startswith("budget: budget reached").all()
        assert llm.usage.refused == ROWS - CAP_CALLS and llm.usage.calls == CAP_CALLS
        b = llm.budget
        assert b.reserved_tokens == 0 and abs(b.reserved_cost) < 1e-12  # every hold settled
        if cap == "tokens":
            assert b.spent_tokens == 20 * CAP_CALLS <= b.max_tokens_total + in_flight
        else:
            assert b.spent_cost == pytest.approx((rates[0] + rates[1]) * 10 * CAP_CALLS)
            assert b.spent_cost <= b.max_cost + in_flight * rates[0]  # 1 prompt token over, per call
        f = tk.funnel(out)
        assert f.counts()["gen: budget"] == ROWS - CAP_CALLS

        # a rerun with a higher cap sends only the rows the cap stopped; cached answers are free
        more = {k: v * 10 for k, v in caps.items()}
        llm2 = loopback_llm(srv, model="openai/gpt-4o-mini", max_concurrent=64, **more)
        again = tk.Step("gen", prompt_file(PROMPT), llm2).run(frame)
        assert srv.count == ROWS
        assert (again["gen.status"] == "ok").all()
        assert llm2.budget.spent_tokens == 20 * (ROWS - CAP_CALLS)


def test_cost_cap_with_unknown_price_is_refused_at_once(loopback_llm, server):
    with pytest.raises(ValueError, match="max_cost= needs the price of 'openai/loopback'.*max_tokens_total="):
        loopback_llm(server, max_cost=1.0)
    assert loopback_llm(server, max_tokens_total=100).budget.capped  # a token cap needs no price
    assert server.count == 0


def test_project_says_when_a_full_run_would_pass_the_cap(loopback_llm, prompt_file, frame):
    with LoopbackServer(latency=0.0, reply=ten_words) as srv:
        llm = loopback_llm(srv, model="openai/gpt-4o-mini", max_tokens_total=1000)
        out = tk.Step("gen", prompt_file(PROMPT), llm).run(frame.head(5))
    assert (out["gen.status"] == "ok").all()
    assert tk.estimate(out, 10)["over_cap"] is None  # 10 rows × 20 tokens: within 1000
    said = tk.estimate(out, 1000)["over_cap"]
    assert "max_tokens_total=1000 (projected 20000)" in said and "budget reached" in said


@pytest.mark.parametrize("route", ["litellm", "fleet"])
def test_cap_holds_through_litellm_and_across_a_fleet(route, loopback_llm, prompt_file, frame):
    frame = frame.head(20).assign(text=[f"{TEXT} {i:03d}"[4:] for i in range(20)])
    with LoopbackServer(latency=0.0, reply=ten_words) as a, LoopbackServer(latency=0.0, reply=ten_words) as b:
        if route == "litellm":  # litellm prices the answer itself; the reservation uses its price map
            rates = token_prices("openai/gpt-4o-mini")
            per_call = rates[0] * 9 + rates[1] * 10
            llm = loopback_llm(a, model="openai/gpt-4o-mini", transport="litellm", max_cost=per_call * 6.5)
        else:
            llm = loopback_llm([a, b], model="openai/gpt-4o-mini", max_tokens_total=19 * 6)
        out = tk.Step("gen", prompt_file(PROMPT), llm).run(frame)
        assert a.count + b.count == 6 == (out["gen.status"] == "ok").sum()
        assert out.loc[out["gen.status"] != "ok", "gen.error"].str.contains("budget reached").all()
