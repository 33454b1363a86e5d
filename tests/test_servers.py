"""Real servers' quirks fail closed (issue 29), against loopback doubles that behave as ollama,
llama-server and vLLM do (tests/server_doubles.py): a prompt the server cut, a window too small, a
swapped model behind one name, the newer forms of reasoning and structured output."""

import asyncio
import json
import warnings

import pandas as pd
import pytest

import toolkit as tk
from tests.server_doubles import LlamaServer, OllamaServer, VLLMServer
from toolkit.llm import ServerWarning, served
from toolkit.llm.cache import Cache

LONG = " ".join(f"word{i % 50}" for i in range(2000))  # 2,000 words ≈ 3,400 tokens by the estimate


@pytest.fixture
def prompt(prompt_file):
    return prompt_file("params: {max_tokens: 50}\nmessages:\n  - user: 'Summarise: {text}'\n", "p.yaml")


def frame(*texts):
    return pd.DataFrame({"text": list(texts)})


def run(llm, prompt, df, **kw):
    return tk.Step("s", prompt, llm, max_retries=0, **kw).run(df)


@pytest.mark.parametrize("route", ["openai", "ollama_chat"])
def test_ollama_cut_prompts_fail_and_say_how_to_raise_the_window(route, folder, prompt):
    """The issue's case: 512 tokens read of 2,000 words sent, HTTP 200. Every such row is failed
    (not cached), naming the window and OLLAMA_CONTEXT_LENGTH; a prompt that fits stays ok."""
    with OllamaServer(num_ctx=512) as srv:
        base = srv.openai_url if route == "openai" else srv.url
        llm = tk.LLM(f"{route}/qwen2.5:7b", api_base=base, folder=folder)
        out = run(llm, prompt, frame(LONG, LONG, LONG, LONG, "a short passage"))
        assert [r["body"]["model"] for r in srv.requests] == ["qwen2.5:7b"] * 5
    assert out["s.status"].tolist() == ["failed"] * 4 + ["ok"]
    error = out.loc[0, "s.error"]
    assert error.startswith("context: the server read 512 prompt tokens of the ≈ ")
    assert "OLLAMA_CONTEXT_LENGTH" in error and "num_ctx" in error and "not cached" in error
    assert len(llm.cache) == 1


def test_a_cut_by_less_than_half_is_caught_where_ollama_says_its_window(folder, prompt):
    """700 words into a 600-token window: read ÷ estimate is ≈ 0.5, within tokenizer noise, but
    the server read its whole window, which /api/ps says once the model is loaded."""
    text = " ".join(["passage"] * 700)
    with OllamaServer(num_ctx=600, loaded=True) as srv:
        llm = tk.LLM("ollama_chat/qwen2.5:7b", api_base=srv.url, folder=folder)
        assert llm.check().context == 600
        out = run(llm, prompt, frame(text))
    assert out.loc[0, "s.status"] == "failed"
    assert "context window (600 tokens)" in out.loc[0, "s.error"]


def test_the_threshold_leaves_room_for_tokenizers():
    """A server whose tokenizer reads 0.69 of the estimate (the lowest measured) is no cut; one
    that read under half of it, by more than MIN_GAP tokens, is; a tiny prompt never is."""
    assert not served.prompt_cut(1000, 690, None)
    assert served.prompt_cut(1000, 499, None)
    assert not served.prompt_cut(100, 40, None)  # 60 fewer: within MIN_GAP of a short prompt
    assert served.prompt_cut(1000, 900, 900) and not served.prompt_cut(1000, 900, 4096)
    assert not served.prompt_cut(1000, 0, None)  # nothing reported: nothing to check


def test_check_reads_each_servers_own_answer():
    with LlamaServer(n_ctx=8192) as ls, VLLMServer(max_model_len=16384) as vs, \
            OllamaServer(modelfile_ctx=8192) as os_:
        a = tk.LLM("openai/qwen", api_base=ls.openai_url, cache="off").check()
        b = tk.LLM("hosted_vllm/qwen", api_base=vs.openai_url, cache="off").check()
        c = tk.LLM("ollama_chat/qwen2.5:7b", api_base=os_.url, cache="off").check()
        d = tk.LLM("openai/qwen2.5:7b", api_base=os_.openai_url, cache="off").check()
    assert (a.server, a.context, a.models) == ("llama-server", 8192, ("qwen",))
    assert "/models/qwen-a.gguf" in a.weights and "size=4683073184" in a.weights
    assert (b.server, b.context, b.weights) == ("vLLM", 16384, "vLLM Qwen/Qwen2.5-7B-Instruct")
    assert (c.server, c.context) == (d.server, d.context) == ("ollama", 8192)  # the Modelfile's num_ctx
    assert c.weights == d.weights == "ollama qwen2.5:7b " + "a" * 64  # /api/ps and /api/tags give the bare hex
    assert "-c" in a.fix() and "--max-model-len" in b.fix() and "OLLAMA_CONTEXT_LENGTH" in c.fix()
    embedded = tk.LLM(cache="off").check()
    assert (embedded.server, embedded.context) == ("embedded", 4096) and "gguf" in embedded.weights


