"""run(df, reask="failed"): only the rows whose answers failed in an earlier run are sent again,
the answers they replace stay in the cache under other keys, and a plain rerun afterwards gets the
newest answers. Against a real loopback server that never answers the same twice, the embedded
model, and a recording replayed."""

import itertools
import json
import sqlite3

import pytest

import toolkit as tk
from tests.loopback import LoopbackServer

EARLIER = "_earlier"  # the mark of an answer a re-ask replaced (toolkit.llm.cache.EARLIER; test_the_mark_is_the_caches)

PROMPT = """params: {max_tokens: 20, temperature: 0.8}
messages:
  - system: Answer with a number.
  - user: "{text}"
"""


def counting(start=0):
    numbers = itertools.count(start)
    return lambda body: f"answer {next(numbers)}"


def big(value, row):
    """Refuses the first answers (small numbers): those rows fail, and a later draw passes."""
    return None if int(value.split()[1]) >= 8 else "too small"


def asked(srv):
    """The rows (their text) each request was for."""
    return [r["body"]["messages"][1]["content"] for r in srv.requests]


def stored(folder):
    """(text, marks) of every answer in the run folder's cache."""
    with sqlite3.connect(folder / "cache.sqlite") as db:
        rows = db.execute("SELECT request, response FROM calls").fetchall()
    return [(json.loads(resp)["text"], json.loads(req)["params"].get(EARLIER)) for req, resp in rows]


def test_only_the_failed_rows_are_asked_again_and_a_plain_rerun_keeps_the_new_answers(loopback_llm, prompt_file,
                                                                                       rows, folder, capsys):
    with LoopbackServer(latency=0, reply=counting()) as srv:
        llm = loopback_llm(srv, max_concurrent=1)  # one row at a time: answer numbers follow the rows
        step = tk.Step("say", prompt_file(PROMPT), llm, validate=big, max_retries=1)
        first = step.run(rows(6))
        failed = list(first.loc[first["say.status"] == "failed", "text"])
        assert failed == ["row 0", "row 1", "row 2", "row 3"], "answers 0-7 too small, 8 and 9 pass"
        before = stored(folder)

        srv.reset()
        capsys.readouterr()
        again = step.run(rows(6), reask="failed")
        assert sorted(asked(srv)) == failed, "exactly the failed rows were sent, each once (10 and up pass)"
        assert "6 ok, 0 failed, 0 skipped, 4 re-asked" in capsys.readouterr().out
        assert again.attrs["step"]["reasked"] == 4
        assert list(again["say.status"]) == ["ok"] * 6
        assert sorted(again["say"][:4]) == ["answer 10", "answer 11", "answer 12", "answer 13"]
        assert list(again["say"][4:]) == list(first["say"][4:]), "the ok rows kept their answers"

        after = stored(folder)
        moved = [text for text, earlier in after if earlier == 1]
        assert len(moved) == 4 and len(after) == len(before) + 4, "each replaced answer kept under another key"
        assert {t for t, _ in before} <= {t for t, _ in after}, "nothing the earlier run got was lost"
        assert not set(moved) & {text for text, earlier in after if earlier is None}, "replaced, not copied"

        srv.reset()
        plain = step.run(rows(6))
        assert srv.count == 0
        assert list(plain["say"]) == list(again["say"]), "a plain rerun returns the newest answers"


def test_asked_again_and_again_each_answer_it_replaces_is_kept(loopback_llm, prompt_file, rows, folder):
    with LoopbackServer(latency=0, reply=counting()) as srv:
        step = tk.Step("say", prompt_file(PROMPT), loopback_llm(srv), validate=lambda v, r: "never", max_retries=0)
        step.run(rows(1))
        for _ in range(3):
            out = step.run(rows(1), reask="failed")
        assert srv.count == 4 and out.attrs["step"]["reasked"] == 1
        assert sorted(stored(folder), key=str) == [("answer 0", 1), ("answer 1", 2), ("answer 2", 3),
                                                   ("answer 3", None)]
        assert list(out["say.raw"]) == ["answer 3"]


