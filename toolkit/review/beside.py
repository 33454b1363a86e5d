"""What the viewer shows beside a sample: a judge's verdict on it, the sample a duplicate repeats,
and why `keep` would drop it, each computed once per frame so filters on them stay vectorised.

A judge's verdict is never the reviewer's label: it is shown as "judge <name>" in the header and
a section with its reason, and it is stale (said so, and counted nowhere) when `<name>.judged`,
the hash of what it judged, no longer matches the column's present value. A judge is found from
its columns (`<name>`, `<name>.reason`, `<name>.judged`), or named (`judge="supported"` or the
Judge object); with a name only, the judged column is the one whose value hashes to the stamp.

A pairwise judge's picks (`JudgePicks`) are shown in the comparison, beside the reviewer's pick.

But: verdicts and picks are read when the widget is made; after the judge reruns, open it again.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..frame import blank, column, dup_marks, sample_ids, steps_in
from ..outputs import cell_text, output_hash
from .diff import segments


@dataclass
class JudgeView:
    """What the viewer needs of a judge: its name, verdict model, judged column, passing score."""

    name: str
    verdict: type
    judged: str
    passing: int = 4

    def passed(self, values):
        from ..judge import Judge

        return Judge.passed(self, values)


def judges_in(df, judge, right):
    """The judges to show: `judge` (a name, a Judge, a list of them) or, when None, every judge
    whose columns the frame has. The judged column comes from the Judge, else from the stamp."""
    from ..judge import PassFail, Preference, Score

    if judge is None:
        names = [c for c in df.columns if isinstance(c, str) and column(c, "judged") in df
                 and column(c, "reason") in df]
    else:
        names = list(judge) if isinstance(judge, (list, tuple)) else [judge]
    out = []
    for j in names:
        if not isinstance(j, str):
            if j.verdict is Preference:
                raise ValueError(f"judge {j.name!r} is pairwise: show its picks with compare(df_a, df_b, "
                                 f"judge={j.name}.compare(df_a, df_b))")
            out.append(JudgeView(j.name, j.verdict, j.judged, j.passing))
            continue
        if j not in df or column(j, "reason") not in df:
            raise KeyError(f"judge={j!r}: the frame has no {j!r} and {column(j, 'reason')!r} columns; run the "
                           f"judge on it first (columns: {list(df.columns)})")
        verdict = Score if pd.api.types.is_numeric_dtype(df[j]) else PassFail
        out.append(JudgeView(j, verdict, judged_column(df, j) or right))
    return out


def judged_column(df, name):
    """The column whose value at the first stamped row hashes to `<name>.judged` (None if none)."""
    stamp = column(name, "judged")
    if stamp not in df or not df[stamp].notna().any():
        return None
    k = int(np.flatnonzero(df[stamp].notna().to_numpy())[0])
    return next((c for c in df.columns if output_hash(df[c].iat[k]) == df[stamp].iat[k]), None)


def uncertain_order(df, verdicts):
    """Rank per row: the first judge's most doubtful verdicts first (1 before 0.5 before 0)."""
    from ..judge import uncertainty

    if not verdicts:
        raise ValueError("order='uncertain' needs a judge's verdicts in the frame (judge=...)")
    u = uncertainty(df, verdicts[0].judge).to_numpy(dtype=float)
    rank = np.empty(len(u), dtype=np.int64)
    rank[np.argsort(-u, kind="stable")] = np.arange(len(u))
    return rank


class Verdicts:
    """One judge's verdicts over the frame: which are current (ok, on the present value) and pass."""

    def __init__(self, df, judge):
        from ..judge import current

        self.judge, self.values = judge, df[judge.name].to_numpy(dtype=object)
        self.reason = df[column(judge.name, "reason")].to_numpy(dtype=object)
        status = column(judge.name, "status")
        self.status = df[status].to_numpy(dtype=object) if status in df else np.full(len(df), "ok", dtype=object)
        self.error = df[column(judge.name, "error")].to_numpy(dtype=object) if column(judge.name, "error") in df \
            else np.full(len(df), None, dtype=object)
        self.fresh = current(df, judge) if judge.judged in df else np.zeros(len(df), dtype=bool)
        self.counted = self.fresh & (self.status == "ok") & pd.notna(self.values)
        self.passes = np.zeros(len(df), dtype=bool)
        self.passes[self.counted] = judge.passed(self.values[self.counted])

    def agrees(self, labels, agree=True):
        """Rows whose current label (good/bad) the current verdict agrees (or disagrees) with."""
        decided = self.counted & np.isin(labels, ("good", "bad"))
        same = (labels == "good") == self.passes
        return decided & (same if agree else ~same)

    def head(self, k):
        return [f"judge {self.judge.name}", self._value(k)]

    def _value(self, k):
        if self.status[k] != "ok" or pd.isna(self.values[k]):
            return f"no verdict ({self.status[k] or 'not run'})"
        value = cell_text(self.values[k])
        return value if self.fresh[k] else f"{value} (stale)"

    def section(self, k):
        name, judged = self.judge.name, self.judge.judged
        if self.status[k] != "ok" or pd.isna(self.values[k]):
            text = cell_text(self.error[k]) or "the judge gave no verdict on this sample"
        else:
            text = cell_text(self.reason[k])
        when = "" if self.fresh[k] else f", given on an earlier {judged}: rerun the judge"
        return {"name": f"judge:{name}", "open": True, "text": text,
                "title": f"judge {name} on {judged}: {self._value(k)}{when} \u2014 its reason (the judge's "
                         "verdict, not your label)"}


