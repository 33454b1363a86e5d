"""Judges: verdicts parsed and retried (loopback server, embedded model), pairwise judging with the
order swapped, agreement with a person's labels and picks against figures computed here by hand,
and the gate that keeps an uncalibrated judge from filtering."""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import toolkit as tk
from tests.loopback import LoopbackServer
from toolkit.decisions import Store
from toolkit.judge import uncertainty
from toolkit.outputs import output_hash

JUDGE = """params: {max_tokens: 80}
messages:
  - system: Say whether the answer is right, as JSON.
  - user: "Answer: {answer}"
"""
PAIRWISE = """params: {max_tokens: 80}
messages:
  - system: Say which rewrite is plainer, as JSON.
  - user: "Passage: {text} First: {first} Second: {second}"
"""


def last_user(body):
    return [m for m in body["messages"] if m["role"] == "user"][-1]["content"]


def answer_of(body):
    return body["messages"][1]["content"].removeprefix("Answer: ")


def frame(n, bad=()):
    """n samples whose answer is "right i", or "wrong i" at the positions in `bad`."""
    return pd.DataFrame({"chunk_id": [f"c{i}" for i in range(n)],
                         "answer": [f"{'wrong' if i in bad else 'right'} {i}" for i in range(n)]})


def run_judge(loopback_llm, prompt_file, df, fails, verdict=tk.PassFail, **kw):
    """The judge's verdict on each answer: fail for the answers in `fails` (scores: the dict)."""
    def reply(body):
        a = answer_of(body)
        if verdict is tk.Score:
            return json.dumps({"reason": f"graded {a}", "score": fails[a]})
        return json.dumps({"reason": f"checked {a}", "verdict": "fail" if a in fails else "pass"})
    with LoopbackServer(latency=0, reply=reply) as srv:
        judge = tk.Judge("right", prompt_file(JUDGE, "judge.yaml"), loopback_llm(srv), judged="answer",
                         verdict=verdict, **kw)
        return judge, judge.run(df)


def label(folder, df, values, output=None):
    store = Store(folder)
    for sid, answer, value in zip(df["chunk_id"], df["answer"], values):
        store.label(sid, output or output_hash(answer), value)
    store.close()


# -- a judge is a step ---------------------------------------------------------------------------

def test_verdict_columns_and_the_schema_sent(loopback_llm, prompt_file):
    df = frame(4, bad={1})
    judge, out = run_judge(loopback_llm, prompt_file, df, {"wrong 1"})
    assert out["right"].tolist() == ["pass", "fail", "pass", "pass"]
    assert out["right.reason"].tolist() == [f"checked {a}" for a in df["answer"]]
    assert out["right.judged"].tolist() == [output_hash(a) for a in df["answer"]]
    assert (out["right.status"] == "ok").all() and "verdict" not in out and "reason" not in out
    assert tk.frame.steps_in(out) == ["right"]


def test_invalid_verdict_goes_back_to_the_model(loopback_llm, prompt_file):
    def reply(body):
        told = "score" in last_user(body) and "Input should be" in last_user(body)
        return json.dumps({"reason": "ok", "score": 4 if told else 7})
    with LoopbackServer(latency=0, reply=reply) as srv:
        judge = tk.Judge("grade", prompt_file(JUDGE, "judge.yaml"), loopback_llm(srv), judged="answer",
                         verdict=tk.Score)
        out = judge.run(frame(2))
        feedback = [last_user(r["body"]) for r in srv.requests if len(r["body"]["messages"]) > 2]
    assert len(feedback) == 2 and "score: Input should be 1, 2, 3, 4 or 5 (got 7)" in feedback[0]
    assert out["grade"].tolist() == [4, 4] and out["grade"].dtype == "Int64"
    assert out["grade.attempts"].tolist() == [2, 2]


def test_a_judge_must_see_what_it_judges(loopback_llm, prompt_file, server):
    with pytest.raises(ValueError, match=r"never shows \{text\}"):
        tk.Judge("j", prompt_file(JUDGE, "judge.yaml"), loopback_llm(server), judged="text")
    with pytest.raises(ValueError, match="judged='answer'"):
        tk.Judge("j", prompt_file(JUDGE, "judge.yaml"), loopback_llm(server))
    with pytest.raises(ValueError, match=r"never shows \{first\}"):
        tk.Judge("j", prompt_file(JUDGE, "judge.yaml"), loopback_llm(server), verdict=tk.Preference)


PROMPTS = Path(__file__).parents[1] / "prompts"


def test_the_shipped_judge_prompts_show_what_they_judge(loopback_llm, server):
    llm = loopback_llm(server)
    tk.Judge("supported", PROMPTS / "factual_qa/judge_supported.yaml", llm, judged="answer")
    tk.Judge("graded", PROMPTS / "factual_qa/judge_score.yaml", llm, judged="answer", verdict=tk.Score)
    tk.Judge("plainer", PROMPTS / "style_clone/judge_plainer.yaml", llm, verdict=tk.Preference)


