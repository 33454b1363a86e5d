"""Providers as users meet them, against loopback doubles of their APIs (tests/provider_doubles.py):
Anthropic and Ollama through litellm, OpenAI-compatible servers through both transports."""

import re
import subprocess
import sys

import pandas as pd
import pytest

import toolkit as tk
from tests.provider_doubles import Answer, ProviderDouble

SECRET = "sk-ant-SENTINEL-0123456789"
UNPRICED = "anthropic/claude-3-5-haiku-latest"  # the README's example; no price in litellm 1.110.2
PRICED = "anthropic/claude-haiku-4-5"
LONG = "one two three four five six seven eight"


@pytest.fixture
def double():
    with ProviderDouble() as srv:
        yield srv


@pytest.fixture
def llm(loopback_llm):
    """llm(srv, model, transport="auto", **kw): an LLM on the double's route for `model`, with the
    sentinel key and two attempts."""
    def make(srv, model, transport="auto", **kw):
        base = srv.openai_url if model.startswith("openai/") else srv.url
        kw.setdefault("api_key", SECRET)
        kw.setdefault("retry", tk.llm.Retry(max_attempts=2, base_delay=0.01))
        return loopback_llm(model=model, api_base=base, transport=transport, **kw)
    return make


@pytest.fixture
def step(prompt_file):
    """step(llm, max_tokens=40, **kw): a qa step that is not retried."""
    def make(model_llm, max_tokens=40, **kw):
        prompt = prompt_file(f"params: {{max_tokens: {max_tokens}}}\nmessages:\n"
                             "  - system: Be brief.\n  - user: 'Q: {text}'\n", "p.yaml")
        return tk.Step("qa", prompt, model_llm, max_retries=0, **kw)
    return make


def test_anthropic_key_headers_thinking_usage_and_cache_reuse(double, folder, llm):
    double.answer = Answer("The answer.", thinking="Let me think.")
    r = llm(double, UNPRICED).complete([{"role": "system", "content": "Be brief."},
                                                {"role": "user", "content": "a question"}],
                                               max_tokens=50)
    assert r.ok and (r.text, r.reasoning, r.finish_reason) == ("The answer.", "Let me think.", "stop")
    sent = double.requests[0]
    assert sent["headers"]["x-api-key"] == SECRET and sent["headers"]["anthropic-version"]
    assert "Authorization" not in sent["headers"]
    assert sent["body"]["system"] and [m["role"] for m in sent["body"]["messages"]] == ["user"]
    assert (r.prompt_tokens, r.completion_tokens) == (4, 5)  # output counts the thinking too
    with ProviderDouble() as other:  # another base URL and another key: the same cached answer
        again = llm(other, UNPRICED, api_key="sk-other").complete(
            [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "a question"}],
            max_tokens=50)
        assert again.cached and again.reasoning == "Let me think." and other.requests == []
    for path in folder.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes()


def test_a_wrong_anthropic_key_is_an_auth_failure_not_retried(llm):
    with ProviderDouble(api_key=SECRET) as srv:
        r = llm(srv, UNPRICED, api_key="sk-wrong").complete("hi")
        assert not r.ok and r.error_kind == "auth" and r.attempts == 1


@pytest.mark.parametrize("model,transport", [(UNPRICED, "auto"), ("ollama/llama3", "auto"),
                                             ("ollama_chat/llama3", "auto"),
                                             ("openai/x", "http"), ("openai/x", "litellm")])
def test_a_cut_off_answer_is_refused_on_every_route(double, tmp_path, model, transport, llm, step):
    """ollama/ goes to /api/generate, where litellm always says "stop": the token count decides."""
    double.answer = Answer(LONG)
    out = step(llm(double, model, transport), max_tokens=3).run(
        pd.DataFrame({"text": ["x"]}))
    assert out.loc[0, "qa.status"] == "failed"
    assert "cut off at max_tokens" in out.loc[0, "qa.error"]
    assert out.loc[0, "qa.raw"] == "one two three"
    double.answer = Answer("one two")  # under the limit: fine on every route
    ok = step(llm(double, model, transport), max_tokens=3).run(
        pd.DataFrame({"text": ["y"]}))
    assert ok.loc[0, "qa.status"] == "ok" and ok.loc[0, "qa"] == "one two"


FORMS = {  # how the server sends "plan" + "FINAL ANSWER"
    "think tags": Answer("FINAL ANSWER", thinking="plan", reasoning_field="tags"),
    "lone </think>": Answer("plan</think>\n\nFINAL ANSWER"),
    "reasoning_content": Answer("FINAL ANSWER", thinking="plan", reasoning_field="reasoning_content"),
    "reasoning": Answer("FINAL ANSWER", thinking="plan", reasoning_field="reasoning"),
}


