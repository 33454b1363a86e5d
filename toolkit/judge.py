"""A judge: a step whose answer is a verdict on another column — pass/fail, a 1–5 score, or which of
two runs' outputs is better.

    supported = Judge("supported", "prompts/factual_qa/judge_supported.yaml", llm, judged="answer")
    out = supported.run(qa)            # columns supported ("pass"/"fail"), supported.reason, ...
    plainer = Judge("plainer", "prompts/style_clone/judge_plainer.yaml", llm, verdict=Preference)
    pairs = plainer.compare(v1, v2)    # each pair in both orders; "inconsistent" when they differ
    best = plainer.pick(candidates)    # among each sample's candidates (a step run with n=)

A judge is a Step with `schema=` one of the verdict models below, so it is cached, resumable and
retried like every step. Its verdict column is `<name>`, with `<name>.reason`, and `<name>.judged`
holds the hash of the value it judged, so a verdict on an earlier output is known as such. A pairwise
judge sees every pair A-first and B-first; a pick counts only when both orders agree, and its picks
go to the run folder's review store as source "judge:<name>", never as a person's.

Whether a judge may be trusted is agreement.py's business; `uncertainty` says which rows a person
should review next.

But: a judge gives one verdict per row and call; a panel of judges, or a verdict per criterion, is
several judges (one column each).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel

from . import outputs
from .decisions.store import Store
from .frame import (
    blank,
    candidate_output,
    candidate_sets,
    column,
    folder_of,
    last_candidate_step,
    last_step,
    match,
    need_column,
    set_folder,
)
from .parsing import schema_parser
from .schema import Schema
from .stats import describe, proportion, win_rate
from .steps import Step


class PassFail(BaseModel):
    """Does the output meet the rubric? The reason comes first, so the model argues before it decides."""

    reason: str
    verdict: Literal["pass", "fail"]


class Score(BaseModel):
    """How well the output meets the rubric, 1 (not at all) to 5 (fully)."""

    reason: str
    score: Literal[1, 2, 3, 4, 5]


class Preference(BaseModel):
    """Which of two outputs, shown as first and second, meets the rubric better."""

    reason: str
    better: Literal["first", "second", "tie"]


VERDICTS = {PassFail: "verdict", Score: "score", Preference: "better"}
# a pairwise verdict in the A/B terms of the two runs, per order shown
A_FIRST = {"first": "A", "second": "B", "tie": "tie"}
B_FIRST = {"first": "B", "second": "A", "tie": "tie"}


class Judge(Step):
    """A step that judges column `judged` (for `Preference`: the output column of both runs,
    default the last step's). `passing`: the lowest 1–5 score that counts as "pass"."""

    def __init__(self, name, prompt, llm=None, *, judged=None, verdict=PassFail, passing=4, **options):
        if verdict not in VERDICTS:
            raise TypeError(f"Judge(verdict=...) takes one of {', '.join(v.__name__ for v in VERDICTS)}; "
                            f"for another answer shape use Step(schema=...)")
        super().__init__(name, prompt, llm, schema=verdict, **options)
        if self.n > 1:
            raise ValueError(f"Judge {name!r}: a judge gives one verdict a row; n= gives a step's candidates, "
                             f"and a judge with verdict=tk.Preference picks among them ({name}.pick(df))")
        self.verdict, self.judged, self.passing = verdict, judged, passing
        needs = ["first", "second"] if verdict is Preference else [judged]
        if verdict is not Preference and judged is None:
            raise ValueError(f"Judge {name!r}: name the column it judges, e.g. judged='answer'")
        missing = [n for n in needs if n not in self.prompt.placeholders]
        if missing:
            raise ValueError(f"Judge {name!r}: the prompt {self.prompt.path} never shows {{{missing[0]}}}, "
                             f"so the judge would not see what it judges; its last message needs "
                             f"{' and '.join('{' + n + '}' for n in needs)}")
        self.schema = _Renamed(verdict, {VERDICTS[verdict]: name, "reason": column(name, "reason")})
        self.parse, self.columns = schema_parser(self.schema), self.schema.fields

    def passed(self, values) -> np.ndarray:
        """True where a verdict passes (pass, or a score >= passing), False where it fails, for
        non-missing verdicts."""
        values = pd.Series(values, dtype=object)
        if self.verdict is Score:
            return (pd.to_numeric(values) >= self.passing).to_numpy(dtype=bool)
        return (values == "pass").to_numpy(dtype=bool)

    async def execute(self, df, constants, bar=True, reask=None):
        if self.verdict is Preference and not {"first", "second"} <= set(df.columns) | set(constants):
            raise ValueError(f"Judge {self.name!r} is pairwise: run it on two runs with "
                             f"{self.name}.compare(df_a, df_b)")
        return await super().execute(df, constants, bar, reask)

    def _frame(self, df, results):
        out = super()._frame(df, results)
        if self.judged in df and self.verdict is not Preference:
            out[column(self.name, "judged")] = outputs.output_hashes(df[self.judged])
        return out

    def compare(self, df_a, df_b, *, id=None):
        """The judge picks between two runs (to pick yourself, open tk.compare): it judges the
        samples both runs have, each pair A-first and B-first; a new frame of df_b's
        shared rows with `<name>` = "A", "B", "tie", "inconsistent" (the orders disagree) or None
        (a call failed, or a run has no output for the sample: `<name>.status` says which), the
        per-order picks `<name>.a_first` / `.b_first`, both reasons, and `<name>.sample`, `.a`,
        `.b` (the sample id and the hashes of the outputs judged). The consistent picks are stored
        as source "judge:<name>" in the run folder's review store."""
        judged = self.judged or last_step(df_b)
        need_column(df_a, judged), need_column(df_b, judged)
        ia, ib, ids = match(df_a, df_b, id)
        if not len(ia):
            raise ValueError(f"{self.name}.compare: the two runs share no sample id, so there is nothing to judge")
        base = df_b.iloc[ib]
        a, b = df_a[judged].iloc[ia].to_numpy(dtype=object), base[judged].to_numpy(dtype=object)
        n = len(base)
        shown = pd.concat([base.assign(first=a, second=b), base.assign(first=b, second=a)], ignore_index=True)
        both = super().run(shown)
        name, status = self.name, both[column(self.name, "status")].to_numpy(dtype=object)
        ok = (status[:n] == "ok") & (status[n:] == "ok")
        verdicts = both[name].to_numpy(dtype=object)
        a_first = np.where(ok, pd.Series(verdicts[:n]).map(A_FIRST), None)
        b_first = np.where(ok, pd.Series(verdicts[n:]).map(B_FIRST), None)
        pick = np.where(~ok, None, np.where(a_first == b_first, a_first, "inconsistent"))
        out = base.copy()
        reasons = both[column(name, "reason")].to_numpy(dtype=object)
        errors = both[column(name, "error")].to_numpy(dtype=object)
        for key, values in ((name, pick), ("a_first", a_first), ("b_first", b_first)):  # None stays None
            out[key if key == name else column(name, key)] = pd.Series(values, index=out.index, dtype=object)
        out[column(name, "reason")], out[column(name, "reason_b_first")] = reasons[:n], reasons[n:]
        failed = (status[:n] == "failed") | (status[n:] == "failed")  # else skipped: an output was missing
        out[column(name, "status")] = np.where(ok, "ok", np.where(failed, "failed", "skipped"))
        out[column(name, "error")] = np.where(pd.isna(errors[:n]), errors[n:], errors[:n])
        out[column(name, "attempts")] = (both[column(name, "attempts")].to_numpy()[:n]
                                         + both[column(name, "attempts")].to_numpy()[n:])
        for field in ("raw", "reasoning", "prompt_version", "call"):  # the A-first call's
            out[column(name, field)] = both[column(name, field)].to_numpy(dtype=object)[:n]
        out[column(name, "sample")] = ids
        out[column(name, "a")] = outputs.output_hashes(pd.Series(a, dtype=object))
        out[column(name, "b")] = outputs.output_hashes(pd.Series(b, dtype=object))
        out.attrs = {"step": both.attrs["step"], "judge": order_swap(out[name])}
        set_folder(out, folder_of(both))
        _store_picks(self, out)
        print(f"{name}: {n} pairs, each judged in both orders → {order_swap_line(out.attrs['judge'])}")
        return out


    def pick(self, df, *, step=None):
        """The judge picks among each sample's candidates (`step`: a step run with n=, default the
        last): the first candidate that passed meets the next, and the one the judge prefers in both
        orders (as in `compare`) stays and meets the next; a tie, or a pick that flips with the
        order, keeps the one in place. A copy of df with `<name>` = "picked" on the candidate left
        in place when it won a comparison, "passed over" on each that lost one, None elsewhere;
        `<name>.reason` (of the comparison that decided), `<name>.status` (ok: compared, failed: a
        comparison's call failed, skipped: not compared — not ok, or alone). Each comparison's
        pick is stored as source "judge:<name>": tk.keep keeps the picked candidate, and
        tk.preference_pairs(df, source="judge:<name>") gives the pairs."""
        if self.verdict is not Preference:
            raise ValueError(f"Judge {self.name!r} gives a verdict on one output; to pick among candidates "
                             "make one with verdict=tk.Preference")
        step = step or last_candidate_step(df)
        if column(step, "item") in df:
            raise ValueError(f"{self.name}.pick: each candidate of {step!r} is a list of rows (items); "
                             "the judge compares one output with another")
        judged = self.judged or candidate_output(df, step)
        values, status = df[need_column(df, judged)], df[column(step, "status")].to_numpy(dtype=object)
        hashes, n = outputs.output_hashes(values), len(df)
        verdict, reason = [None] * n, [None] * n
        state = np.full(n, "skipped", dtype=object)
        queues = {s: [r for r in rows if status[r] == "ok" and not blank(values.iat[r])]
                  for s, rows in candidate_sets(df, step).items()}
        holder = {s: q.pop(0) for s, q in queues.items() if len(q) > 1}
        won, picks, folder = set(), [], folder_of(df) or self.llm.folder
        with Store(folder) as store:
            while True:
                games = [(s, holder[s], queues[s].pop(0)) for s in holder if queues[s]]
                if not games:
                    break
                result = self._games(df, values, [h for _, h, _ in games], [c for _, _, c in games])
                for (sample, h, c), (pick, why) in zip(games, result):
                    picks.append(pick)
                    for r in (h, c):
                        state[r] = "failed" if pick is None or state[r] == "failed" else "ok"
                    if pick in ("A", "B"):
                        best, other = (h, c) if pick == "A" else (c, h)
                        won.add(best)
                        verdict[other], reason[other], reason[best] = "passed over", why, why
                        holder[sample] = best
                    best_hash = hashes[best] if pick in ("A", "B") else pick if pick == "tie" else None
                    store.pick_between(sample, hashes[h], hashes[c], best_hash, source=f"judge:{self.name}")
        for best in holder.values():
            if best in won:
                verdict[best] = "picked"
        out = df.copy()
        out[self.name] = pd.Series(verdict, index=out.index, dtype=object)
        out[column(self.name, "reason")] = pd.Series(reason, index=out.index, dtype=object)
        out[column(self.name, "status")] = state
        result = {**{k: v for k, v in order_swap(picks).items() if k != "win_rate"},
                  "samples": len(holder), "picked": sum(v == "picked" for v in verdict)}
        out.attrs = {"judge": result}
        set_folder(out, folder)
        line = describe_flips(result)
        print(f"{self.name}: {result['pairs']} comparisons among the candidates of {len(holder)} samples, each in "
              f"both orders → {result['picked']} picked" + (f"; {line}" if line else ""))
        return out

    def _games(self, df, values, first, second) -> list[tuple[str | None, str | None]]:
        """(pick, reason) per pair of rows (first[k], second[k]): "A" (first), "B", "tie",
        "inconsistent" (the two orders disagree) or None (a call failed), each pair shown both ways."""
        base = df.iloc[second]
        a, b = values.iloc[first].to_numpy(dtype=object), values.iloc[second].to_numpy(dtype=object)
        shown = pd.concat([base.assign(first=a, second=b), base.assign(first=b, second=a)], ignore_index=True)
        both, m = super().run(shown), len(first)
        ok = (both[column(self.name, "status")] == "ok").to_numpy()
        said = both[self.name].to_numpy(dtype=object)
        reasons = both[column(self.name, "reason")].to_numpy(dtype=object)
        out = []
        for k in range(m):
            if not (ok[k] and ok[m + k]):
                out.append((None, None))
                continue
            x, y = A_FIRST[said[k]], B_FIRST[said[m + k]]
            out.append((x if x == y else "inconsistent", reasons[k]))
        return out


def describe_flips(result: dict) -> str:
    """"2 of 10 comparisons inconsistent between the orders (20%, 95 % CI …): position bias"."""
    if not result["judged"]:
        return ""
    return (f"{result['inconsistent']} of {result['judged']} comparisons inconsistent between the orders "
            f"({result['share']:.0%}, 95 % CI {result['low']:.0%}\u2013{result['high']:.0%}): position bias")


def order_swap(picks) -> dict:
    """A pairwise judge's results: the win rate of its consistent picks (stats.win_rate) and the
    share of pairs whose pick flipped with the order (position bias), with a Wilson 95 % interval."""
    picks = pd.Series(picks, dtype=object)
    judged = int(picks.notna().sum())
    flipped = int((picks == "inconsistent").sum())
    out = {"pairs": len(picks), "judged": judged, "inconsistent": flipped,
           "share": None, "low": None, "high": None, "win_rate": win_rate(picks)}
    if judged:
        share, low, high, _ = proportion(flipped, judged)
        out.update(share=share, low=low, high=high)
    return out


def order_swap_line(result: dict) -> str:
    """One line: the win rate, then "3 of 10 pairs inconsistent (30%, 95 % CI …) …"."""
    line = describe(result["win_rate"])
    if result["judged"]:
        line += (f"; {result['inconsistent']} of {result['judged']} pairs inconsistent between the orders "
                 f"({result['share']:.0%}, 95 % CI {result['low']:.0%}\u2013{result['high']:.0%}): position bias")
    failed = result["pairs"] - result["judged"]
    if failed:
        line += f"; {failed} pair{'s' * (failed != 1)} not judged (a call failed or an output was missing)"
    return line


def uncertainty(df, judge) -> pd.Series:
    """How much a person's label on each row would tell about the judge, 0 to 1, for a review order
    that puts the doubtful first: missing, failed or stale verdicts and inconsistent pairs 1, mid
    scores high (3 → 1, 2 and 4 → 0.5, 1 and 5 → 0), ties 0.5, clear pass/fail and picks 0."""
    values = pd.Series(df[judge.name].to_numpy(dtype=object), index=df.index, dtype=object)
    if judge.verdict is Score:
        u = 1 - (pd.to_numeric(values) - 3).abs() / 2
    elif judge.verdict is Preference:
        u = values.map({"A": 0.0, "B": 0.0, "tie": 0.5, "inconsistent": 1.0})
    else:
        u = values.map({"pass": 0.0, "fail": 0.0})
    u = u.astype(float).fillna(1.0)
    if judge.verdict is not Preference:
        u[~current(df, judge)] = 1.0
    return u.where(df[column(judge.name, "status")].eq("ok").to_numpy(), 1.0)


def current(df, judge) -> np.ndarray:
    """True where the judge's verdict is about the judged column's present value (not an earlier
    output of a step rerun since)."""
    stamp = column(judge.name, "judged")
    if stamp not in df:
        return np.zeros(len(df), dtype=bool)
    return outputs.current(df[stamp].to_numpy(dtype=object), outputs.output_hashes(df[judge.judged]))


def _store_picks(judge, out) -> None:
    """Write the consistent picks as source "judge:<name>"; clear an earlier pick of this judge on
    the same pair when it is now inconsistent or failed. Only changes are written."""
    source, name = f"judge:{judge.name}", judge.name
    with Store(folder_of(out)) as store:
        for sid, ha, hb, pick in zip(out[column(name, "sample")], out[column(name, "a")],
                                     out[column(name, "b")], out[name]):
            pick = pick if pick in ("A", "B", "tie") else None
            if pick != store.pick_of(sid, ha, hb, source=source):
                store.pick(sid, ha, hb, pick, source=source)


class _Renamed(Schema):
    """A verdict model whose fields land in the judge's own columns (`<name>`, `<name>.reason`),
    so two judges on one frame never overwrite each other's columns."""

    def __init__(self, model, names: dict):
        super().__init__(model)
        self.names = names
        self.fields = [names[f] for f in self.fields]

    def validate(self, value):
        return {self.names[k]: v for k, v in super().validate(value).items()}

    def typed(self, df):
        score = self.names.get("score")
        return df.astype({score: "Int64"}) if score in df else df