def test_embedded_model_gives_parsed_verdicts(folder):
    df = pd.DataFrame({"text": ["The tank holds 12 litres.", "Replace the filter every 6 months."],
                       "question": ["How much does the tank hold?", "How often is the filter replaced?"],
                       "answer": ["20 litres.", "Every 6 months."]})
    judge = tk.Judge("supported", PROMPTS / "factual_qa/judge_supported.yaml", tk.LLM(folder=folder, cache="off"),
                     judged="answer", max_retries=1)
    out = judge.run(df)
    assert out["supported.status"].tolist() == ["ok", "ok"], out["supported.error"].tolist()
    assert set(out["supported"]) <= {"pass", "fail"} and out["supported.reason"].map(type).eq(str).all()
    assert all(json.loads(raw).keys() == {"reason", "verdict"} for raw in out["supported.raw"])


# -- pairwise, both orders -----------------------------------------------------------------------

def pairwise_runs():
    base = pd.DataFrame({"chunk_id": [f"c{i}" for i in range(6)], "text": [f"passage {i}" for i in range(6)]})
    v1 = base.assign(generic=[f"old {i}" for i in range(6)], **{"generic.status": "ok"})
    v2 = base.assign(generic=[f"new {i}" for i in range(6)], **{"generic.status": "ok"})
    return v1, v2


def test_a_judge_that_prefers_the_first_position_is_all_inconsistent(loopback_llm, prompt_file, folder):
    v1, v2 = pairwise_runs()
    with LoopbackServer(latency=0, reply=lambda body: '{"reason": "the first", "better": "first"}') as srv:
        judge = tk.Judge("plainer", prompt_file(PAIRWISE, "p.yaml"), loopback_llm(srv), verdict=tk.Preference)
        out = judge.compare(v1, v2)
        assert srv.count == 12
    assert out["plainer"].tolist() == ["inconsistent"] * 6
    assert out["plainer.a_first"].tolist() == ["A"] * 6 and out["plainer.b_first"].tolist() == ["B"] * 6
    result = out.attrs["judge"]
    assert (result["inconsistent"], result["judged"], result["share"]) == (6, 6, 1.0)
    assert result["win_rate"]["n"] == 0 and result["win_rate"]["other"] == {"inconsistent": 6}
    assert Store(folder).picks(source="judge:plainer") == {}


def prefers_new(body):
    """A consistent judge: whichever rewrite starts with "new", in either position; a tie on c5."""
    text = last_user(body)
    if "passage 5" in text:
        return '{"reason": "same", "better": "tie"}'
    first = text.split("First: ")[1].split(" Second")[0]
    return json.dumps({"reason": "plainer", "better": "first" if first.startswith("new") else "second"})


def test_consistent_picks_are_the_judges_never_a_persons(loopback_llm, prompt_file, folder):
    v1, v2 = pairwise_runs()
    with LoopbackServer(latency=0, reply=prefers_new) as srv:
        judge = tk.Judge("plainer", prompt_file(PAIRWISE, "p.yaml"), loopback_llm(srv), verdict=tk.Preference)
        out = judge.compare(v1, v2)
    assert out["plainer"].tolist() == ["B"] * 5 + ["tie"]
    assert out.attrs["judge"]["win_rate"]["B"] == 5 and out.attrs["judge"]["share"] == 0.0
    store = Store(folder)
    assert store.picks(source="person") == {}
    assert store.picks(source="judge:plainer")["c0"] == [{"a": output_hash("old 0"), "b": output_hash("new 0"),
                                                         "pick": "B"}]
    assert set(tk.picks(v1, v2, folder=folder)["pick"]) == {""}
    with pytest.warns(UserWarning, match="1 ties"):
        pairs = tk.preference_pairs(v1, v2, folder=folder, source="judge")
    assert pairs["chosen"].tolist() == [f"new {i}" for i in range(5)]
    assert tk.preference_pairs(v1, v2, folder=folder).empty  # a person's: none, the judge's are not theirs


