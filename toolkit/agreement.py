"""How far a judge agrees with the person reviewing the run: what the gate in `tk.keep(judge=...)`
(keep.py) reads before it lets a judge filter the dataset.

    a = tk.agreement(out, supported)   # the judge's verdicts vs your good/bad labels in the run folder

Only a person's decisions on the present outputs count: a label made on an earlier output of the
judged column (the step was rerun since) is stale, and a verdict the judge made on an earlier
output is too. pass/fail and scores ≥ `passing` read as good, the rest as bad; "bad" is the
positive class of precision and recall. A pairwise judge is compared with the person's A/B picks
on the same pair of outputs. A row promoted to a few-shot example of the judged step (tk.promote)
is left out: a prompt that holds its answer would be graded on its own example. A signal's flag is
read as a pass/fail judge of the column it flags (flags.py): `tk.agreement(g, "answer.grounding_flag")`.

Cohen's κ comes from scikit-learn; its 95 % interval is the large-sample one of Cohen (1960):
κ ± 1.96 · √(p_o (1 − p_o) / (n (1 − p_e)²)), clipped to [−1, 1], where p_o is the observed and
p_e the chance agreement. For 1–5 scores the ROC AUC of the score against the person's bad labels
(low scores should be the bad ones) is given too.

But: one reviewer per folder is assumed (the store's "person" source); κ treats the labels as
independent samples, and the interval is the simple asymptotic one, loose below ~30 decisions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from . import flags, moved, outputs
from .decisions.examples import promoted
from .decisions.labels import LABELS
from .decisions.store import Store
from .frame import column, sample_ids, steps_in
from .judge import Preference, Score
from .stats import PICKS, Z95

__getattr__ = moved.names(__name__, dict.fromkeys(("gate", "MIN_LABELS", "MIN_KAPPA"), "toolkit.keep"))


@dataclass(frozen=True)
class Agreement:
    """A judge against a person: counts, κ with its 95 % interval, and where they differ.

    `confusion[person][judge]` counts decisions; `stale` = the person's decisions on an earlier
    output (not counted), `no_verdict` = decisions on rows the judge gave no current verdict for,
    `other` = labels outside good/bad (or, for pairs, the judge's inconsistent picks), `examples`
    = decisions on rows promoted to few-shot examples (decisions/examples.py)."""

    judge: str
    n: int
    accuracy: float | None
    kappa: float | None
    low: float | None
    high: float | None
    confusion: dict
    precision_bad: float | None = None
    recall_bad: float | None = None
    auc: float | None = None
    stale: int = 0
    no_verdict: int = 0
    other: int = 0
    examples: int = 0

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        if not self.n:
            line = f"judge {self.judge!r}: no decisions of yours to compare with yet"
        else:
            k = ("κ undefined (one class only)" if self.kappa is None else
                 f"κ = {self.kappa:.2f} (95 % CI {self.low:.2f}\u2013{self.high:.2f})")
            line = f"judge {self.judge!r} vs you on {self.n} samples: {self.accuracy:.0%} agree, {k}"
            for name, value in (("precision of bad", self.precision_bad), ("recall of bad", self.recall_bad),
                                ("ROC AUC", self.auc)):
                line += "" if value is None else f", {name} {value:.2f}"
        pairs = "A" in self.confusion
        apart = [f"{n} {what}" for n, what in (
            (self.stale, "picked on earlier outputs" if pairs else "labelled on an earlier output"),
            (self.no_verdict, "without a current verdict"),
            (self.other, "inconsistent picks" if pairs else "labels outside good/bad"),
            (self.examples, "promoted to few-shot examples")) if n]
        return line + (f" (not counted: {', '.join(apart)})" if apart else "")

    __repr__ = __str__


def agreement(df, judge, *, id=None, folder=None) -> Agreement:
    """The judge's verdicts in `df` (from `judge.run`, or `judge.compare` for a pairwise judge)
    against the person's labels (or picks) stored in the run folder, on the present outputs.
    `judge` may also be the name of a signal's flag column ("answer.grounding_flag": flags.py)."""
    df, judge = flags.as_judge(df, judge)
    folder = flags.run_folder(df, folder, judge)
    if judge.name not in df:
        raise ValueError(f"agreement: no column {judge.name!r}; run the judge on this frame first "
                         f"({judge.name}.run(df){' or .compare(df_a, df_b)' if judge.verdict is Preference else ''})")
    # a pairwise judge's frame holds the runs' step (the column judged, unless named) and the judge's
    judged = judge.judged or next((s for s in reversed(steps_in(df)) if s != judge.name and s in df), None)
    with Store(folder) as store:
        examples = promoted(store, judged)
        if judge.verdict is Preference:
            return _pick_agreement(df, judge, store.picks(source="person"), examples)
        return _label_agreement(df, judge, store.labels(source="person"), id, examples)


def _label_agreement(df, judge, saved: dict, id, examples: set) -> Agreement:
    from sklearn.metrics import confusion_matrix, precision_score, recall_score, roc_auc_score  # 0.3 s to import

    ids = sample_ids(df, id).to_numpy(dtype=object)
    stored = pd.Series(ids, dtype=object).isin(saved.keys()).to_numpy(dtype=bool)
    example = stored & pd.Series(ids, dtype=object).isin(examples).to_numpy(dtype=bool)
    rows = np.flatnonzero(stored & ~example)
    entries = [saved[sid] for sid in ids[rows]]
    now = outputs.output_hashes(df[judge.judged], rows)
    fresh = ~outputs.stale([e["output"] for e in entries], now)
    person = np.array([e.get("label") for e in entries], dtype=object)
    decided = np.isin(person, LABELS)
    counted = fresh & decided
    stamp = column(judge.name, "judged")
    stamps = df[stamp].to_numpy(dtype=object)[rows] if stamp in df else np.full(len(rows), None, dtype=object)
    verdict_ok = (df[column(judge.name, "status")].to_numpy(dtype=object)[rows] == "ok") & outputs.current(stamps, now)
    use = counted & verdict_ok
    bad = person[use] == "bad"
    verdicts = df[judge.name].to_numpy(dtype=object)[rows[use]]
    judged_bad = ~judge.passed(verdicts)
    extra = {}
    if judge.verdict is Score and len(set(bad)) == 2:
        extra["auc"] = float(roc_auc_score(bad, -pd.to_numeric(pd.Series(verdicts)).to_numpy(dtype=float)))
    if len(bad):
        extra["precision_bad"] = float(precision_score(bad, judged_bad, zero_division=0))
        extra["recall_bad"] = float(recall_score(bad, judged_bad, zero_division=0))
    matrix = confusion_matrix(bad, judged_bad, labels=[False, True]) if len(bad) else np.zeros((2, 2), int)
    return _summary(judge.name, bad.astype(int), judged_bad.astype(int), matrix,
                    {"good": 0, "bad": 1}, {"pass": 0, "fail": 1}, extra,
                    stale=int((~fresh).sum()), no_verdict=int((counted & ~verdict_ok).sum()),
                    other=int((fresh & ~decided).sum()),
                    examples=sum(saved[sid].get("label") in LABELS for sid in ids[example]))


def _pick_agreement(df, judge, saved: dict, examples: set) -> Agreement:
    from sklearn.metrics import confusion_matrix

    name, person, machine = judge.name, [], []
    apart = {"stale": 0, "no_verdict": 0, "other": 0, "examples": 0}
    for sid, ha, hb, pick in zip(df[column(name, "sample")], df[column(name, "a")], df[column(name, "b")],
                                 df[name].to_numpy(dtype=object)):
        entries = [e for e in saved.get(sid, ()) if e["pick"] in PICKS]
        mine = next((e["pick"] for e in entries if e["a"] == ha and e["b"] == hb), None)
        if entries and sid in examples:
            apart["examples"] += 1
        elif mine is None:
            apart["stale"] += bool(entries)  # picked, but on other outputs than these
        elif pick == "inconsistent":
            apart["other"] += 1
        elif pick not in PICKS:
            apart["no_verdict"] += 1
        else:
            person.append(PICKS.index(mine))
            machine.append(PICKS.index(pick))
    codes = dict(zip(PICKS, range(3)))
    matrix = confusion_matrix(person, machine, labels=[0, 1, 2]) if person else np.zeros((3, 3), int)
    return _summary(name, np.array(person), np.array(machine), matrix, codes, codes, {}, **apart)


def _summary(name, person, machine, matrix, rows: dict, cols: dict, extra: dict, **apart) -> Agreement:
    from sklearn.metrics import cohen_kappa_score

    n = len(person)
    confusion = {r: {c: int(matrix[i, j]) for c, j in cols.items()} for r, i in rows.items()}
    accuracy = kappa = low = high = None
    if n:
        accuracy = float(np.mean(person == machine))
        p_e = float(np.sum(matrix.sum(axis=1) * matrix.sum(axis=0))) / n**2
        if p_e < 1:
            labels = list(range(len(rows)))
            kappa = float(cohen_kappa_score(person, machine, labels=labels))
            half = Z95 * np.sqrt(accuracy * (1 - accuracy) / (n * (1 - p_e) ** 2))
            low, high = max(-1.0, kappa - half), min(1.0, kappa + half)
    return Agreement(name, n, accuracy, kappa, low, high, confusion, **extra, **apart)