@pytest.mark.parametrize("form", FORMS)
def test_every_reasoning_form_gives_the_same_row_on_both_transports(double, tmp_path, form, llm, step):
    double.answer = FORMS[form]
    rows = {}
    for transport in ("http", "litellm"):
        out = step(llm(double, "openai/x", transport, folder=tmp_path / transport)).run(
            pd.DataFrame({"text": ["x"]}))
        rows[transport] = out.loc[0, ["qa", "qa.raw", "qa.reasoning", "qa.status"]].tolist()
    assert rows["http"] == rows["litellm"] == ["FINAL ANSWER", "FINAL ANSWER", "plan", "ok"]


@pytest.mark.parametrize("model", ["ollama_chat/r1", "ollama/r1"])
def test_ollama_thinking_and_raw_r1_answers_are_split(double, model, llm):
    double.answer = Answer("FINAL", thinking="plan")  # Ollama's message.thinking / thinking field
    first = llm(double, model).complete("a")
    double.answer = Answer("plan</think>\n\nFINAL")  # an R1 distill whose template opened the tag
    second = llm(double, model).complete("b")
    assert (first.text, first.reasoning) == (second.text, second.reasoning) == ("FINAL", "plan")
    assert first.completion_tokens == 1 and first.prompt_tokens > 0  # eval_count, prompt_eval_count


@pytest.mark.parametrize("transport", ["http", "litellm"])
def test_an_answer_cut_inside_think_is_refused(double, tmp_path, transport, llm, step):
    double.answer = Answer("<think>" + LONG + "</think>FINAL")
    out = step(llm(double, "openai/x", transport, folder=tmp_path), max_tokens=4).run(
        pd.DataFrame({"text": ["x"]}))
    assert out.loc[0, "qa.status"] == "failed" and "cut off" in out.loc[0, "qa.error"]


def test_ollama_chat_keeps_few_shot_turns_ollama_flattens_them(double, llm):
    turns = [{"role": "user", "content": "shot"}, {"role": "assistant", "content": "answer"},
             {"role": "user", "content": "real"}]
    llm(double, "ollama_chat/llama3").complete(turns)
    llm(double, "ollama/llama3").complete(turns)
    chat, generate = double.requests
    assert chat["route"] == "ollama_chat" and [m["content"] for m in chat["body"]["messages"]] == \
        ["shot", "answer", "real"]
    assert generate["route"] == "ollama_generate" and "messages" not in generate["body"]


def test_cost_is_litellms_figure_or_unknown(double, tmp_path, llm, step):
    import litellm

    rates = litellm.model_cost["claude-haiku-4-5"]
    double.answer = Answer("one two three")
    priced = llm(double, PRICED).complete("a b", max_tokens=10)
    assert priced.cost == pytest.approx(2 * rates["input_cost_per_token"]
                                        + 3 * rates["output_cost_per_token"])
    for model in (UNPRICED, "ollama/llama3", "ollama_chat/llama3"):  # unpriced, local: unknown
        assert llm(double, model).complete("a b", max_tokens=10).cost is None
    out = step(llm(double, "ollama_chat/llama3", folder=tmp_path / "u")).run(
        pd.DataFrame({"text": ["x", "y"]}))
    assert out.attrs["step"]["usage"]["cost"] is None
    assert tk.estimate(out, 1000)["cost"] is None  # "unknown", never a made-up $0


QUIET = """
import sys, pandas as pd, toolkit as tk
base, folder, prompt = sys.argv[1:4]
for model in ("anthropic/claude-3-5-haiku-latest", "anthropic/claude-haiku-4-5", "ollama_chat/x"):
    llm = tk.LLM(model, api_base=base, api_key="k", folder=folder + "/" + model.replace("/", "_"))
    tk.Step("qa", prompt, llm).run(pd.DataFrame({"text": [f"row {i}" for i in range(5)]}))
    tk.LLM(model, api_base=base + "/nothing-here", api_key="k", folder=folder,
           retry=tk.llm.Retry(max_attempts=1)).complete("an error, too")
"""


def test_no_litellm_banner_debug_line_or_warning_in_any_output(double, tmp_path, prompt_file):
    prompt = prompt_file("messages:\n  - user: 'Q: {text}'\n", "p.yaml")
    run = subprocess.run([sys.executable, "-c", QUIET, double.url, str(tmp_path), str(prompt)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 3 and all(line.startswith("qa: 5 rows → 5 ok") for line in lines), run.stdout
    bars = re.compile(r"qa:\s+\d+%\|")  # tqdm's progress bar: the only thing meant for stderr
    assert [p for p in re.split(r"[\r\n]", run.stderr) if p.strip() and not bars.match(p)] == []
    for text in (run.stdout, run.stderr):
        assert "Provider List" not in text and "litellm" not in text.lower()
        assert "Give Feedback" not in text and "Warning" not in text
    assert len(double.requests) == 15  # the error calls hit a path the double does not serve
