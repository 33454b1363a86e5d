"""Steps against the loopback server: feedback retries, status columns, fan-out, resume, manifest."""

import json
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import toolkit as tk
from tests.conftest import ECHO_PROMPT
from tests.loopback import Fault, LoopbackServer
from toolkit.prompts import PromptError


def test_status_columns_and_input_kept(server, prompt, loopback_llm, rows):
    out = tk.Step("echo", prompt, loopback_llm(server)).run(rows(3))
    assert list(out.columns) == ["chunk_id", "text", "echo", "echo.status", "echo.error",
                                 "echo.attempts", "echo.raw", "echo.reasoning", "echo.prompt_version", "echo.call"]
    assert out["echo"].tolist() == ["echo: row 0", "echo: row 1", "echo: row 2"]
    assert (out["echo.status"] == "ok").all() and (out["echo.attempts"] == 1).all()
    assert out["echo.prompt_version"].nunique() == 1
    assert out.attrs["step"]["ok"] == 3 and server.count == 3


def test_validation_failure_is_fed_back_and_retried(prompt, loopback_llm, rows):
    def reply(body):
        fixed = any("could not be used: say OK" in m["content"] for m in body["messages"])
        return "OK" if fixed else "nope"
    with LoopbackServer(latency=0, reply=reply) as srv:
        step = tk.Step("check", prompt, loopback_llm(srv),
                       validate=lambda value, row: None if value == "OK" else "say OK")
        out = step.run(rows(2))
        assert out["check"].tolist() == ["OK", "OK"] and (out["check.attempts"] == 2).all()
        second = srv.requests[-1]["body"]["messages"]
        assert [m["role"] for m in second] == ["system", "user", "assistant", "user"]
        assert second[2]["content"] == "nope" and "say OK" in second[3]["content"]


def test_rows_that_keep_failing_stay_with_their_reason(prompt, loopback_llm, rows):
    with LoopbackServer(latency=0, reply=lambda body: "not json") as srv:
        out = tk.Step("js", prompt, loopback_llm(srv), parse="json", max_retries=1).run(rows(2))
        assert len(out) == 2 and (out["js.status"] == "failed").all()
        assert out["js.error"].str.contains("parse: no JSON object").all()
        assert (out["js.attempts"] == 2).all() and out["js.raw"].tolist() == ["not json"] * 2
        assert srv.count == 4


def test_transport_failure_and_skips_are_rows_too(server, folder, prompt, rows):
    server.fail_all("503")
    llm = tk.LLM("openai/loopback", api_base=server.url, api_key="k", folder=folder,
                 retry=tk.llm.Retry(max_attempts=2, base_delay=0.01))
    df = rows(3)
    df.loc[1, "text"] = None  # e.g. an earlier step failed on this row
    out = tk.Step("s", prompt, llm, when=lambda row: row["chunk_id"] != "c2").run(df)
    assert out["s.status"].tolist() == ["failed", "skipped", "skipped"]
    assert out.loc[0, "s.error"].startswith("server: HTTP 503")
    assert "no value for {text}" in out.loc[1, "s.error"] and out.loc[2, "s.error"] == "not selected by when="


def test_parser_or_validator_that_raises_marks_the_row(server, prompt, loopback_llm, rows):
    def parse(text):
        raise KeyError("boom")
    out = tk.Step("p", prompt, loopback_llm(server), parse=parse, max_retries=0).run(rows(1))
    assert out.loc[0, "p.error"] == "parser raised KeyError: 'boom'"
    out = tk.Step("v", prompt, loopback_llm(server), validate=lambda v, r: 1 / 0, max_retries=0).run(rows(1))
    assert out.loc[0, "v.error"] == "validator raised ZeroDivisionError: division by zero"
    out = tk.Step("w", prompt, loopback_llm(server), when=lambda row: row["nope"]).run(rows(2))
    assert out["w.error"].tolist() == ["when= raised KeyError: 'nope'"] * 2
    assert out["w.status"].tolist() == ["failed", "failed"]


def test_one_to_many_keeps_the_parent_id(prompt, loopback_llm, rows):
    pairs = '[{"question": "Q1", "answer": "A1"}, {"question": "Q2", "answer": "A2"}]'
    with LoopbackServer(latency=0, reply=lambda body: f"Here you go: {pairs}") as srv:
        out = tk.Step("qa", prompt, loopback_llm(srv), parse="json").run(rows(2))
    assert len(out) == 4
    assert out["chunk_id"].tolist() == ["c0", "c0", "c1", "c1"]
    assert out["question"].tolist() == ["Q1", "Q2", "Q1", "Q2"] and out["qa.item"].tolist() == [0, 1, 0, 1]


