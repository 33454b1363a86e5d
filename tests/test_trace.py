"""tk.trace: one sample through every step, read back from the cache as it was sent and answered,
compared with what a real loopback server received and sent; escaped when shown as HTML."""

import itertools
import json

import pytest

import toolkit as tk
from tests.loopback import LoopbackServer

ITEMS = """params: {max_tokens: 40}
messages:
  - system: List three points, as a JSON list.
  - user: "Points of: {text}"
"""
SAY = """params: {max_tokens: 40, temperature: 0.7}
messages:
  - system: Say it in one line.
  - user: "Say: {items}"
"""
EVIL = "<img src=x onerror=alert(1)>"


def steps(df, sample):
    """The trace as the viewer gets it: toolkit.trace.steps, plain data."""
    from toolkit.trace import steps as found

    return found(df, sample)


def pipeline_server(n="ignore"):
    """Step "items" answers a list; step "say" answers with reasoning, "answer N" and an HTML payload."""
    numbers = itertools.count()

    def reply(body):
        if "List three" in body["messages"][0]["content"]:
            text = body["messages"][-1]["content"].removeprefix("Points of: ")
            return json.dumps([f"{text}, {k} point" for k in ("first", "second", "third")])
        n = next(numbers)
        return f"<think>thinking {n}</think>answer {n} {EVIL}"
    return LoopbackServer(latency=0, reply=reply, n=n)


def odd(value, row):
    return None if int(value.split()[1]) % 2 else f"answer {value.split()[1]} is even"


def run_pipeline(srv, loopback_llm, prompt_file, rows, **say):
    llm = loopback_llm(srv, max_concurrent=1)
    items = tk.Step("items", prompt_file(ITEMS, "items.yaml"), llm, parse="json")
    step = tk.Step("say", prompt_file(SAY, "say.yaml"), llm, validate=odd, max_retries=2, **say)
    return step, step.run(items.run(rows(2)))


def test_a_sample_is_traced_through_every_step_as_the_server_saw_it(loopback_llm, prompt_file, rows, tmp_path):
    with pipeline_server() as srv:
        step, out = run_pipeline(srv, loopback_llm, prompt_file, rows)
        sent = [r["body"] for r in srv.requests]
    position = int(((out["say.attempts"] > 1) & (out["say.status"] == "ok")).to_numpy().argmax())  # fed back, then ok
    row, sample = out.iloc[position], tk.frame.sample_ids(out)[position]
    found = steps(out, sample)
    assert [s["step"] for s in found] == ["items", "say"] and json.loads(json.dumps(found)) == found
    items, say = found
    assert items["item"] == row["items.item"] and items["output"] == row["items"]
    asked = [b for b in sent if b["messages"][-1]["content"] == f"Points of: {row['text']}"]
    assert items["messages"] == asked[0]["messages"] and items["attempts"][0]["answer"].startswith(f'["{row["text"]}')

    chain = [b for b in sent if b["messages"][1]["content"] == f"Say: {row['items']}"]
    exchange = max(chain, key=lambda b: len(b["messages"]))["messages"]
    assert say["messages"] == exchange[:2], "the first request, exactly as the server got it"
    assert len(say["attempts"]) == row["say.attempts"] == (len(exchange) - 2) // 2 + 1
    for k, attempt in enumerate(say["attempts"][:-1]):
        assert attempt["answer"] == exchange[2 + 2 * k]["content"]
        assert attempt["feedback"] == exchange[3 + 2 * k]["content"]
        assert attempt["problem"] == f"answer {attempt['answer'].split()[1]} is even"
        assert attempt["reasoning"] == f"thinking {attempt['answer'].split()[1]}"
    last = say["attempts"][-1]
    assert last["answer"] == row["say"] == row["say.raw"] and last["problem"] is None and last["feedback"] is None
    assert last["prompt_tokens"] == sum(len(m["content"].split()) for m in exchange) and last["completion_tokens"] > 0
    assert isinstance(last["seconds"], float) and say["model"] == "openai/loopback"
    assert say["params"] == {"max_tokens": 40, "temperature": 0.7}

    (tmp_path / "say.yaml").write_text(SAY.replace("Say it in one line.", "Something else entirely."))
    assert steps(out, sample)[1]["messages"] == say["messages"], "from the cache, not the edited prompt file"

    shown = tk.trace(out, sample)
    page = shown._repr_html_()
    assert EVIL not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "thinking" in page and "<script" not in page
    text = repr(shown)
    assert "2. say" in text and "sent back: Your answer could not be used" in text and EVIL in text


