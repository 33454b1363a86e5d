"""The spending cap on a real HTTP server: held requests, counted at the server, no timers."""

from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest

import toolkit as tk
from tests.loopback import LoopbackServer, long_reply
from toolkit.llm import token_prices, tokens

# 10 words of 3 letters (plus a row number): each call holds its prompt's bound (tokens.py: one
# token per byte, plus the chat template's share) + 10 for the answer; the loopback server reports
# 10 + 10 = 20 tokens (it counts words). So CAP_CALLS calls fit at once, and as each settles to 20
# the room it held beyond that goes to the calls waiting for it; the run ends when the next call's
# hold cannot fit beside what was spent: exactly 1 + (cap - hold) // 20 calls, whatever the timing.
PROMPT = "params: {max_tokens: 10}\nmessages:\n  - user: \"{text}\"\n"
TEXT = " ".join(["abc"] * 10)
CAP_CALLS, ROWS = 10, 100
HOLD = tokens.prompt_tokens([{"role": "user", "content": TEXT}], at_most=True) + 10


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
def test_cap_holds_under_concurrent_calls_and_rerun_sends_only_capped_rows(cap, loopback_llm, prompt_file, frame):
    frame = frame.assign(text=[f"{TEXT} {i:03d}"[4:] for i in range(ROWS)])  # distinct rows, same size
    rates = token_prices("openai/gpt-4o-mini")
    assert rates is not None
    held, spent = rates[0] * (HOLD - 10) + rates[1] * 10, (rates[0] + rates[1]) * 10  # per call
    caps = ({"max_tokens_total": HOLD * CAP_CALLS} if cap == "tokens"
            else {"max_cost": held * (CAP_CALLS + 0.5)})
    sent = 1 + (int((caps["max_tokens_total"] - HOLD) // 20) if cap == "tokens"
                else int((caps["max_cost"] - held) / spent + 1e-9))
    assert CAP_CALLS < sent < ROWS
    with LoopbackServer(latency=0.0, reply=ten_words) as srv:
        llm = loopback_llm(srv, model="openai/gpt-4o-mini", max_concurrent=64, **caps)
        step = tk.Step("gen", prompt_file(PROMPT), llm)
        out, in_flight = run_held(srv, step, frame, CAP_CALLS)
        assert in_flight == CAP_CALLS  # all were in flight at once, the others waiting for room
        assert srv.count == sent
        assert (out["gen.status"] == "ok").sum() == sent
        failed = out[out["gen.status"] == "failed"]
        assert len(failed) == ROWS - sent
        assert failed["gen.error"].str.startswith("budget: budget reached").all()
        assert llm.usage.refused == ROWS - sent and llm.usage.calls == sent
        b = llm.budget
        assert b.reserved_tokens == 0 and abs(b.reserved_cost) < 1e-12  # every hold settled
        if cap == "tokens":
            assert b.spent_tokens == 20 * sent <= b.max_tokens_total
        else:
            assert b.spent_cost == pytest.approx(spent * sent) and b.spent_cost <= b.max_cost
        f = tk.funnel(out)
        assert f.counts()["gen: budget"] == ROWS - sent

        # a rerun with a higher cap sends only the rows the cap stopped; cached answers are free
        more = {k: v * 10 for k, v in caps.items()}
        llm2 = loopback_llm(srv, model="openai/gpt-4o-mini", max_concurrent=64, **more)
        again = tk.Step("gen", prompt_file(PROMPT), llm2).run(frame)
        assert srv.count == ROWS
        assert (again["gen.status"] == "ok").all()
        assert llm2.budget.spent_tokens == 20 * (ROWS - sent)


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
            held, spent = rates[0] * (HOLD - 10) + rates[1] * 10, (rates[0] + rates[1]) * 10
            llm = loopback_llm(a, model="openai/gpt-4o-mini", transport="litellm", max_cost=held * 1.5)
            sent = 1 + int((held * 1.5 - held) / spent + 1e-9)
        else:
            llm = loopback_llm([a, b], model="openai/gpt-4o-mini", max_tokens_total=HOLD * 2)
            sent = 1 + HOLD // 20
        out = tk.Step("gen", prompt_file(PROMPT), llm).run(frame)
        assert 1 < sent < 20
        assert a.count + b.count == sent == (out["gen.status"] == "ok").sum()
        assert out.loc[out["gen.status"] != "ok", "gen.error"].str.contains("budget reached").all()


# -- a server that spends what it is allowed to --------------------------------------------------

NO_LIMIT = "messages:\n  - user: \"{text}\"\n"  # the prompt names no max_tokens


def sent_limits(srv):
    return [r["body"].get("max_tokens") for r in srv.requests]


def test_a_server_that_spends_its_own_default_cannot_pass_a_token_cap(loopback_llm, prompt_file, frame):
    """The issue's case: 12 rows, max_tokens_total=300, a server that answers 4,096 tokens when the
    request names no max_tokens. Each request now names what is left of the budget."""
    with LoopbackServer(latency=0.0, reply=long_reply, default_max_tokens=4096) as srv:
        llm = loopback_llm(srv, max_tokens_total=300)
        out = tk.Step("gen", prompt_file(NO_LIMIT), llm).run(frame.head(12))
        assert srv.count >= 1 and None not in sent_limits(srv)
    assert llm.usage.prompt_tokens + llm.usage.completion_tokens == llm.budget.spent_tokens <= 300
    assert (out["gen.status"] == "failed").all()
    assert out["gen.error"].str.contains("max_tokens_total=300").all(), out["gen.error"].tolist()
    cut = out["gen.error"].str.contains("cut off")  # the answers the budget's max_tokens stopped
    assert cut.sum() == srv.count and out.loc[~cut, "gen.error"].str.contains("budget reached").all()


def test_a_cost_cap_holds_against_the_same_server(loopback_llm, prompt_file, frame):
    rates = token_prices("openai/gpt-4o-mini")
    cap = rates[1] * 300 + rates[0] * 200  # about one answer of 300 tokens
    with LoopbackServer(latency=0.0, reply=long_reply, default_max_tokens=4096) as srv:
        llm = loopback_llm(srv, model="openai/gpt-4o-mini", max_cost=cap)
        out = tk.Step("gen", prompt_file(NO_LIMIT), llm).run(frame.head(12))
        assert srv.count >= 1 and None not in sent_limits(srv)
    assert llm.usage.cost == pytest.approx(llm.budget.spent_cost) and llm.budget.spent_cost <= cap
    assert out["gen.error"].str.contains(f"max_cost=${cap:g}", regex=False).all()


def test_unused_budget_goes_to_the_next_rows_and_a_rerun_sends_only_the_rows_the_cap_stopped(
        loopback_llm, prompt_file, frame):
    rows = frame.head(12).assign(text=[f"{TEXT} {i:03d}"[4:] for i in range(12)])
    with LoopbackServer(latency=0.0, reply=ten_words, default_max_tokens=4096) as srv:
        llm = loopback_llm(srv, max_tokens_total=300)
        out = tk.Step("gen", prompt_file(NO_LIMIT), llm).run(rows)
        ok = out["gen.status"] == "ok"
        cut = out["gen.error"].str.contains("cut off at max_tokens=", na=False)  # what was left was too little
        assert 1 < ok.sum() < 12 and cut.sum() <= 1 and srv.count == ok.sum() + cut.sum()
        assert llm.budget.spent_tokens <= 300 and llm.budget.spent_tokens >= 20 * ok.sum()
        assert out.loc[~ok & ~cut, "gen.error"].str.contains("budget reached.*max_tokens_total=300").all()

        first = srv.count
        again = tk.Step("gen", prompt_file(NO_LIMIT), loopback_llm(srv, max_tokens_total=10_000)).run(rows)
        assert (again["gen.status"] == "ok").all()
        assert srv.count == first + (~ok).sum()  # only the rows the cap stopped were sent again


def test_without_max_tokens_the_model_output_limit_bounds_what_is_sent(loopback_llm, prompt_file, frame):
    from toolkit.llm.transports import output_limit

    assert output_limit("openai/gpt-4o-mini") == 16384  # litellm's price map
    with LoopbackServer(latency=0.0, reply=ten_words) as srv:
        llm = loopback_llm(srv, model="openai/gpt-4o-mini", max_tokens_total=10_000_000)
        tk.Step("gen", prompt_file(NO_LIMIT), llm).run(frame.head(3))
        assert sent_limits(srv) == [16384] * 3


def test_without_a_cap_nothing_is_added_and_the_cache_key_is_the_same(loopback_llm, prompt_file, frame, folder):
    rows = frame.head(4).assign(text=[f"row {i}" for i in range(4)])
    with LoopbackServer(latency=0.0, reply=ten_words) as srv:
        capped = loopback_llm(srv, max_tokens_total=100_000)
        tk.Step("gen", prompt_file(NO_LIMIT), capped).run(rows)
        assert None not in sent_limits(srv) and srv.count == 4
        srv.reset()
        free = loopback_llm(srv)
        out = tk.Step("gen", prompt_file(NO_LIMIT), free).run(rows)
        assert srv.count == 0 and out["gen.status"].eq("ok").all()  # the capped run's answers, cached
        tk.Step("gen", prompt_file(NO_LIMIT), free).run(rows.head(1).assign(text="new row"))
        assert sent_limits(srv) == [None]
    messages = [{"role": "user", "content": "x"}]
    assert capped.key(messages, {}) == free.key(messages, {})


def test_a_server_that_answers_past_max_tokens_is_named_and_stops_the_run(loopback_llm, prompt_file, frame):
    with LoopbackServer(latency=0.0, reply=long_reply, default_max_tokens=4096) as srv:
        srv.fail_all("overspend")
        llm = loopback_llm(srv, max_tokens_total=100_000, max_concurrent=1)
        out = tk.Step("gen", prompt_file(PROMPT), llm).run(frame.head(6))
        assert srv.count == 1
    assert llm.budget.spent_tokens == llm.usage.prompt_tokens + 4096  # what it reported is counted
    errors = out["gen.error"].tolist()
    assert (out["gen.status"] == "failed").all()
    assert "4096 completion tokens for max_tokens=10" in errors[0], errors
    assert all("does not honour max_tokens" in e for e in errors), errors


def test_a_price_you_give_prices_the_calls_and_holds_the_cost_cap(loopback_llm, prompt_file, frame, server):
    with pytest.raises(ValueError, match=r"price_per_million=\(input, output\)"):
        loopback_llm(server, max_cost=0.01)
    with LoopbackServer(latency=0.0, reply=long_reply, default_max_tokens=4096) as srv:
        llm = loopback_llm(srv, max_cost=0.01, price_per_million=(1.0, 10.0))  # $10 a million: 1000 tokens
        out = tk.Step("gen", prompt_file(NO_LIMIT), llm).run(frame.head(5))
        assert srv.count >= 1 and None not in sent_limits(srv)
        assert max(sent_limits(srv)) <= 1000
    u = llm.usage
    assert u.cost == pytest.approx(u.prompt_tokens * 1e-6 + u.completion_tokens * 1e-5) and u.cost <= 0.01
    assert out["gen.error"].str.contains("max_cost=$0.01", regex=False).all()