def test_regex_parser_and_empty_or_truncated_answers(server, folder, prompt, loopback_llm, rows):
    out = tk.Step("rx", prompt, loopback_llm(server), parse=r"echo: (.*)").run(rows(1))
    assert out.loc[0, "rx"] == "row 0"
    server.reset()
    server.faults = [Fault("empty"), Fault("length")]
    server.reply = the_task_again
    out = tk.Step("e", prompt, loopback_llm(server, folder=folder / "e"), max_retries=2).run(rows(1))
    msgs = server.requests[-1]["body"]["messages"]
    assert "the answer was empty" in msgs[3]["content"] and "cut off at max_tokens" in msgs[5]["content"]
    assert out.loc[0, "e.status"] == "ok" and out.loc[0, "e.attempts"] == 3


def the_task_again(body):
    """A model that answers the task (the first user message) whatever feedback follows it."""
    return "echo: " + next(m["content"] for m in body["messages"] if m["role"] == "user")


def test_an_answer_that_repeats_the_feedback_is_refused_though_the_validator_passes_it(server, prompt, folder,
                                                                                       loopback_llm, rows):
    """A small model told "Your answer could not be used: ..." may answer with those words: a row
    whose output is the toolkit's own feedback, which a lenient validator would keep."""
    first = {}
    def lenient(value, row):  # refuses each row's first answer, then takes anything
        if row["chunk_id"] not in first:
            first[row["chunk_id"]] = value
            return "the rewrite must be in plain, generic prose"
    out = tk.Step("v", prompt, loopback_llm(server), validate=lenient, max_retries=1).run(rows(2))
    assert (out["v.status"] == "failed").all()  # the loopback echoes the last user message: the feedback
    assert out["v.error"].str.startswith("the answer repeats the feedback it was sent (the rewrite must be").all()
    assert out["v.raw"].str.contains("Your answer could not be used").all()
    assert (tk.drop_reasons(out)["kind"] == "feedback repeated").all()  # the funnel's kind for it
    first.clear()
    server.reply = the_task_again  # a model that answers the task again passes
    out = tk.Step("w", prompt, loopback_llm(server, folder=folder / "w"), validate=lenient, max_retries=1).run(rows(2))
    assert (out["w.status"] == "ok").all() and (out["w.attempts"] == 2).all()


def test_echoes_needs_the_feedbacks_words_or_a_problem_long_enough_not_to_be_chance():
    from toolkit.parsing import echoes
    assert echoes("The answer could not be used. The answer was cut off.", "x")  # the feedback's own words
    assert echoes("the answer was cut off at max_tokens; answer more briefly", "The answer was cut off at max_tokens")
    assert not echoes("It was too short a winter.", "too short")  # a short problem turns up by chance
    assert not echoes("The harbour was quiet.", "the rewrite must be in plain, generic prose")


def test_placeholder_errors_come_before_any_request(server, prompt, loopback_llm):
    with pytest.raises(PromptError, match=r"placeholder \{text\} has no value.*inputs are: chunk_id"):
        tk.Step("x", prompt, loopback_llm(server)).run(pd.DataFrame({"chunk_id": ["a"]}))
    assert server.count == 0
    step = tk.Step("x", prompt, loopback_llm(server))
    assert step.preview(pd.DataFrame({"t": [1]}), 0, text="constant")[-1]["content"] == "constant"


def test_prompt_edit_resends_exactly_the_changed_calls(server, prompt, loopback_llm, rows):
    llm = loopback_llm(server)
    first = tk.Step("s", prompt, llm).run(rows(4))
    assert server.count == 4
    tk.Step("s", prompt, llm).run(rows(4))
    assert server.count == 4  # nothing changed: all cached
    edited = rows(4)
    edited.loc[2, "text"] = "changed"
    tk.Step("s", prompt, llm).run(edited)
    assert server.count == 5
    prompt.write_text(ECHO_PROMPT.replace("tersely", "briefly"))
    second = tk.Step("s", prompt, llm).run(rows(4))
    assert server.count == 9
    assert (first["s.prompt_version"] != second["s.prompt_version"]).all()


