"""Several candidate answers per row (a step's n=), against real servers on 127.0.0.1: one that
honours n (OpenAI, vLLM), one that ignores it (llama-cpp-python's and ollama's servers) and one
that refuses it (llama.cpp's llama-server); the embedded model and llama-cpp-python's own server.
Each candidate is parsed, validated and cached on its own; a judge or a person picks among them,
keep() keeps the pick, and the picks become DPO pairs within one prompt."""

import collections
import itertools
import json
import re
import warnings

import pandas as pd
import pytest

import toolkit as tk
from tests.loopback import LoopbackServer
from toolkit.decisions import Store
from toolkit.llm import ServerWarning
from toolkit.outputs import output_hash

PROMPT = """params: {max_tokens: 20, temperature: 0.8}
messages:
  - system: Answer with a number.
  - user: "{text}"
"""
PICK = """params: {max_tokens: 60}
messages:
  - system: Say which answer is better, as JSON.
  - user: "Question: {text} FIRST: {first} SECOND: {second}"
"""
FRUIT = "params: {max_tokens: 8, temperature: 1.0}\nmessages:\n  - user: 'Name a fruit.'\n"


def counting():
    """A reply that never says the same twice: "answer 0", "answer 1", ..."""
    numbers = itertools.count()
    return lambda body: f"answer {next(numbers)}"


def not_seven(value, row):
    """Refuses an answer ending in 7, so a candidate is retried on its own."""
    return "no sevens" if value.endswith("7") else None


def run(srv, loopback_llm, prompt_file, df, n=3, **kw):
    step = tk.Step("say", prompt_file(PROMPT), loopback_llm(srv, **kw.pop("llm", {})), n=n, **kw)
    return step, step.run(df)


def test_a_server_that_honours_n_answers_every_candidate_in_one_request(loopback_llm, prompt_file, rows):
    with LoopbackServer(latency=0, reply=counting(), n="honour") as srv:
        step, out = run(srv, loopback_llm, prompt_file, rows(4), validate=not_seven)
        firsts = [r["body"] for r in srv.requests if len(r["body"]["messages"]) == 2]
        assert len(firsts) == 4 and all(b["n"] == 3 for b in firsts), "one request with n=3 per row"
        retries = [r["body"] for r in srv.requests if len(r["body"]["messages"]) > 2]
        assert "answer 7" in {b["messages"][-2]["content"] for b in retries}  # the refused one, fed back
        assert all("n" not in b for b in retries), "a candidate's retry asks for that candidate only"
        assert len(out) == 12 and list(out["say.candidate"]) == [0, 1, 2] * 4
        assert list(out["say.candidate_of"]) == [f"c{i}" for i in range(4) for _ in range(3)]
        assert (out["say.status"] == "ok").all() and out["say"].is_unique
        assert "answer 7" not in set(out["say"])
        assert list(out.index) == [i for i in range(4) for _ in range(3)]  # under their row's index
        assert out.attrs["step"]["candidates"] == 3 and out.attrs["step"]["rows"] == 4

        srv.reset()
        again = step.run(rows(4))
        assert srv.count == 0, "a rerun sends nothing: every candidate is cached under its own key"
        pd.testing.assert_frame_equal(again.drop(columns="say.call"), out.drop(columns="say.call"))

        more = tk.Step("say", step.prompt, step.llm, n=5, validate=not_seven).run(rows(4))
        sent = [r["body"] for r in srv.requests if len(r["body"]["messages"]) == 2]
        assert len(sent) == 4 and all(b["n"] == 2 for b in sent), "raising n to 5 asks for the 2 new ones"
        assert list(more["say"][more["say.candidate"] < 3]) == list(out["say"])
        srv.reset()
        fewer = tk.Step("say", step.prompt, step.llm, n=2, validate=not_seven).run(rows(4))
        assert srv.count == 0 and list(fewer["say"]) == list(out["say"][out["say.candidate"] < 2])