def test_pairwise_agreement_with_a_persons_picks(loopback_llm, prompt_file, folder):
    v1, v2 = pairwise_runs()
    v2.loc[4, "generic"] = "old 4"  # rerun since the person picked on c4: the judge finds no "new" side
    with LoopbackServer(latency=0, reply=prefers_new) as srv:
        judge = tk.Judge("plainer", prompt_file(PAIRWISE, "p.yaml"), loopback_llm(srv), verdict=tk.Preference)
        out = judge.compare(v1, v2)
    assert out["plainer"].tolist() == ["B"] * 4 + ["inconsistent", "tie"]
    store = Store(folder)
    for i, pick in enumerate(["B", "B", "A", "tie", "B"]):
        store.pick(f"c{i}", output_hash(f"old {i}"), output_hash(f"new {i}"), pick)
    store.close()
    a = tk.agreement(out, judge)
    person, machine = [1, 1, 0, 2], [1, 1, 1, 1]  # codes of A, B, tie on c0..c3
    p_e = sum(person.count(k) * machine.count(k) for k in range(3)) / 16
    assert (a.n, a.stale, a.other) == (4, 1, 0) and a.accuracy == 0.5
    assert a.kappa == pytest.approx((0.5 - p_e) / (1 - p_e))
    assert a.confusion["A"] == {"A": 0, "B": 1, "tie": 0} and a.confusion["tie"]["B"] == 1


# -- agreement with a person's labels --------------------------------------------------------------

def cohen(person_bad, judge_bad):
    """κ, its interval (Cohen 1960) and the confusion counts, by hand."""
    p, j = np.asarray(person_bad), np.asarray(judge_bad)
    n = len(p)
    tp, fn = np.sum(p & j), np.sum(p & ~j)
    fp, tn = np.sum(~p & j), np.sum(~p & ~j)
    po = (tp + tn) / n
    pe = ((tp + fn) * (tp + fp) + (tn + fp) * (tn + fn)) / n**2
    kappa = (po - pe) / (1 - pe)
    se = math.sqrt(po * (1 - po) / (n * (1 - pe) ** 2))
    return kappa, kappa - 1.959964 * se, min(1.0, kappa + 1.959964 * se), (tp, fn, fp, tn)


def test_agreement_figures_against_hand_computed_ones(loopback_llm, prompt_file, folder):
    n = 40
    bad = set(range(0, 40, 4))  # the person: 10 bad
    df = frame(n, bad=bad)
    fails = {f"wrong {i}" for i in bad if i != 0} | {f"right {i}" for i in (1, 2, 3)}  # misses 1, adds 3
    judge, out = run_judge(loopback_llm, prompt_file, df, fails)
    label(folder, df, ["bad" if i in bad else "good" for i in range(n)])
    a = tk.agreement(out, judge)
    person = np.array([i in bad for i in range(n)])
    machine = out["right"].eq("fail").to_numpy()
    kappa, low, high, (tp, fn, fp, tn) = cohen(person, machine)
    assert a.n == n and a.accuracy == pytest.approx((tp + tn) / n)
    assert a.kappa == pytest.approx(kappa) and a.low == pytest.approx(low) and a.high == pytest.approx(high)
    assert a.confusion == {"good": {"pass": tn, "fail": fp}, "bad": {"pass": fn, "fail": tp}}
    assert a.precision_bad == pytest.approx(tp / (tp + fp)) and a.recall_bad == pytest.approx(tp / (tp + fn))
    assert f"κ = {kappa:.2f}" in str(a) and "40 samples" in str(a)


def test_score_agreement_has_a_rank_measure(loopback_llm, prompt_file, folder):
    df = frame(8, bad={0, 1, 2})
    scores = dict(zip(df["answer"], [1, 2, 4, 5, 3, 4, 5, 2]))
    judge, out = run_judge(loopback_llm, prompt_file, df, scores, verdict=tk.Score)
    label(folder, df, ["bad"] * 3 + ["good"] * 5)
    a = tk.agreement(out, judge)
    bad_scores, good_scores = [1, 2, 4], [5, 3, 4, 5, 2]
    # AUC = P(a bad sample scores lower than a good one), ties half: by counting pairs
    wins = sum((b < g) + 0.5 * (b == g) for b in bad_scores for g in good_scores)
    assert a.auc == pytest.approx(wins / 15)
    assert a.confusion == {"good": {"pass": 3, "fail": 2}, "bad": {"pass": 1, "fail": 2}}  # passing=4


def test_stale_labels_and_verdicts_do_not_count(loopback_llm, prompt_file, folder):
    df = frame(6, bad={0})
    judge, out = run_judge(loopback_llm, prompt_file, df, {"wrong 0"})
    label(folder, df.iloc[:4], ["bad", "good", "good", "good"])
    label(folder, df.iloc[4:5], ["bad"], output="an-earlier-output")     # labelled before a rerun
    label(folder, df.iloc[5:6], ["off-topic"])                            # outside good/bad
    rerun = out.copy()
    rerun.loc[3, "answer"] = "right 3, rewritten"  # the step ran again after the judge
    label(folder, rerun.iloc[3:4], ["good"])
    a = tk.agreement(rerun, judge)
    assert (a.n, a.stale, a.no_verdict, a.other) == (3, 1, 1, 1)
    assert a.accuracy == 1.0 and "1 labelled on an earlier output" in str(a)


