"""The yield funnel: where a pipeline's rows went, from rows in to rows kept, by reason.

    f = tk.funnel(out)            # out: the last step's frame (it carries every earlier step)
    f                             # rows in → each step's ok / failed / skipped → reasons by kind
    f.plot()
    card = {"dropped": f.counts()}  # for export_hf's data card
    tk.funnel(out, judge="generic.content_flag", trust_judge=True, coverage=tk.coverage(chunks, kept, dropped))

A row's reason is the first thing `keep` would drop it for (the first step it did not pass,
then a duplicate mark, a label): keep.py's record of it, with its kind ("cut off at max_tokens",
"parse", "validator", "empty answer", "feedback repeated", "transport", "budget", "not selected",
"missing input", "duplicate", "labelled bad"; "other" for a step's error of no known form, shown as written).
Counts are rows of the frame given: kept + every reason's rows = rows in. `corrected` counts the
kept rows that carry your corrected text in place of the model's (tk.labels, tk.correct). With
`judge=` (a judge, or a signal's flag such as "generic.content_flag"), the rows keep(judge=...)
drops for it are counted first, under its name; with `coverage=` (tk.coverage), the chunks that
gave no kept sample are counted too, as chunks ("coverage: no pair from this chunk"), apart from
the rows.

But: rows of this frame. A step that answers with a list makes one row per item, so after it the
funnel counts items, not the chunks they came from.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from .frame import STATUSES, column, corrected_columns, corrected_rows, dup_marks, sample_ids, steps_in
from .keep import reasons
from .plots import COLORS

SAMPLES = 3  # sample ids kept per reason


def drop_reasons(df: pd.DataFrame, steps: list[str] | None = None, *, drop_labels=("bad",),
                 id: str | None = None, judge=None, trust_judge=False) -> pd.DataFrame:
    """Per row of `df` (same index): `kind` and `where` of the first reason keep() drops it for
    (None when kept), that `reason` as written, all of them (`dropped_because`), the sample
    `id`, and `dup_of` (the sample a duplicate repeats): what a viewer filters and shows by."""
    steps = steps_in(df) if steps is None else steps
    why = reasons(df, steps=steps, drop_labels=drop_labels, judge=judge, trust_judge=trust_judge)
    first = [w[0] if w else None for w in why]
    marks = [mark for mark, _ in dup_marks(df)]
    dup_of = df[marks].bfill(axis=1).iloc[:, 0].to_numpy() if marks else [None] * len(df)
    columns = {"id": sample_ids(df, id).to_numpy(dtype=object),
               "kind": [d and d.kind for d in first], "where": [d and d.step for d in first],
               "reason": [d and str(d) for d in first],
               "dropped_because": ["; ".join(map(str, w)) if w else None for w in why], "dup_of": dup_of}
    return pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in columns.items()}).set_axis(df.index)


@dataclass
class Funnel:
    """rows in; `steps`: each step's ok / failed / skipped and the rows it dropped first;
    `reasons`: rows per (where, kind), a few sample ids and one reason as written; `corrected`:
    kept rows with your corrected text in place; `chunks`: the coverage counts, when given."""

    rows: int
    kept: int
    steps: pd.DataFrame
    reasons: pd.DataFrame
    corrected: int = 0
    chunks: dict | None = None

    def counts(self) -> dict:
        """{"kept": n, "<where>: <kind>": n, ...}: the data card's "dropped" entry."""
        return {"rows in": self.rows, "kept": self.kept,
                **{f"{r.where}: {r.kind}" if r.where else r.kind: int(r.rows) for r in self.reasons.itertuples()},
                **(self.chunks or {})}

    def __repr__(self) -> str:
        yours = f" ({self.corrected} with your corrected text)" if self.corrected else ""
        lines = [f"{self.rows} rows in → {self.kept} kept{yours}"]
        lines += [f"  {s.step}: {s.ok} ok, {s.failed} failed, {s.skipped} skipped ({s.dropped} dropped here)"
                  for s in self.steps.itertuples()]
        lines += [f"  {r.rows:>6}  {r.where + ': ' if r.where else ''}{r.kind}  e.g. {', '.join(map(str, r.samples))}"
                  f"  ({r.example[:80]})" for r in self.reasons.itertuples()]
        lines += [f"  {n:>6}  {what} (chunks, not rows)" for what, n in (self.chunks or {}).items()]
        return "\n".join(lines)

    def plot(self):
        """Rows by status per step (left) and the dropped rows by reason (right)."""
        fig, (left, right) = plt.subplots(1, 2, figsize=(11, 0.5 * max(len(self.steps), len(self.reasons), 3) + 1.5))
        y = np.arange(len(self.steps))
        start = np.zeros(len(self.steps))
        for status in STATUSES:
            n = self.steps[status].to_numpy()
            bars = left.barh(y, n, left=start, color=COLORS[status])
            left.bar_label(bars, labels=[f"{v} {status}" if v else "" for v in n], label_type="center",
                           fontsize="small")
            start += n
        left.set_yticks(y, self.steps["step"])
        left.set(title=f"{self.rows} rows in, {self.kept} kept", xlabel="rows", xlim=(0, max(1, self.rows)))
        left.set_ylim(len(self.steps) - 0.5, -0.5)
        names = ["kept", *(f"{r.where}: {r.kind}" if r.where else r.kind for r in self.reasons.itertuples())]
        counts = [self.kept, *self.reasons["rows"]]
        y = np.arange(len(names))
        bars = right.barh(y, counts, color=[COLORS["ok"]] + [COLORS["failed"]] * (len(names) - 1))
        right.bar_label(bars, fontsize="small", padding=2)
        right.set_yticks(y, names)
        right.set_ylim(len(names) - 0.5, -0.5)
        right.set(title="kept, and dropped by first reason", xlabel="rows", xlim=(0, max(1, *counts) * 1.15))
        for axis in (left.xaxis, right.xaxis):  # whole rows
            axis.set_major_locator(MaxNLocator(integer=True))
        fig.tight_layout()
        plt.close(fig)
        return fig