def test_every_candidate_pays_its_share_of_the_request(loopback_llm, prompt_file, rows):
    with LoopbackServer(latency=0, reply=counting(), n="honour") as srv:
        _, out = run(srv, loopback_llm, prompt_file, rows(3))
        told = [json.loads(json.dumps(r)) for r in srv.requests]
    assert len(told) == 3
    step = out.attrs["step"]
    prompt = sum(sum(len(m["content"].split()) for m in r["body"]["messages"]) for r in told)
    completion = 2 * 9  # "answer N": two words, nine answers
    assert (step["usage"]["prompt_tokens"], step["usage"]["completion_tokens"]) == (prompt, completion)
    per_row = step["per_row"]  # the candidates' shares add up to what the requests cost
    assert round(per_row["prompt_tokens"] * 3) == prompt and round(per_row["completion_tokens"] * 3) == completion
    assert per_row["calls"] == 3  # a row's three candidates: one call each, by share


def asked_for_n(bodies):
    """The rows (their user message) whose requests asked for several answers, one entry per request."""
    return [b["messages"][-1]["content"] for b in bodies if b.get("n")]


def test_a_server_that_ignores_n_gets_one_request_per_candidate(loopback_llm, prompt_file, rows):
    with LoopbackServer(latency=0, reply=counting()) as srv:  # the default: one choice whatever n says
        with pytest.warns(ServerWarning, match="ignores n"):
            step, out = run(srv, loopback_llm, prompt_file, rows(4))
        bodies = [r["body"] for r in srv.requests]
        assert len(bodies) == 12, "three requests per row: the one that asked for 3 got 1 (and it is used)"
        asked = asked_for_n(bodies)
        assert 1 <= len(asked) == len(set(asked)), "a row asks for n once at most, before it is known"
        assert len(out) == 12 and out["say"].is_unique and (out["say.status"] == "ok").all()
        srv.reset()
        step.run(rows(4, "more"))
        assert srv.count == 12 and asked_for_n([r["body"] for r in srv.requests]) == [], "known now: not asked again"


def test_a_server_that_refuses_n_gets_one_request_per_candidate(loopback_llm, prompt_file, rows):
    with LoopbackServer(latency=0, reply=counting(), n="refuse") as srv:
        with pytest.warns(ServerWarning, match="refused a request for 3 answers"):
            step, out = run(srv, loopback_llm, prompt_file, rows(3))
        bodies = [r["body"] for r in srv.requests]
        assert len(bodies) == 9 + len(asked_for_n(bodies)) and len(set(asked_for_n(bodies))) == len(asked_for_n(bodies))
        assert len(out) == 9 and out["say"].is_unique and (out["say.status"] == "ok").all()
        srv.reset()
        step.run(rows(3, "more"))
        assert srv.count == 9 and asked_for_n([r["body"] for r in srv.requests]) == []


def test_a_seed_is_moved_per_candidate_so_candidates_differ(loopback_llm, prompt_file, rows):
    """A user's seed would make every candidate the same sample: candidate i is sent seed + i."""
    with LoopbackServer(latency=0, reply=counting()) as srv:
        with pytest.warns(ServerWarning):
            run(srv, loopback_llm, prompt_file, rows(1), seed=40, llm={"max_concurrent": 1})
        assert [(r["body"].get("n"), r["body"]["seed"]) for r in srv.requests] == [(3, 40), (None, 41), (None, 42)]


def test_n_at_temperature_0_is_refused(loopback_llm, prompt_file, rows, server):
    llm = loopback_llm(server)
    with pytest.raises(ValueError, match="temperature 0.*temperature above 0"):
        tk.Step("say", prompt_file(PROMPT), llm, n=3, temperature=0)
    cold = prompt_file(PROMPT.replace("0.8", "0"), "cold.yaml")
    with pytest.raises(ValueError, match="n=3 at temperature 0"):
        tk.Step("say", cold, llm, n=3)
    path = prompt_file(PROMPT, "edited.yaml")
    step = tk.Step("say", path, llm, n=3)
    path.write_text(PROMPT.replace("0.8", "0"))  # edited after the Step was made: refused before sending
    with pytest.raises(ValueError, match="temperature 0"):
        step.run(rows(2))
    assert server.count == 0
    for bad in (0, 2.5, "3", 1000):
        with pytest.raises(ValueError, match="candidate answers a row"):
            tk.Step("say", prompt_file(PROMPT), llm, n=bad)


def test_a_provider_batch_and_a_judge_refuse_candidates(loopback_llm, prompt_file, rows, server):
    step = tk.Step("say", prompt_file(PROMPT), loopback_llm(server), n=2)
    with pytest.raises(ValueError, match="candidates a row"):
        step.requests(rows(2))
    with pytest.raises(ValueError, match="one verdict a row"):
        tk.Judge("best", prompt_file(PICK, "pick.yaml"), loopback_llm(server), verdict=tk.Preference, n=2)