def test_a_reasked_row_traces_its_new_answers_and_an_old_frame_its_old_ones(loopback_llm, prompt_file, rows):
    with pipeline_server(n="honour") as srv:
        step, out = run_pipeline(srv, loopback_llm, prompt_file, rows, n=2)
        step.max_retries, step.validate = 0, lambda v, r: "never"
        old = step.run(out.drop(columns=[c for c in out if c.startswith("say")]).drop_duplicates("items"))
        new = step.run(out.drop(columns=[c for c in out if c.startswith("say")]).drop_duplicates("items"),
                       reask="failed")
    before, after = steps(old, "c0/0/1")[1], steps(new, "c0/0/1")[1]  # item 0 of c0, its candidate 1
    assert before["candidate"] == 1 and before["attempts"][-1]["answer"] == old["say.raw"].iat[1]
    assert after["attempts"][-1]["answer"] == new["say.raw"].iat[1] != old["say.raw"].iat[1]
    assert after["note"] is None and before["note"].startswith("asked again since"), "found under its earlier key"
    assert before["attempts"][-1]["prompt_tokens"] > 0, "the earlier answer as stored, tokens and all"


def test_what_the_cache_does_not_hold_is_said(loopback_llm, prompt_file, rows, folder, tmp_path):
    with LoopbackServer(latency=0, faults=lambda i, body: "500" if "row 1" in str(body) else None) as srv:
        llm = loopback_llm(srv, retry=tk.llm.Retry(max_attempts=1))
        out = tk.Step("say", prompt_file(SAY.replace("{items}", "{text}")), llm).run(rows(2))
    failed = steps(out, "c1")[0]
    assert failed["status"] == "failed" and failed["attempts"][0]["answer"] is None
    assert failed["attempts"][0]["problem"].startswith("server: HTTP 500")
    with pytest.raises(KeyError, match="no sample 'c9'.*c0"):
        steps(out, "c9")
    assert steps(out.drop(columns="say.call"), "c0")[0]["note"].startswith("not recorded")
    elsewhere = out.copy()
    elsewhere.attrs["folder"] = str(tmp_path / "another")
    assert "is not in the cache" in steps(elsewhere, "c0")[0]["note"]


def test_a_replayed_recording_is_traced(tmp_path, monkeypatch):
    """The committed new_pipeline recording: its calls are in the cache replay loads, and a row that
    needed feedback shows it."""
    root = __import__("pathlib").Path(__file__).resolve().parent.parent
    monkeypatch.chdir(root / "notebooks")
    llm = tk.LLM(folder=tmp_path, replay="recordings/new_pipeline.jsonl")
    work = tk.chunk(tk.load_texts("../data/factual_qa"), max_tokens=200).head(5)

    def parse(answer):
        return answer.strip().splitlines()[0].strip(' "*#')

    def validate(summary, row):
        if not 4 <= len(summary.split()) <= 40:
            return f"the summary has {len(summary.split())} words; write one sentence of 4 to 40 words"
        if not summary.endswith((".", "!", "?")):
            return "write one complete sentence"
    out = tk.Step("first", "../prompts/new_pipeline/first_step_v2.yaml", llm, parse=parse, validate=validate).run(work)
    retried = out[out["first.attempts"] > 1].iloc[0]
    found = steps(out, retried["chunk_id"])[0]
    assert len(found["attempts"]) == retried["first.attempts"]
    assert found["attempts"][-1]["answer"] == retried["first.raw"]
    assert all(a["feedback"].startswith("Your answer could not be used") for a in found["attempts"][:-1])


def test_a_folder_with_a_replaying_llm_beside_a_live_one_traces_the_live_calls(loopback_llm, prompt_file, rows,
                                                                              tmp_path):
    """docs/loop.md does this: the folder's first LLM replays a recording, a second one calls a
    model; a trace of the second's step must read its calls, not only the recording."""
    with pipeline_server() as srv:
        recorded = loopback_llm(srv, folder=tmp_path / "rec")
        recorded.complete_many(["r1"], max_tokens=5)
        recording = tmp_path / "rec.jsonl"
        recorded.cache.export(recording)
        replaying = loopback_llm(srv, replay=recording)  # the test's run folder
        live = loopback_llm(srv)  # the same folder
        out = tk.Step("items", prompt_file(ITEMS, "items.yaml"), live, parse="json").run(rows(1))
        assert replaying.cache.path == live.cache.path
    found = steps(out, out["chunk_id"].iloc[0] + "/0")
    assert found[0]["note"] is None and found[0]["messages"][-1]["content"].startswith("Points of: ")
