"""Step(keep_reasoning=True): datasets that train on the reasoning get it in the output."""

import pytest

import toolkit as tk
from tests.loopback import LoopbackServer


def think_on_row_0(i, body):
    return "think" if body["messages"][-1]["content"] == "row 0" else None


def test_keep_reasoning_puts_the_think_block_before_the_answer(loopback_llm, prompt_file, rows):
    with LoopbackServer(latency=0, faults=think_on_row_0) as srv:
        llm = loopback_llm(srv)
        kept = tk.Step("r", prompt_file(), llm, keep_reasoning=True).run(rows(2))
        assert kept["r"].tolist() == ["<think>reasoning here</think>\nanswer", "echo: row 1"]
        assert kept["r.reasoning"].tolist()[0] == "reasoning here" and kept["r.raw"][0] == "answer"
        plain = tk.Step("r", prompt_file(), llm).run(rows(2))  # same calls, from the cache
        assert plain["r"].tolist() == ["answer", "echo: row 1"]
        assert plain["r.reasoning"][0] == "reasoning here" and srv.count == 2


def test_keep_reasoning_is_a_known_option():
    with pytest.raises(TypeError, match="did you mean 'keep_reasoning'"):
        tk.Step("r", "p.yaml", keep_reasonin=True)