def test_a_skipped_row_comes_out_once_and_a_failed_candidate_keeps_its_row(loopback_llm, prompt_file, rows):
    def reply(body):
        return "" if "row 1" in body["messages"][-1]["content"] else "answer 1"
    with LoopbackServer(latency=0, reply=reply, n="honour") as srv:
        step = tk.Step("say", prompt_file(PROMPT), loopback_llm(srv), n=2, max_retries=0,
                       when=lambda row: row["text"] != "row 2")
        out = step.run(rows(3))
    assert list(out["say.status"]) == ["ok", "ok", "failed", "failed", "skipped"]
    assert list(out["say.candidate"].astype(object).where(out["say.candidate"].notna(), None)) == [0, 1, 0, 1, None]
    assert list(out["say.candidate_of"]) == ["c0", "c0", "c1", "c1", "c2"]
    assert out.attrs["step"]["ok"] == 2 and out.attrs["step"]["failed"] == 2 and out.attrs["step"]["skipped"] == 1


def judge_server(position_bias=False):
    """Prefers the answer with the larger number, whichever order it is shown in (or, biased,
    always the first shown)."""
    numbers = itertools.count()

    def reply(body):
        last = body["messages"][-1]["content"]
        if "FIRST:" not in last:
            return f"answer {next(numbers)}"
        first, second = (int(x) for x in re.findall(r"answer (\d+)", last))
        better = "first" if position_bias or first > second else "second"
        return json.dumps({"reason": f"{max(first, second)} is larger", "better": better})
    return LoopbackServer(latency=0, reply=reply, n="honour")


def test_a_judge_picks_the_best_candidate_and_keep_takes_it(loopback_llm, prompt_file, rows):
    with judge_server() as srv:
        llm = loopback_llm(srv)
        out = tk.Step("say", prompt_file(PROMPT), llm, n=3).run(rows(3))
        judge = tk.Judge("best", prompt_file(PICK, "pick.yaml"), llm, verdict=tk.Preference)
        picked = judge.pick(out)
        shown = [r["body"]["messages"][-1]["content"] for r in srv.requests if "FIRST:" in str(r["body"])]
    numbers = out["say"].str.removeprefix("answer ").astype(int)
    best = numbers.groupby(out["say.candidate_of"]).transform("max") == numbers
    assert list(picked["best"]) == ["picked" if b else "passed over" for b in best]
    assert (picked["best.status"] == "ok").all() and picked.attrs["judge"]["inconsistent"] == 0
    assert len(shown) == 3 * 2 * 2, "two comparisons a sample (3 candidates), each in both orders"
    pairs = [re.findall(r"answer \d+", s) for s in shown]
    assert all([b, a] in pairs for a, b in pairs), "each comparison also shown the other way round"

    kept, dropped = tk.keep(picked, steps=["say"])
    assert list(kept["say"]) == list(out["say"][best])
    assert set(dropped["dropped_because"]) == {f"say: candidate {c} kept (picked by judge:best)"
                                               for c in out["say.candidate"][best]}
    dpo = tk.preference_pairs(picked, source="judge")
    assert len(dpo) == 6 and (dpo["prompt"] == dpo["id"].map(dict(zip(out["chunk_id"], out["text"])))).all()
    assert all(int(c.split()[1]) > int(r.split()[1]) for c, r in zip(dpo["chosen"], dpo["rejected"]))


def test_a_judge_whose_pick_flips_with_the_order_picks_nothing(loopback_llm, prompt_file, rows):
    with judge_server(position_bias=True) as srv:
        llm = loopback_llm(srv)
        out = tk.Step("say", prompt_file(PROMPT), llm, n=2).run(rows(3))
        picked = tk.Judge("best", prompt_file(PICK, "pick.yaml"), llm, verdict=tk.Preference).pick(out)
    assert picked["best"].isna().all() and picked.attrs["judge"]["share"] == 1.0
    kept, _ = tk.keep(picked, steps=["say"])
    assert list(kept["say.candidate"]) == [0, 0, 0], "no pick: the first candidate that passed"
    with Store(out.attrs["folder"]) as store:
        assert store.picks("judge:best") == {}, "a pick that flips with the order is no pick"
    assert tk.preference_pairs(picked, source="judge:best").empty