def test_manifest_line_per_run_without_secrets(server, folder, prompt, rows):
    llm = tk.LLM("openai/loopback", api_base=server.url, api_key="sk-SENTINEL-42", folder=folder)
    tk.Step("m", prompt, llm, temperature=0.3).run(rows(2))
    tk.Step("m", prompt, llm, temperature=0.3).run(rows(2))
    lines = (folder / "manifest.jsonl").read_text().splitlines()
    assert len(lines) == 2
    a, b = map(json.loads, lines)
    assert a["step"] == "m" and a["params"] == {"max_tokens": 40, "temperature": 0.3}
    assert a["usage"]["calls"] == 2 and b["usage"]["calls"] == 0 and b["usage"]["cache_hits"] == 2
    assert "sk-SENTINEL-42" not in "".join(lines)


def test_estimate_scales_a_sample_to_the_full_set(server, prompt, loopback_llm, rows):
    llm = loopback_llm(server, max_concurrent=2)
    sample = tk.Step("s", prompt, llm).run(rows(4))
    est = tk.estimate(sample, rows(100))
    per_row = sample.attrs["step"]["per_row"]
    assert est["rows"] == 100 and est["calls"] == 100 and per_row["calls"] == 1
    assert est["prompt_tokens"] == round(per_row["prompt_tokens"] * 100) > 0
    assert est["cost"] is None  # litellm has no price for a loopback model: unknown, not zero
    assert est["seconds"] == round(per_row["seconds"] * 100 / 2, 1) > 0
    # a rerun served from the cache projects the same numbers (cached calls keep their cost)
    assert tk.estimate(tk.Step("s", prompt, llm).run(rows(4)), rows(100)) == est
    with pytest.raises(ValueError, match="needs the DataFrame returned by Step.run"):
        tk.estimate(rows(4), 10)


# The child sets its own SIGINT handling: one started from a background job inherits SIGINT ignored,
# and Python then installs no KeyboardInterrupt handler.
RESUMABLE = """
import signal, sys, pandas as pd, toolkit as tk
signal.signal(signal.SIGINT, signal.default_int_handler)
llm = tk.LLM("openai/loopback", api_base=sys.argv[1], api_key="k", folder=sys.argv[2], max_concurrent=4)
df = pd.DataFrame({"text": [f"r{i}" for i in range(200)]})
print("start", flush=True)
tk.Step("s", sys.argv[3], llm).run(df)
"""