class Duplicates:
    """For each `<column>.dup_of` column: the row of the sample each duplicate repeats, found by
    its id (frame.sample_ids, as tk.dedupe named it)."""

    def __init__(self, df, id):
        self.marks = dup_marks(df)
        self.df = df
        if not self.marks:
            return
        self.where = pd.Index(sample_ids(df, id))  # the ids tk.dedupe named the originals by

    def sections(self, k):
        out = []
        for mark, col in self.marks:
            original = self.df[mark].iat[k]
            if blank(original):
                continue
            similarity = column(col, "dup_similarity")
            similar = self.df[similarity].iat[k] if similarity in self.df else None
            title = (f"duplicate: {col} repeats sample {original}"
                     + (f" (similarity {similar:.2f})" if similar is not None and pd.notna(similar) else ""))
            at = self.where.get_indexer([str(original)])[0] if self.where.is_unique else -1
            section = {"name": f"dup:{col}", "open": True, "title": title}
            if at < 0 or col not in self.df:
                section["text"] = f"sample {original} is not in this frame"
            else:
                left, right, note = segments(cell_text(self.df[col].iat[at]), cell_text(self.df[col].iat[k]))
                section["panes"] = [{"title": f"{original} (the original)", "segments": left, "note": note},
                                    {"title": "this sample", "segments": right, "note": note}]
            out.append(section)
        return out


def reason_keys(df, id):
    """Per row, "<where>: <kind>" of the first reason `keep` drops it for (tk.drop_reasons), None
    when kept. Only rows that can be dropped (a step not ok, a duplicate, a bad label) are read,
    and of those one per distinct (status, error, answered, duplicate, label) combination, so a
    100k-row frame with 10k failures costs a few milliseconds, not a pass over every row."""
    from ..funnel import drop_reasons

    steps = steps_in(df)
    marks = [mark for mark, _ in dup_marks(df)]
    mask = np.zeros(len(df), dtype=bool)
    for step in steps:
        mask |= (df[column(step, "status")] != "ok").to_numpy(dtype=bool)
    for mark in marks:
        mask |= (df[mark].notna() & (df[mark].astype(str) != "")).to_numpy(dtype=bool)
    if "label" in df:
        mask |= df["label"].isin(("bad",)).to_numpy(dtype=bool)
    keys = np.full(len(df), None, dtype=object)
    rows = np.flatnonzero(mask)
    if not len(rows):
        return keys
    def sub(col):  # one column at the rows that can be dropped; the texts stay where they are
        return df[col].iloc[rows]

    what = {}  # what a row's reason kind depends on
    for step in steps:
        for field in ("status", "error"):
            if column(step, field) in df:
                what[column(step, field)] = sub(column(step, field)).astype(object).fillna("\0")
        if column(step, "raw") in df:
            what[column(step, "raw")] = sub(column(step, "raw")).map(lambda v: isinstance(v, str) and bool(v.strip()))
    for mark in marks:
        what[mark] = sub(mark).notna()
    if "label" in df:
        what["label"] = sub("label").astype(object).fillna("\0")
    groups = pd.DataFrame(what).groupby(list(what), dropna=False, sort=False).ngroup().to_numpy()
    first = np.unique(groups, return_index=True)[1]
    why = drop_reasons(df.iloc[rows[first]], steps, id=id)
    found = why["kind"].notna().to_numpy(dtype=bool)
    named = (why["where"].astype(str) + ": " + why["kind"].astype(str)).to_numpy(dtype=object)
    keys[rows] = np.where(found, named, None)[groups]  # first[g] is group g's first row: reasons in group order
    return keys