def test_a_persons_pick_wins_and_counts_only_on_the_outputs_it_was_made_on(loopback_llm, prompt_file, rows, folder):
    with judge_server() as srv:
        llm = loopback_llm(srv)
        out = tk.Step("say", prompt_file(PROMPT), llm, n=3, validate=lambda v, r: "no" if v == "answer 0" else None,
                      max_retries=0).run(rows(2))
        tk.Judge("best", prompt_file(PICK, "pick.yaml"), llm, verdict=tk.Preference).pick(out)
    hashes = [output_hash(v) for v in out["say"]]
    kept, _ = tk.keep(out, steps=["say"])
    assert list(kept["say.candidate"]) == [2, 2], "the judge's pick"
    with Store(folder) as store:  # the person picks candidate 1 of c0 over the others
        store.choose("c0", hashes[1], [hashes[0], hashes[2]])
    kept, dropped = tk.keep(out, steps=["say"])
    assert list(kept["say.candidate"]) == [1, 2], "the person's pick wins over the judge's"
    assert "say: candidate 1 kept (picked by person)" in set(dropped["dropped_because"])
    pairs = tk.preference_pairs(out, path="within.jsonl").sort_values("rejected")
    # candidate 0 failed its validator: as the rejected one, its raw answer stands for it
    assert pairs.to_dict("records") == [{"id": "c0", "prompt": "row 0", "chosen": "answer 1", "rejected": r}
                                        for r in ("answer 0", "answer 2")]
    written = [json.loads(line) for line in (folder / "within.jsonl").read_text().splitlines()]
    assert sorted(written, key=lambda r: r["rejected"]) == [{"prompt": "row 0", "chosen": "answer 1", "rejected": r}
                                                             for r in ("answer 0", "answer 2")]
    changed = out.copy()
    changed.iloc[1, changed.columns.get_loc("say")] = "answer 99"  # the picked output is not the one picked now
    kept, dropped = tk.keep(changed, steps=["say"])
    assert list(kept["say.candidate"]) == [1, 2], "picks on another output (the person's, the judge's) do not count"
    assert "say: candidate 1 kept (the first that passed)" in set(dropped["dropped_because"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert tk.preference_pairs(changed).attrs["left_out"] == {"picked on outputs that changed since": 2}


def test_without_picks_keep_takes_the_first_candidate_that_passed(loopback_llm, prompt_file, rows):
    with LoopbackServer(latency=0, reply=counting(), n="honour") as srv:
        out = tk.Step("say", prompt_file(PROMPT), loopback_llm(srv), n=3, max_retries=0,
                      validate=lambda v, r: "too small" if int(v.split()[1]) < 1 else None).run(rows(2))
    kept, dropped = tk.keep(tk.labels(out), steps=["say"])
    assert list(kept["say.candidate"]) == [1, 0] and list(kept["say"]) == ["answer 1", "answer 3"]
    assert len(kept) + len(dropped) == 6
    why = dict(zip(dropped["say"].fillna("-") + "/" + dropped["say.candidate"].astype(str), dropped["dropped_because"]))
    assert why["-/0"].startswith("say.status=failed")
    assert why["answer 2/2"] == "say: candidate 1 kept (the first that passed)"
    funnel = tk.funnel(out, steps=["say"])
    assert funnel.kept == 2 and funnel.rows == 6


def per_prompt():
    """A reply numbered per prompt: "row 0 #0", "row 0 #1", ..., whatever order the rows arrive in."""
    seen = collections.Counter()

    def reply(body):
        text = body["messages"][-1]["content"]
        seen[text] += 1
        return f"{text} #{seen[text] - 1}"
    return reply


def test_picks_and_corrections_together_a_correction_of_the_picked_candidate_is_kept(loopback_llm, prompt_file,
                                                                                       rows, folder):
    """keep(): the pick, else the first candidate you corrected, else the first that passed; the kept
    candidate's correction in place of its text. preference_pairs(df): the picks' pairs within a
    prompt and a pair per correction."""
    with LoopbackServer(latency=0, reply=per_prompt(), n="honour") as srv:
        out = tk.Step("say", prompt_file(PROMPT), loopback_llm(srv), n=3, max_retries=0,
                      validate=lambda v, r: "refused" if v == "row 2 #0" else None).run(rows(3))
    assert list(out["say.raw"]) == [f"row {r} #{c}" for r in range(3) for c in range(3)]
    h = [output_hash(v) for v in out["say"]]
    with Store(folder) as store:
        store.choose("c0", h[2], [h[0], h[1]])  # c0: candidate 2 picked, and corrected below
        store.choose("c2", h[8], [h[7]])        # c2: candidate 2 picked; candidate 0 (failed) corrected
    tk.correct(out, "c0/2", "Zero, as a person wrote it.")
    tk.correct(out, "c1/1", "One, as a person wrote it.")  # c1: no pick, candidate 1 corrected
    tk.correct(out, "c2/0", "Two, as a person wrote it.")
    labelled = tk.labels(out)
    kept, dropped = tk.keep(labelled, steps=["say"])
    assert list(kept["say.candidate"]) == [2, 1, 2]
    assert list(kept["say"]) == ["Zero, as a person wrote it.", "One, as a person wrote it.", "row 2 #2"]
    assert kept.attrs["corrected"] == {"say": 2}, "c2's correction is of a candidate not kept"
    why = dict(zip(dropped["say.raw"], dropped["dropped_because"]))
    assert why["row 1 #0"] == "say: candidate 1 kept (the first you corrected)"
    assert why["row 2 #0"] == "say: candidate 2 kept (picked by person)", "corrected, so answered: then not picked"
    assert len(kept) + len(dropped) == 9

    pairs = tk.preference_pairs(labelled, path="both.jsonl")
    assert pairs.attrs["pairs"] == {"picks": 3, "corrections": 3}
    assert sorted(map(tuple, pairs[["id", "chosen", "rejected"]].to_numpy())) == [
        ("c0", "row 0 #2", "row 0 #0"), ("c0", "row 0 #2", "row 0 #1"),
        ("c0/2", "Zero, as a person wrote it.", "row 0 #2"), ("c1/1", "One, as a person wrote it.", "row 1 #1"),
        ("c2", "row 2 #2", "row 2 #1"), ("c2/0", "Two, as a person wrote it.", "row 2 #0")]
    assert len((folder / "both.jsonl").read_text().splitlines()) == 6
    only = tk.preference_pairs(labelled, corrections=False)
    assert only.attrs["pairs"] == {"picks": 3, "corrections": 0} and set(only["id"]) == {"c0", "c2"}
    assert list(tk.labels(kept)["say.corrected"].notna()) == [True, True, False], (
        "a candidate keeps its id (<sample>/<candidate>) in a frame holding only some of them")
    with pytest.raises(ValueError, match="row id='c0/2'.*your text already"):
        tk.preference_pairs(kept)  # the kept frame holds the corrections: no model answer to reject


@pytest.mark.embedded_model
def test_the_embedded_model_gives_different_candidates_in_one_call(tmp_path, prompt_file, rows):
    llm = tk.LLM(folder=tmp_path)
    step = tk.Step("say", prompt_file(FRUIT), llm, n=2, accept_truncated=True, max_retries=0)
    out = step.run(rows(1))
    assert (out["say.status"] == "ok").all() and out["say"].nunique() == 2, "seeds 0 and 1: two samples, not one twice"
    assert out.attrs["step"]["usage"]["calls"] == 1, "the embedded model honours n: one call"
    again = step.run(rows(1))
    assert again.attrs["step"]["usage"]["calls"] == 0 and list(again["say"]) == list(out["say"])


def test_llama_cpp_pythons_server_ignores_n_and_the_toolkit_asks_again(model, tmp_path, prompt_file, rows):
    """The real llama-cpp-python server answers one choice whatever n says: the toolkit sees it, says
    so, and sends the other candidate as a request of its own."""
    llm = tk.LLM("openai/smollm2", api_base=model.url, api_key="k", folder=tmp_path)
    step = tk.Step("say", prompt_file(FRUIT), llm, n=2, accept_truncated=True, max_retries=0)
    with pytest.warns(ServerWarning, match="ignores n"):
        out = step.run(rows(1))
    assert [r["body"].get("n") for r in model.proxy.requests] == [2, None]
    assert (out["say.status"] == "ok").all() and out["say"].nunique() == 2
    model.proxy.reset()
    step.run(rows(1))
    assert model.proxy.count == 0