def test_a_step_that_cannot_fit_warns_before_its_first_request(folder, prompt):
    with LlamaServer(n_ctx=1000) as srv:
        llm = tk.LLM("openai/qwen", api_base=srv.openai_url, folder=folder)
        seen = []
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = lambda message, *a, **k: seen.append((str(message), srv.chats))
            out = run(llm, prompt, frame("short one", " ".join(["word"] * 1200)))
    [(message, requests_then)] = [w for w in seen if "longest request" in w[0]]
    assert requests_then == 0
    assert "holds 1000" in message and "llama-server: start it with a larger -c" in message
    # the server refuses the long one with its own 400; the reason says how to fix it
    assert out["s.status"].tolist() == ["ok", "failed"]
    assert "exceed_context_size_error" in out.loc[1, "s.error"] and "larger -c" in out.loc[1, "s.error"]


def test_vllm_refusal_says_max_model_len(folder, prompt):
    with VLLMServer(max_model_len=500) as srv:
        out = run(tk.LLM("hosted_vllm/qwen", api_base=srv.openai_url, folder=folder), prompt,
                  frame(" ".join(["w"] * 600)))
    assert "maximum context length is 500" in out.loc[0, "s.error"] and "--max-model-len" in out.loc[0, "s.error"]


def test_swapped_weights_behind_one_alias_are_answered_again_and_both_kept(folder, prompt):
    df = frame("one", "two")
    with LlamaServer() as srv:
        def again():
            before = srv.chats
            return run(tk.LLM("openai/qwen", api_base=srv.openai_url, folder=folder), prompt, df), srv.chats - before
        first, sent = again()
        assert sent == 2 and first["s"].str.startswith("/models/qwen-a.gguf says").all()
        srv.swap("/models/qwen-b.gguf", 5_000_000_000)
        with pytest.warns(ServerWarning, match="now serves /models/qwen-b.gguf"):
            second, sent = again()
        assert sent == 2 and second["s"].str.startswith("/models/qwen-b.gguf says").all()
        again_b, sent = again()
        assert sent == 0 and again_b["s"].tolist() == second["s"].tolist()
        srv.swap("/models/qwen-a.gguf", 4_683_073_184)  # back: the old answers were kept
        back, sent = again()
        assert sent == 0 and back["s"].tolist() == first["s"].tolist()
    rows = [json.loads(r) for r, in Cache(folder / "cache.sqlite")._db().execute("SELECT response FROM calls")]
    weights = sorted(r["served"]["weights"].split()[0] for r in rows)
    assert weights == ["/models/qwen-a.gguf"] * 2 + ["/models/qwen-b.gguf"] * 2
    assert {r["served"]["fingerprint"] for r in rows} == {"b6710-74b8fc17"}


def test_a_repulled_ollama_tag_is_answered_again(folder, prompt):
    with OllamaServer() as srv:
        llm = lambda: tk.LLM("ollama_chat/qwen2.5:7b", api_base=srv.url, folder=folder)  # noqa: E731
        run(llm(), prompt, frame("one"))
        run(llm(), prompt, frame("one"))
        assert srv.chats == 1
        srv.digest = "sha256:" + "b" * 64  # ollama pull brought new weights under the same tag
        with pytest.warns(ServerWarning, match="b" * 64):
            run(llm(), prompt, frame("one"))
        assert srv.chats == 2


def test_a_fleet_serving_the_same_weights_shares_one_cache(folder, prompt, loopback_llm):
    df = frame("one", "two", "three")
    with LlamaServer() as a, LlamaServer() as b, LlamaServer() as c:
        run(tk.LLM("openai/qwen", api_base=a.openai_url, folder=folder), prompt, df)
        fleet = tk.LLM("openai/qwen", deployments=[{"api_base": b.openai_url}, {"api_base": c.openai_url}],
                       folder=folder)
        out = run(fleet, prompt, df)
        assert (a.chats, b.chats + c.chats) == (3, 0) and (out["s.status"] == "ok").all()
        c.swap("/models/other.gguf", 1)  # one deployment now serves other weights: its answers differ
        out = run(tk.LLM("openai/qwen", api_base=c.openai_url, folder=folder), prompt, df)
        assert c.chats == 3 and out["s"].str.startswith("/models/other.gguf").all()