def reason_value(reason):
    """A `reason=` as the filter keeps it: ("generic", "parse") or "generic: parse" as given, a
    kind alone ("parse") as is."""
    if isinstance(reason, (tuple, list)):
        if len(reason) != 2:
            raise ValueError(f"reason= takes (where, kind), e.g. ('generic', 'parse'), or a kind; not {reason!r}")
        return f"{reason[0]}: {reason[1]}"
    return reason


class JudgePicks:
    """A pairwise judge's pick per row of a comparison, on exactly the pair of outputs shown: from
    the frame `judge.compare` made (then "inconsistent" and both reasons too) or, given the judge
    or its name, from the review store (source "judge:<name>", consistent picks only)."""

    def __init__(self, judge, store, ids, pairs_of):
        """`pairs_of(items)`: the (hash A, hash B) of each item; asked only for the samples the
        judge has a pick on, so a 100k-row comparison hashes no more than those."""
        frame = judge if isinstance(judge, pd.DataFrame) else None
        if frame is not None:
            names = [c[: -len(".a_first")] for c in frame.columns if isinstance(c, str) and c.endswith(".a_first")]
            if len(names) != 1:
                raise ValueError("judge=: pass the frame a pairwise judge's .compare(df_a, df_b) made, its name "
                                 f"or the Judge (this frame has {len(names)} pairwise judges' columns)")
            self.name = names[0]
        else:
            self.name = judge if isinstance(judge, str) else judge.name
        self.pick = np.full(len(ids), "", dtype=object)
        self.reasons = [None] * len(ids)
        if frame is not None:
            name = self.name
            at = {key: i for i, key in enumerate(zip(frame[column(name, "sample")], frame[column(name, "a")],
                                                     frame[column(name, "b")]))}
            picks, first = frame[name].to_numpy(dtype=object), frame[column(name, "reason")].to_numpy(dtype=object)
            second = frame[column(name, "reason_b_first")].to_numpy(dtype=object)
            items = np.flatnonzero(pd.Series(ids, dtype=object).isin({key[0] for key in at}).to_numpy(dtype=bool))
            for k, pair in zip(items, pairs_of(items)):
                i = at.get((ids[k], *pair))
                if i is not None:
                    self.pick[k] = picks[i] if isinstance(picks[i], str) else ""
                    self.reasons[k] = (cell_text(first[i]), cell_text(second[i]))
        elif store is not None:
            saved = store.picks(f"judge:{self.name}")
            items = np.flatnonzero(pd.Series(ids, dtype=object).isin(saved.keys()).to_numpy(dtype=bool))
            for k, pair in zip(items, pairs_of(items)):
                self.pick[k] = next((e["pick"] for e in saved[ids[k]] if (e["a"], e["b"]) == pair), "")
        else:
            raise ValueError(f"judge={self.name!r}: its picks are in the run folder's review store; pass "
                             "folder=, or the frame .compare(df_a, df_b) made")

    def uncertainty(self):
        """toolkit.judge.uncertainty of these picks: inconsistent or missing 1, tie 0.5, A / B 0."""
        from ..judge import Preference, uncertainty

        picks = pd.DataFrame({self.name: pd.Series(self.pick, dtype=object).replace("", None),
                              column(self.name, "status"): "ok"})
        return uncertainty(picks, JudgeView(self.name, Preference, None)).to_numpy(dtype=float)

    def agrees(self, person, agree=True):
        """Rows where both you and the judge picked (A / B / tie) and the picks agree (or differ)."""
        both = np.isin(person, ("A", "B", "tie")) & np.isin(self.pick, ("A", "B", "tie"))
        return both & ((person == self.pick) == agree)

    def section(self, k, shown, blind):
        """The judge's pick (shown as `shown`) with its reasons in each order (not when blind:
        "A first" would say which side is which)."""
        title = f"judge {self.name}: {shown or 'no pick on these outputs'} \u2014 the judge's pick, not yours"
        section = {"name": f"judge:{self.name}", "open": True, "title": title}
        if blind:
            section["text"] = "its reasons name the runs' order, so they show once the comparison is not blind"
        elif self.reasons[k] is None and not self.pick[k]:
            section["text"] = "not judged: the judge has no pick on these two outputs"
        elif self.reasons[k] is None:
            section["text"] = "its reasons are in the frame .compare(df_a, df_b) made: pass it as judge="
        elif not any(self.reasons[k]):
            section["text"] = "not judged: the judge gave no pick and no reason on this row"
        else:
            section["text"] = f"A shown first: {self.reasons[k][0]}\n\nB shown first: {self.reasons[k][1]}"
        return section