def test_rows_failing_for_the_first_time_or_without_an_answer_are_not_asked_twice(loopback_llm, prompt_file, rows):
    broken = {"row 1"}  # its call fails with HTTP 400: no answer, nothing cached

    def faults(index, body):
        return "500" if body["messages"][1]["content"] in broken else None
    with LoopbackServer(latency=0, reply=counting(), faults=faults) as srv:
        llm = loopback_llm(srv, retry=tk.llm.Retry(max_attempts=1))
        step = tk.Step("say", prompt_file(PROMPT), llm, validate=big, max_retries=0)
        out = step.run(rows(3), reask="failed")  # nothing was cached: a plain first run
        assert srv.count == 3 and out.attrs["step"]["reasked"] == 0
        assert list(out["say.status"]) == ["failed"] * 3
        srv.reset()
        again = step.run(rows(3), reask="failed")
        assert sorted(asked(srv)) == ["row 0", "row 1", "row 2"], "row 1 as a plain rerun would; the others re-asked"
        assert again.attrs["step"]["reasked"] == 2 and again.attrs["step"]["usage"]["failures"] == 1


def test_candidates_are_asked_again_on_their_own(loopback_llm, prompt_file, rows, folder):
    with LoopbackServer(latency=0, reply=counting(), n="honour") as srv:
        step = tk.Step("say", prompt_file(PROMPT), loopback_llm(srv), n=3, max_retries=0,
                       validate=lambda v, r: None if int(v.split()[1]) >= 6 else "too small")
        first = step.run(rows(2))
        assert list(first["say.status"]) == ["failed"] * 6
        srv.reset()
        again = step.run(rows(2), reask="failed")
        assert srv.count == 6 and all("n" not in r["body"] for r in srv.requests), "one request per failed candidate"
        assert again.attrs["step"]["reasked"] == 6 and (again["say.status"] == "ok").all()
        assert list(again["say.candidate"]) == [0, 1, 2] * 2
        srv.reset()
        assert list(step.run(rows(2))["say"]) == list(again["say"]) and srv.count == 0


def test_reask_in_replay_sends_nothing_and_a_recording_holds_the_newest_answers(loopback_llm, prompt_file, rows,
                                                                                  folder, tmp_path):
    with LoopbackServer(latency=0, reply=counting()) as srv:
        llm = loopback_llm(srv, max_concurrent=1)
        step = tk.Step("say", prompt_file(PROMPT), llm, validate=big, max_retries=0)
        step.run(rows(4))
        newest = step.run(rows(4), reask="failed")
        recording = tmp_path / "say.jsonl"
        llm.cache.export(recording)
    replayed = tk.LLM("openai/loopback", api_key="k", folder=tmp_path / "replay", replay=recording)
    out = tk.Step("say", step.prompt, replayed, validate=big, max_retries=0).run(rows(4), reask="failed")
    assert list(out["say"]) == list(newest["say"]) and out.attrs["step"]["reasked"] == 0
    lines = [json.loads(line) for line in recording.read_text().splitlines()]
    assert sum(EARLIER in line["params"] for line in lines) == 4, "the replaced answers travel with the recording"


def test_the_mark_is_the_caches():
    from toolkit.llm.cache import EARLIER as mark

    assert mark == EARLIER


def test_reask_takes_only_failed_and_warns_at_temperature_0(loopback_llm, prompt_file, rows, server):
    step = tk.Step("say", prompt_file(PROMPT), loopback_llm(server))
    with pytest.raises(ValueError, match="reask='all'.*'failed'"):
        step.run(rows(1), reask="all")
    cold = tk.Step("say", prompt_file(PROMPT), loopback_llm(server), temperature=0)
    with pytest.warns(UserWarning, match="temperature 0.*same answers again"):
        cold.run(rows(1), reask="failed")


@pytest.mark.embedded_model
def test_the_embedded_model_gives_another_answer_when_asked_again(tmp_path, prompt_file, rows):
    """Its seed is fixed (the same answer, run after run): a re-ask moves it, so it is another sample."""
    fruit = "params: {max_tokens: 8, temperature: 1.0}\nmessages:\n  - user: 'Name a fruit.'\n"
    step = tk.Step("say", prompt_file(fruit),
                   tk.LLM(folder=tmp_path), validate=lambda v, r: "refused", max_retries=0)
    first = step.run(rows(1))
    again = step.run(rows(1), reask="failed")
    assert again.attrs["step"]["usage"]["calls"] == 1 and again.attrs["step"]["reasked"] == 1
    assert list(again["say.raw"]) != list(first["say.raw"])