def test_old_cache_rows_without_weights_keep_answering(folder, prompt):
    """A cache written before answers recorded their weights (and every recording) answers as before."""
    with LlamaServer() as srv:
        llm = tk.LLM("openai/qwen", api_base=srv.openai_url, folder=folder)
        step = tk.Step("s", prompt, llm, max_retries=0)
        messages = step.preview(frame("one"))
        llm.cache.put(llm.key(messages, step.params), llm.model, messages, step.params,
                      {"text": "old answer", "reasoning": "", "finish_reason": "stop", "prompt_tokens": 5,
                       "completion_tokens": 2, "cost": None, "seconds": 0.1})
        llm.cache.flush()
        out = step.run(frame("one"))
        assert srv.chats == 0 and out.loc[0, "s"] == "old answer"


@pytest.mark.parametrize("fields", [{"reasoning": "plan"}, {"reasoning": "plan", "reasoning_content": None},
                                    {"reasoning": "plan", "reasoning_content": "plan"},
                                    {"reasoning_content": "plan"}],
                         ids=["0.10+", "0.10+ with a null reasoning_content", "both", "before 0.10"])
@pytest.mark.parametrize("transport", ["http", "litellm"])
def test_vllm_reasoning_is_kept_apart_in_every_form(fields, transport, folder, prompt):
    with VLLMServer(reasoning=fields) as srv:
        out = run(tk.LLM("hosted_vllm/qwen", api_base=srv.openai_url, folder=folder, transport=transport),
                  prompt, frame("one"))
    assert out.loc[0, "s.status"] == "ok" and out.loc[0, "s.reasoning"] == "plan"
    assert "plan" not in out.loc[0, "s"]


@pytest.mark.parametrize("transport", ["http", "litellm"])
def test_vllm_0_12_gets_guided_json_in_a_form_it_enforces(transport, folder):
    schema = {"type": "object", "properties": {"year": {"type": "integer"}}, "required": ["year"]}
    with VLLMServer(version=(0, 12)) as srv:
        llm = tk.LLM("hosted_vllm/qwen", api_base=srv.openai_url, folder=folder, transport=transport)
        answer = llm.complete("When?", extra_body={"guided_json": schema})
        choice = llm.complete("Yes or no?", extra_body={"guided_choice": ["yes", "no"]})
        bodies = [r["body"] for r in srv.requests]
    assert json.loads(answer.text) == {"year": 1} and choice.text == "yes"
    assert bodies[0]["response_format"]["json_schema"]["schema"] == schema
    assert "guided_json" not in json.dumps(bodies[0])
    assert bodies[1].get("structured_outputs", bodies[1].get("extra_body", {}).get("structured_outputs")) \
        == {"choice": ["yes", "no"]}


def test_a_step_refuses_guided_json_for_schema(prompt):
    with pytest.raises(ValueError, match="schema="):
        tk.Step("s", prompt, tk.LLM(cache="off"), extra_body={"guided_json": {"type": "object"}})


def test_llama_server_accepts_a_schema_it_does_not_enforce_and_the_answer_is_checked_here(folder, prompt):
    from pydantic import BaseModel

    class Fact(BaseModel):
        subject: str
        year: int

    with LlamaServer(answer='{"subject": "the tower", "year": "long ago"}') as srv:
        out = tk.Step("s", prompt, tk.LLM("openai/qwen", api_base=srv.openai_url, folder=folder),
                      schema=Fact, max_retries=1).run(frame("one"))
        sent = srv.requests[0]["body"]["response_format"]
    assert sent["type"] == "json_schema"  # it took the schema without a word ...
    assert out.loc[0, "s.status"] == "failed" and "year" in out.loc[0, "s.error"]  # ... and broke it
    assert srv.chats == 2  # the validation problem went back to the model once


class _ShowStallsForLitellm(OllamaServer):
    """An ollama whose /api/show never answers litellm's own price lookup (it asks with "name",
    the toolkit's probe with "model"): litellm makes that lookup with a blocking client, no timeout,
    on the event loop the toolkit's calls share."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.stalled = 0

    async def _show(self, request):
        body = json.loads(await request.read())
        if "name" in body and "model" not in body:
            self.stalled += 1
            await asyncio.sleep(3600)
        return await super()._show(request)


def test_litellms_price_lookup_never_stalls_an_ollama_run(folder, prompt):
    with _ShowStallsForLitellm(modelfile_ctx=8192) as srv:
        llm = tk.LLM("ollama_chat/qwen2.5:7b", api_base=srv.url, folder=folder)
        out = run(llm, prompt, frame("one", "two", "three"))
        assert list(out["s.status"]) == ["ok"] * 3
        llm.check()  # the shared event loop still answers after the step's calls settled
        assert srv.stalled == 0
