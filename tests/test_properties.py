"""Property test of the step runner against random fault sequences from a real loopback server.

Whatever the server does wrong, in whatever order and at whatever concurrency: every input row
comes out exactly once and in order, every failed row says why, and no answer lands on another
row (the server answers with the row's own text, so each ok output is checked against its row).
"""

import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import toolkit as tk
from tests.loopback import Fault, LoopbackServer, _text

# "hang" is left out: it can only end in a client timeout, which is a timer.
KINDS = [None, "429", "500", "503", "malformed", "empty", "length", "drop", "think"]
THINK_ANSWER, THINK_REASONING = "answer", "reasoning here"  # what the loopback's "think" fault says


def first_user_echo(body):
    """The row's own text, also on a feedback retry (where the last user turn is the feedback)."""
    users = [m for m in body["messages"] if m["role"] == "user"]
    return "echo: " + _text(users[0]["content"])


@pytest.fixture(scope="module")
def srv():
    with LoopbackServer(latency=0, reply=first_user_echo) as s:
        yield s


faults = st.lists(st.sampled_from(KINDS).map(lambda k: k and Fault(k)), max_size=40)


# The function-scoped fixtures used here are factories: every example passes its own folder.
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(faults=faults, n=st.integers(1, 12), concurrent=st.integers(1, 4),
       attempts=st.integers(1, 3), max_retries=st.integers(0, 2))
def test_every_row_once_with_its_own_answer_or_a_reason(srv, loopback_llm, prompt_file, rows, faults, n,
                                                         concurrent, attempts, max_retries):
    srv.reset()
    srv.faults = faults  # request i gets faults[i]; later requests are answered normally
    df = rows(n)
    prompt = prompt_file('messages:\n  - user: "{text}"\n')
    with tempfile.TemporaryDirectory() as folder:
        llm = loopback_llm(srv, folder=folder, max_concurrent=concurrent,
                           retry=tk.llm.Retry(max_attempts=attempts, base_delay=0.001, max_delay=0.002))
        out = tk.Step("s", prompt, llm, max_retries=max_retries).run(df)

    assert out["chunk_id"].tolist() == df["chunk_id"].tolist()  # each row exactly once, in order
    assert out.index.tolist() == df.index.tolist()
    assert set(out["s.status"]) <= {"ok", "failed"}
    failed = out[out["s.status"] == "failed"]
    assert failed["s.error"].map(lambda e: isinstance(e, str) and e.strip() != "").all()
    ok = out[out["s.status"] == "ok"]
    own = ok["s"] == "echo: " + ok["text"]
    think = (ok["s"] == THINK_ANSWER) & (ok["s.reasoning"] == THINK_REASONING)
    assert (own | think).all(), ok[~(own | think)][["text", "s"]]
    assert ok.loc[own, "s.reasoning"].isna().all()
    # every request the server saw is one the client counted: answered, retried or given up
    u = llm.usage
    assert srv.count == u.calls + u.retries + u.failures
    assert (out["s.attempts"] <= max_retries + 1).all()