def test_uncertainty_puts_mid_scores_and_missing_verdicts_first(loopback_llm, prompt_file):
    df = frame(5)
    judge, out = run_judge(loopback_llm, prompt_file, df, dict(zip(df["answer"], [1, 3, 4, 5, 2])),
                           verdict=tk.Score)
    out.loc[4, "answer"] = "changed"
    assert uncertainty(out, judge).tolist() == [0.0, 1.0, 0.5, 0.0, 1.0]


# -- the gate ------------------------------------------------------------------------------------

def manifest(folder):
    return [json.loads(line) for line in (folder / "manifest.jsonl").read_text().splitlines()]


def test_the_gate_asks_for_more_labels_then_lets_a_calibrated_judge_filter(loopback_llm, prompt_file, folder):
    n, bad = 40, set(range(0, 40, 5))
    df = frame(n, bad=bad)
    judge, out = run_judge(loopback_llm, prompt_file, df, {f"wrong {i}" for i in bad})
    label(folder, df.iloc[:12], ["bad" if i in bad else "good" for i in range(12)])
    with pytest.raises(ValueError, match="measured on 12 of the 30 decisions it needs: label 18 more"):
        tk.keep(out, steps=[], judge=judge)
    label(folder, df.iloc[12:], ["bad" if i in bad else "good" for i in range(12, n)])
    kept, dropped = tk.keep(out, steps=[], judge=judge)
    assert sorted(dropped.index) == sorted(bad) and len(kept) == n - len(bad)
    assert dropped["dropped_because"].iloc[0] == "right=fail: checked wrong 0"
    line = manifest(folder)[-1]
    assert line["filter"] == "right" and line["calibrated"] and not line["override"]
    assert line["agreement"]["n"] == 40 and line["agreement"]["kappa"] == 1.0 and line["dropped"] == len(bad)


def test_a_judge_below_the_kappa_threshold_is_refused_and_the_override_recorded(loopback_llm, prompt_file, folder):
    n = 40
    df = frame(n)
    fails = {f"right {i}" for i in range(0, n, 2)}  # fails every other answer
    judge, out = run_judge(loopback_llm, prompt_file, df, fails)
    label(folder, df, ["bad" if i % 4 == 0 else "good" for i in range(n)])
    person, machine = np.arange(n) % 4 == 0, np.arange(n) % 2 == 0
    kappa, low, high, _ = cohen(person, machine)
    reached = rf"κ with your 40 decisions is {kappa:.2f} \(95 % CI {low:.2f}–{high:.2f}\), below the 0.6"
    with pytest.raises(ValueError, match=reached):
        tk.keep(out, steps=[], judge=judge)
    assert '"filter"' not in (folder / "manifest.jsonl").read_text()  # refused: nothing filtered
    labelled = out.assign(label=["good" if i == 2 else "unreviewed" for i in range(n)])
    kept, dropped = tk.keep(labelled, steps=[], judge=judge, trust_judge=True)
    assert len(dropped) == n // 2 - 1 and 2 in kept.index  # the person's "good" wins over the judge
    line = manifest(folder)[-1]
    assert line["override"] and not line["calibrated"]
    assert line["agreement"]["kappa"] == pytest.approx(kappa) and line["min_kappa"] == 0.6


def test_a_failed_or_stale_verdict_is_not_a_pass(loopback_llm, prompt_file, folder):
    df = frame(3)
    judge, out = run_judge(loopback_llm, prompt_file, df, set())
    out.loc[1, "answer"] = "rewritten"
    out.loc[2, "right.status"] = "failed"
    kept, dropped = tk.keep(out, steps=[], judge=judge, trust_judge=True)
    assert kept.index.tolist() == [0]
    assert dropped["dropped_because"].tolist() == [
        "right: verdict made on an earlier 'answer'; rerun the judge", "right.status=failed: no verdict"]


def test_a_pairwise_judge_compares_and_never_filters(loopback_llm, prompt_file, folder):
    v1, v2 = pairwise_runs()
    v1.loc[2, ["generic", "generic.status"]] = [None, "failed"]  # no output in run A for c2
    with LoopbackServer(latency=0, reply=prefers_new) as srv:
        judge = tk.Judge("plainer", prompt_file(PAIRWISE, "p.yaml"), loopback_llm(srv), verdict=tk.Preference)
        with pytest.raises(ValueError, match=r"plainer.compare\(df_a, df_b\)"):
            judge.run(v2)
        out = judge.compare(v1, v2)
        assert srv.count == 10  # the pair without an A output is not sent
    assert out["plainer.status"].tolist() == ["ok", "ok", "skipped", "ok", "ok", "ok"]
    assert out["plainer"].iloc[2] is None and out.attrs["judge"]["pairs"] == 6
    with pytest.raises(ValueError, match="pairwise judge; it picks"):
        tk.keep(out, steps=[], judge=judge)
