"""What the dataset keeps, and why each other row is dropped.

    kept, dropped = tk.keep(tk.labels(out), steps=["generic"])
    dropped[["chunk_id", "dropped_because"]]   # "generic.status=failed: parse: ...; label=bad: copied"

A row is dropped when a judge (`judge=`, once calibrated) failed it, when one of `steps` is not
"ok" (unless you corrected that step's output: your text is its answer), when tk.dedupe marked it
as repeating another, when its label (from tk.labels) is in `drop_labels`, or when it is a
candidate (a step's n=) and another of its sample's is kept: the one a person or a judge picked,
else the first you corrected, else the first that is not dropped for a reason above. The kept rows
carry your corrections in place of the model's text (frame.corrected; `kept.attrs["corrected"]`
counts them per column), so a correction of the picked candidate is what is kept. Each reason is a
record, `Drop(step, kind, detail)`: where (a step, "dedupe", "labels", or the judge's name), what
kind ("cut off at max_tokens", "parse", "validator", "empty answer", "feedback repeated",
"transport", "budget", "not selected", "missing input", "skipped", "not run", "other"; "duplicate";
"labelled bad"; "judged fail", "no verdict", "stale verdict"; "another candidate kept") and the
detail (the first line of the step's error, the sample repeated, the note, the judge's reason). The funnel
counts the records; `dropped_because` is their text, every reason of the row in the order above.

The judge gate: a judge drops rows only once it agrees with your labels in the run folder on at
least MIN_LABELS samples with Cohen's κ ≥ MIN_KAPPA (tk.agreement); otherwise keep() refuses and
says what is missing, unless `trust_judge=True`. Either way the run folder's manifest records the
agreement the filter relied on. Your own current label wins over the verdict.

But: a step's kind comes from the start of its error text, as steps.py and the LLM layer write it;
an error of a new form is "other" (shown as written) until ERRORS names it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import flags
from .agreement import agreement
from .decisions.picks import picked
from .frame import blank, candidate_sets, candidate_steps, column, corrected, corrected_rows, dup_marks, steps_in
from .judge import Preference, current
from .report import write_manifest

MIN_LABELS, MIN_KAPPA = 30, 0.6  # what a judge needs before it may filter
TRANSPORT_ERRORS = {"rate_limit", "server", "timeout", "connection", "bad_response", "auth", "not_found",
                    "client", "batch"}  # Completion.error_kind values (transports.CallError, batch.py)
ERRORS = [  # (start of a step's error text, kind), from steps.py and the LLM layer
    ("budget", "budget"), ("the answer was cut off at max_tokens", "cut off at max_tokens"),
    ("parse:", "parse"), ("parser raised", "parse"), ("the answer was empty", "empty answer"),
    ("the answer repeats the feedback", "feedback repeated"),
    ("validator raised", "validator"), ("the validator rejected", "validator"),
    ("not selected by when=", "not selected"), ("no value for {", "missing input")]


@dataclass(frozen=True)
class Drop:
    """One reason a row is dropped: `step` (a step's name, "dedupe", "labels" or a judge's name),
    `kind`, `detail`, and for a step's row that is not ok, its `status`. str() is the text a
    person reads in `dropped_because`."""

    step: str
    kind: str
    detail: str = ""
    status: str | None = None

    def __str__(self) -> str:
        tail = f": {self.detail}" if self.detail else ""
        if self.status is not None:
            return f"{self.step}.status={self.status}{tail}"
        if self.kind == "duplicate":
            return f"duplicate of {self.detail}"
        if self.kind.startswith("labelled "):
            return f"label={self.kind.removeprefix('labelled ')}{tail}"
        if self.kind.startswith("judged "):
            return f"{self.step}={self.kind.removeprefix('judged ')}{tail}"
        return f"{self.step}{tail}"


def step_kind(status: str, error: str, answered: bool = False) -> str:
    """The kind of a step's row that is not ok, from its status, the first line of its error and
    whether the model answered (a failure text of no known form after an answer is the
    validator's own message)."""
    for start, kind in ERRORS:
        if error.startswith(start):
            return kind
    if status == "failed" and error.split(":", 1)[0] in TRANSPORT_ERRORS:
        return "transport"
    if status == "failed":
        return "validator" if answered else "other"
    return status


def reasons(df, *, steps, drop_labels=("bad",), judge=None, trust_judge=False, min_labels=MIN_LABELS,
            min_kappa=MIN_KAPPA) -> list[list[Drop]]:
    """Per row of `df`, every reason keep() drops it for (an empty list: kept), as records."""
    why = [[] for _ in range(len(df))]
    if judge is not None:
        for row, drop in zip(why, gate(df, judge, trust=trust_judge, min_labels=min_labels, min_kappa=min_kappa)):
            row.extend([drop] if drop else [])
    for step in steps:
        if column(step, "status") not in df:
            raise ValueError(f"keep: no column {step}.status, so step {step!r} did not run on this frame "
                             f"(steps present: {steps_in(df)}); pass steps= naming steps that ran")
        errors, raws = ([None] * len(df) if column(step, f) not in df else df[column(step, f)]
                        for f in ("error", "raw"))
        yours = corrected_rows(df, step)  # your text is the step's answer there
        for row, status, error, raw, fixed in zip(why, df[column(step, "status")], errors, raws, yours):
            if status != "ok" and not fixed:
                # First line only: the full text (often a traceback) stays in `<step>.error`.
                first = "" if blank(error) else str(error).strip().splitlines()[0]
                shown = "not run" if blank(status) else status
                row.append(Drop(step, step_kind(shown, first, isinstance(raw, str) and bool(raw.strip())),
                                first, shown))
    for marks, _ in dup_marks(df):
        for row, original in zip(why, df[marks]):
            if not blank(original):
                row.append(Drop("dedupe", "duplicate", str(original)))
    if "label" in df:
        drop = (drop_labels,) if isinstance(drop_labels, str) else tuple(drop_labels)
        notes = df["note"] if "note" in df else [None] * len(df)
        for row, label, note in zip(why, df["label"].fillna("unreviewed"), notes):
            if label in drop:
                row.append(Drop("labels", f"labelled {label}", "" if blank(note) else str(note)))
    for step in candidate_steps(df):  # last: the candidate kept is one not dropped for another reason
        for pos, drop in other_candidates(df, step, why).items():
            why[pos].append(drop)
    return why


def other_candidates(df, step, why) -> dict[int, Drop]:
    """{position: reason} for the candidates of `step` dropped because another of their sample's is
    kept: the one picked (tk.picks' `picked`), else the first you corrected, else the first whose
    row has no reason in `why`."""
    who, number, fixed = picked(df, step), df[column(step, "candidate")], corrected_rows(df, step)
    out = {}
    for rows in candidate_sets(df, step).values():
        alive = [r for r in rows if not why[r]]
        chosen = [r for r in alive if who.iat[r] is not None]
        yours = [r for r in alive if fixed[r]]
        if not alive:
            continue
        kept = number.iat[(chosen or yours or alive)[0]]
        because = (f"picked by {who.iat[chosen[0]]}" if chosen else "the first you corrected" if yours
                   else "the first that passed")
        for r in alive:
            if number.iat[r] != kept:
                out[r] = Drop(step, "another candidate kept", f"candidate {kept} kept ({because})")
    return out


def keep(df, *, steps, drop_labels=("bad",), judge=None, trust_judge=False, min_labels=MIN_LABELS,
         min_kappa=MIN_KAPPA):
    """Split `df` into (kept, dropped): rows whose steps are not all "ok", that `tk.dedupe` marked
    as repeating another (a `<column>.dup_of` column), or whose `label` column (from `tk.labels`)
    is in `drop_labels`, go to `dropped` with a `dropped_because` column (str, also when empty),
    so failures and rejects stay inspectable instead of vanishing. Of a sample's candidates (a
    step run with n=), one is kept: the one a person or judge picked, else the first you
    corrected, else the first that passed. In `kept`, your corrections (`<column>.corrected`, from
    tk.labels) stand in place of the model's output (the picked candidate's too), and a step whose
    output you corrected counts as answered; `kept.attrs["corrected"]` = {column: rows}.

    `judge` (a tk.Judge that ran on `df`) also drops the rows it failed, once it is calibrated:
    it agrees with your labels in the run folder on >= `min_labels` samples with Cohen's kappa >=
    `min_kappa` (`trust_judge=True` overrides, and the manifest records it)."""
    why = reasons(df, steps=steps, drop_labels=drop_labels, judge=judge, trust_judge=trust_judge,
                  min_labels=min_labels, min_kappa=min_kappa)
    dropped = df.iloc[[i for i, w in enumerate(why) if w]].copy()
    # a string column however many rows: `.str` works on an empty `dropped` too (every row kept)
    dropped["dropped_because"] = pd.array(["; ".join(map(str, w)) for w in why if w], dtype="str")
    kept, fixed = corrected(df.iloc[[i for i, w in enumerate(why) if not w]].copy())
    kept.attrs["corrected"] = {name: int(rows.sum()) for name, rows in fixed.items()}
    return kept, dropped


def gate(df, judge, *, trust=False, min_labels=MIN_LABELS, min_kappa=MIN_KAPPA, id=None) -> list[Drop | None]:
    """Per row, the judge's reason to drop it (None = kept), once the judge is calibrated: agreement
    on ≥ `min_labels` of the person's decisions with κ ≥ `min_kappa`. Otherwise raises ValueError
    saying what is missing, unless `trust=True`. Either way the run folder's manifest records the
    agreement the filter relied on. A person's current label wins over the verdict. `judge` may be
    a signal's flag column ("answer.grounding_flag", flags.py): its drops are of the flag's kind."""
    df, judge = flags.as_judge(df, judge)
    if judge.verdict is Preference:
        raise ValueError(f"keep(judge=...): {judge.name!r} is a pairwise judge; it picks, it does not filter")
    folder = flags.run_folder(df, None, judge)
    a = agreement(df, judge, id=id, folder=folder)
    problem = None
    if a.n < min_labels:
        problem = (f"its agreement with you is measured on {a.n} of the {min_labels} decisions it needs: label "
                   f"{min_labels - a.n} more samples of {judge.judged!r} (good/bad) in the viewer")
    elif a.kappa is None or a.kappa < min_kappa:
        reached = "is undefined (all labels one class)" if a.kappa is None else (
            f"is {a.kappa:.2f} (95 % CI {a.low:.2f}\u2013{a.high:.2f})")
        problem = (f"κ with your {a.n} decisions {reached}, below the {min_kappa} it needs: improve its rubric "
                   "or model and rerun it, or label more")
    if problem and not trust:
        raise ValueError(f"judge {judge.name!r} may not filter yet: {problem}. {a}. To filter anyway, pass "
                         "trust_judge=True (recorded in the run folder's manifest).")
    status = df[column(judge.name, "status")].to_numpy(dtype=object)
    verdicts = df[judge.name].to_numpy(dtype=object)
    ok = status == "ok"
    fresh = current(df, judge)
    passed = np.zeros(len(df), dtype=bool)
    passed[ok] = judge.passed(verdicts[ok])
    person = df["label"].to_numpy(dtype=object) if "label" in df else np.full(len(df), None, dtype=object)
    reason = df[column(judge.name, "reason")].to_numpy(dtype=object)
    out: list[Drop | None] = []
    stale = f"verdict made on an earlier {judge.judged!r}; rerun the judge"
    for i in range(len(df)):
        if person[i] == "good" or (ok[i] and fresh[i] and passed[i]):
            out.append(None)
        elif not ok[i]:
            out.append(Drop(judge.name, "no verdict", "no verdict", "not run" if blank(status[i]) else status[i]))
        elif not fresh[i]:
            out.append(Drop(judge.name, "stale verdict", stale))
        else:
            out.append(Drop(judge.name, f"judged {verdicts[i]}", "" if blank(reason[i]) else str(reason[i])))
    write_manifest(folder, {"filter": judge.name, "judged": judge.judged, "agreement": a.as_dict(),
                            "min_labels": min_labels, "min_kappa": min_kappa, "calibrated": problem is None,
                            "override": bool(trust and problem), "rows": len(df),
                            "dropped": sum(d is not None for d in out)})
    return out