def funnel(df: pd.DataFrame, steps: list[str] | None = None, *, drop_labels=("bad",),
           id: str | None = None, judge=None, trust_judge=False, coverage=None) -> Funnel:
    """The funnel of the frame `df` (default: every step that ran on it, in column order); a
    `judge` (or a signal's flag column) as keep() takes it; a tk.coverage of the same run."""
    steps = steps_in(df) if steps is None else steps
    why = drop_reasons(df, steps, drop_labels=drop_labels, id=id, judge=judge, trust_judge=trust_judge)
    table = pd.DataFrame({
        "step": pd.Series(steps, dtype=object),
        **{s: [int((df[column(st, "status")] == s).sum()) for st in steps] for s in STATUSES},
        "dropped": [int((why["where"] == st).sum()) for st in steps]})
    gone = why[why["kind"].notna()]
    order = {w: k for k, w in enumerate([getattr(judge, "name", judge), *steps, "dedupe", "labels"])}
    groups = [(where, kind, g) for (where, kind), g in gone.groupby(["where", "kind"], sort=False)]
    groups.sort(key=lambda t: (order.get(t[0], len(order)), -len(t[2])))
    reasons = pd.DataFrame({"where": pd.Series([w for w, _, _ in groups], dtype=object),
                            "kind": pd.Series([k for _, k, _ in groups], dtype=object),
                            "rows": pd.Series([len(g) for _, _, g in groups], dtype="int64"),
                            "samples": pd.Series([g["id"].head(SAMPLES).tolist() for _, _, g in groups], dtype=object),
                            "example": pd.Series([g["reason"].iat[0] for _, _, g in groups], dtype=object)})
    kept = why["kind"].isna().to_numpy(dtype=bool)
    yours = np.zeros(len(df), dtype=bool)
    for name in corrected_columns(df):
        yours |= corrected_rows(df, name)
    return Funnel(len(df), int(kept.sum()), table, reasons, int((kept & yours).sum()),
                  None if coverage is None else coverage.counts())