def test_interrupt_then_rerun_sends_only_the_missing_calls(folder, prompt):
    """Event-driven: the server answers 40 calls and holds the rest, so the interrupt always lands
    mid-run (4 calls in flight, 40 stored) however loaded the machine is."""
    with LoopbackServer(latency=0) as srv:
        srv.hold(from_index=40)
        proc = subprocess.Popen([sys.executable, "-c", RESUMABLE, srv.url, str(folder), str(prompt)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline().strip() == "start"
            srv.wait_for(40 + 4)  # the 40 answered, then max_concurrent=4 held: the run is stuck
            assert srv.held == 4
            proc.send_signal(signal.SIGINT)  # what "interrupt the kernel" sends
            _, err = proc.communicate(timeout=60)
        finally:
            proc.kill()
            srv.release()
        assert "KeyboardInterrupt" in err
        assert srv.count == 44
        llm = tk.LLM("openai/loopback", api_base=srv.url, api_key="k", folder=folder)
        assert len(llm.cache) == 40  # every answered call was stored before the interrupt
        before = srv.count
        out = tk.Step("s", prompt, llm).run(pd.DataFrame({"text": [f"r{i}" for i in range(200)]}))
        assert (out["s.status"] == "ok").all()
        assert srv.count - before == 200 - 40


def test_the_interrupt_test_passes_when_started_with_sigint_ignored():
    """The suite started as a background job (`make test &`, nohup, some CI runners): SIGINT is
    ignored from the start, and the interrupt test must still interrupt its child."""
    ignoring = ["sh", "-c", 'trap "" INT; exec "$@"', "sh", sys.executable]
    seen = subprocess.run([*ignoring, "-c", "import signal; print(signal.getsignal(signal.SIGINT) == signal.SIG_IGN)"],
                          capture_output=True, text=True, timeout=60)
    assert seen.stdout.strip() == "True"  # the set-up does what it says
    test = f"{__file__}::test_interrupt_then_rerun_sends_only_the_missing_calls"
    out = subprocess.run([*ignoring, "-m", "pytest", "-q", "-p", "no:cacheprovider", test],
                         capture_output=True, text=True, timeout=300, cwd=Path(__file__).parent.parent)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "1 passed" in out.stdout


def test_accept_truncated_parses_what_arrived(prompt, loopback_llm, rows):
    with LoopbackServer(latency=0, reply=lambda body: "one two three four five six") as srv:
        llm = loopback_llm(srv)
        out = tk.Step("t", prompt, llm, accept_truncated=True, max_tokens=3).run(rows(1))
        assert (out.loc[0, "t"], out.loc[0, "t.attempts"], srv.count) == ("one two three", 1, 1)
        out = tk.Step("t", prompt, llm, max_retries=1, max_tokens=3).run(rows(1))
        assert out.loc[0, "t.status"] == "failed" and "cut off at max_tokens" in out.loc[0, "t.error"]


def test_declared_columns_exist_even_when_every_row_failed(prompt, loopback_llm, rows):
    with LoopbackServer(latency=0, reply=lambda body: '{"question": "Q?"}') as srv:
        step = tk.Step("qa", prompt, loopback_llm(srv), parse="json", columns=["question", "answer"],
                       max_retries=1)
        out = step.run(rows(2))
    assert (out["qa.status"] == "failed").all() and out["qa.error"].eq("parse: the answer gave no answer").all()
    assert out[["question", "answer"]].isna().all().all()


def test_a_step_on_the_embedded_model_feeds_the_validator_back(folder, prompt):
    """The real model, not a server: two rows, every answer refused once, the feedback recorded."""
    step = tk.Step("real", prompt, tk.LLM(folder=folder), max_tokens=8, max_retries=1, accept_truncated=True,
                   validate=lambda value, row: "say it in French")
    out = step.run(pd.DataFrame({"text": ["Say hello.", "Say goodbye."]}))
    assert out["real.status"].tolist() == ["failed", "failed"]
    assert out["real.error"].tolist() == ["say it in French"] * 2
    assert (out["real.attempts"] == 2).all() and out["real.raw"].str.strip().str.len().gt(0).all()
    requests = [json.loads(r) for (r,) in sqlite3.connect(folder / "cache.sqlite").execute(
        "SELECT request FROM calls")]
    second = [r["messages"] for r in requests if len(r["messages"]) == 4]
    assert len(requests) == 4 and len(second) == 2
    assert all(m[3]["role"] == "user" and "say it in French" in m[3]["content"] for m in second)


def test_the_same_step_picks_up_an_edited_prompt_file(server, loopback_llm, prompt_file, rows, capsys):
    """Only the calls whose rendered messages changed are sent again; the edit is announced."""
    path = prompt_file()
    step = tk.Step("s", path, loopback_llm(server))
    v1 = step.run(rows(4)).attrs["step"]["prompt_version"]
    assert server.count == 4
    path.write_text(ECHO_PROMPT.replace("tersely", "in one word"))  # the system message: every row changes
    capsys.readouterr()
    out = step.run(rows(4))
    v2 = step.prompt.version
    assert server.count == 8 and v2 != v1
    assert f"prompt {path} changed: {v1} → {v2}\n" in capsys.readouterr().out
    assert set(out["s.prompt_version"]) == {v2}
    assert server.requests[-1]["body"]["messages"][0]["content"] == "You answer in one word."
    step.run(rows(4))
    assert server.count == 8 and "changed" not in capsys.readouterr().out  # no edit: all cached

    path.write_text("# a comment changes the file's version, not one rendered message\n"
                    + ECHO_PROMPT.replace("tersely", "in one word"))
    step.run(rows(4))
    assert server.count == 8 and step.prompt.version not in (v1, v2)
    assert f"→ {step.prompt.version}" in capsys.readouterr().out

    path.write_text(ECHO_PROMPT)  # back to v1: its answers are still in the cache
    step.run(rows(6))
    assert server.count == 10  # rows 4 and 5 are new; rows 0-3 were answered under v1
    assert step.prompt.version == v1


def test_a_broken_prompt_edit_sends_nothing(server, loopback_llm, prompt_file, rows):
    path = prompt_file()
    step = tk.Step("s", path, loopback_llm(server))
    step.run(rows(2))
    path.write_text(ECHO_PROMPT.replace('  - user: "{text}"', '  - user: "{text"'))
    for attempt in (lambda: step.run(rows(3)), lambda: step.preview(rows(3))):
        with pytest.raises(PromptError, match=r"(?s)echo\.yaml, line 4: bad placeholder syntax.*"
                                              r"nothing was sent"):
            attempt()
    assert server.count == 2
    path.write_text(ECHO_PROMPT.replace("tersely", "briefly"))
    step.run(rows(3))
    assert server.count == 5


def test_file_params_are_reloaded_and_step_keywords_still_win(server, loopback_llm, prompt_file, rows):
    path = prompt_file()
    step = tk.Step("s", path, loopback_llm(server), max_tokens=7)
    path.write_text(ECHO_PROMPT.replace("params: {max_tokens: 40}", "params: {max_tokens: 40, temperature: 0.3}"))
    step.run(rows(1))
    body = server.requests[-1]["body"]
    assert body["max_tokens"] == 7 and body["temperature"] == 0.3


def test_a_step_made_from_a_prompt_object_keeps_it(server, loopback_llm, prompt_file, rows, capsys):
    path = prompt_file()
    step = tk.Step("s", tk.load_prompt(path), loopback_llm(server))
    step.run(rows(2))
    path.write_text(ECHO_PROMPT.replace("tersely", "briefly"))
    step.run(rows(2))
    assert server.count == 2 and "changed" not in capsys.readouterr().out


def test_fan_out_numbers_items_with_integers_when_some_rows_are_skipped(prompt, loopback_llm, rows):
    pairs = '[{"question": "Q1", "answer": "A1"}, {"question": "Q2", "answer": "A2"}]'
    with LoopbackServer(latency=0, reply=lambda body: pairs) as srv:
        out = tk.Step("qa", prompt, loopback_llm(srv), parse="json",
                      when=lambda row: row["chunk_id"] != "c1").run(rows(3))
    assert out["qa.status"].tolist() == ["ok", "ok", "skipped", "ok", "ok"]
    assert out["qa.item"].dtype == "Int64"
    assert out["qa.item"].tolist() == [0, 1, pd.NA, 0, 1]


def test_a_sampling_function_follows_the_prompt_file(prompt_file, loopback_llm, rows):
    """max_tokens=f(own): applied to the file's value, and again after the file is edited."""
    path = prompt_file(ECHO_PROMPT)  # max_tokens: 40
    with LoopbackServer(latency=0) as srv:
        step = tk.Step("echo", path, loopback_llm(srv), max_tokens=lambda own: max(own, 100))
        step.run(rows(1))
        path.write_text(ECHO_PROMPT.replace("max_tokens: 40", "max_tokens: 400"), encoding="utf-8")
        step.run(rows(1))
        assert [r["body"]["max_tokens"] for r in srv.requests] == [100, 400]


def test_the_surface_is_grouped_notebook_verbs_on_top_the_call_layer_in_toolkit_llm():
    import toolkit.llm

    call_layer = {"Cache", "CacheMiss", "Completion", "Usage", "Retry", "DEFAULT_MODEL", "BatchError",
                  "register_transport"}
    assert call_layer <= set(toolkit.llm.__all__) and not call_layer & set(tk.__all__)
    assert "LLM" in tk.__all__ and all(hasattr(tk, name) for name in tk.__all__)
    assert all(hasattr(toolkit.llm, name) for name in toolkit.llm.__all__)


def _last_bar(err: str) -> dict[str, int]:
    """The counts in the progress bar's last postfix ("…, cached=12, failed=0, ok=12]")."""
    last = err.replace("\r", "\n").strip().splitlines()[-1]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", last)}


@pytest.mark.parametrize("n", [12, 300])
def test_the_bar_counts_the_rows_the_summary_line_counts(server, prompt, loopback_llm, rows, capsys, n):
    step = tk.Step("gen", prompt, loopback_llm(server), when=lambda row: not row["text"].endswith("7"))
    skipped = sum(str(i).endswith("7") for i in range(n))
    for run in ("first", "cached rerun"):
        out = step.run(rows(n, "bar"))
        captured = capsys.readouterr()
        said = re.search(r"(\d+) rows → (\d+) ok, (\d+) failed, (\d+) skipped", captured.out).groups()
        bar = _last_bar(captured.err)
        assert list(map(int, said)) == [n, n - skipped, 0, skipped] and (out["gen.status"] == "ok").sum() == n - skipped
        assert bar == {"ok": n - skipped, "failed": 0, "skipped": skipped,
                       "cached": n - skipped if run == "cached rerun" else 0}, (run, captured.err[-300:])


def test_the_placeholders_a_row_needs_follow_the_prompt_the_step_holds(server, prompt, prompt_file, loopback_llm,
                                                                       rows):
    """Whatever prompt the step holds now (an edited file, or one set on it) decides which rows
    lack a value: never the placeholders of the prompt it was made with."""
    step = tk.Step("s", prompt, loopback_llm(server))
    df = rows(3, note=["a", None, "c"])
    assert (step.run(df)["s.status"] == "ok").all()  # {text} only: the missing note does not matter
    step.prompt = tk.load_prompt(prompt_file("messages:\n  - user: 'Say {text}, noting {note}'\n", "noted.yaml"))
    out = step.run(df)
    assert out["s.status"].tolist() == ["ok", "skipped", "ok"]
    assert "no value for {note}" in out.loc[1, "s.error"]
