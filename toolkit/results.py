"""A step's results: the row store its runner fills as rows finish, and the frame made of it.

    results = Results(len(df))            # the runner stores each row's outcome as it arrives
    out = step_frame(step, df, results)   # every input row + the output + `<step>.status`, ...

The frame keeps every input row. A list answer fans out to one row per item (`<step>.item`),
candidates (n > 1) to one row per candidate (`<step>.candidate`, `<step>.candidate_of`), and a dict
answer names its own columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .frame import STATUS_FIELDS, column
from .llm.usage import Spend


class Results:
    """The runner's row store: a run's outcome as columns (one list per field), filled as rows
    finish in any order. A row with candidates holds a list per field, one entry each."""

    FIELDS = ("status", "error", "attempts", "raw", "reasoning", "call", "value")

    def __init__(self, n: int, ids=None):
        self.status, self.error, self.attempts, self.raw, self.reasoning, self.call, self.value = (
            [None] * n for _ in range(7))
        self.counts = {"ok": 0, "failed": 0, "skipped": 0, "cached": 0, "reasked": 0}  # answers (candidates)
        self.done = 0  # rows
        self.ids = ids  # the rows' sample ids, where candidates name the row they answer
        self.spend = Spend()  # per-row spend, cached rows included

    def store(self, pos: int, r: dict | list[dict]) -> None:
        self.done += 1
        if isinstance(r, list):
            for f in self.FIELDS:
                getattr(self, f)[pos] = [c[f] for c in r]
            for c in r:
                self._count(c)
            return
        self.status[pos], self.error[pos], self.attempts[pos] = r["status"], r["error"], r["attempts"]
        self.raw[pos], self.reasoning[pos], self.value[pos] = r["raw"], r["reasoning"], r["value"]
        self.call[pos] = r["call"]
        self._count(r)

    def _count(self, r: dict) -> None:
        self.counts[r["status"]] += 1
        self.counts["cached"] += r["_cached"]
        if "_reasked" in r:
            self.counts["reasked"] += 1
        self.spend.merge(r["_spend"])


def step_frame(step, df: pd.DataFrame, results: Results) -> pd.DataFrame:
    """Input rows + output + status columns, built column by column (no per-row Series).

    Candidates (n > 1) come out one row per candidate, under their row's index, with
    `<step>.candidate` and `<step>.candidate_of`. A list answer fans out to one row per item,
    under its parent's index, with `<step>.item`. New columns come in the order the rows first
    name them (row 0's output, the status columns, then outputs only later rows have), as when
    each row was a record.
    """
    fields = {f: getattr(results, f) for f in Results.FIELDS}
    rows, extra = None, {}
    if step.n > 1:
        fields, rows, extra = _candidate_rows(step, fields, results.ids)
    values = fields["value"]
    listed = [isinstance(v, list) for v in values]
    positions, flat, items = None, values, None
    if any(listed):
        repeats = [len(v) if is_list and v else 1 for v, is_list in zip(values, listed)]
        positions = np.repeat(np.arange(len(values)), repeats)
        flat, items, listed = [], [], [is_list for is_list, n in zip(listed, repeats) for _ in range(n)]
        for v, n in zip(values, repeats):
            flat.extend(v if isinstance(v, list) and v else [v])
            items.extend(range(n) if isinstance(v, list) and v else [None])
    status = {}
    for field in STATUS_FIELDS:
        values = [step.prompt.version] * len(flat) if field == "prompt_version" else fields[field]
        status[column(step.name, field)] = values if positions is None or field == "prompt_version" \
            else [values[p] for p in positions]
    if items is not None:
        status[column(step.name, "item")] = pd.array(items, dtype="Int64")  # integers, <NA> for skipped rows
    for name, values in extra.items():
        status[name] = values if positions is None else values[positions]
    if positions is not None:
        rows = positions if rows is None else rows[positions]
    out = df.copy(deep=False) if rows is None else df.iloc[rows].copy(deep=False)
    for name, values in _new_columns(step, flat, listed, status).items():
        out[name] = values
    return step.schema.typed(out) if step.schema else out

def _candidate_rows(step, fields: dict, ids) -> tuple[dict, np.ndarray, dict]:
    """Each row's candidates as rows of their own: the fields flattened, the input row of each,
    and the columns `<step>.candidate` (0, 1, ...; <NA> for a row that sent nothing) and
    `<step>.candidate_of` (the sample id of the row the candidates answer)."""
    several = [isinstance(s, list) for s in fields["status"]]
    flat = {f: [x for v, many in zip(values, several) for x in (v if many else [v])]
            for f, values in fields.items()}
    rows = np.repeat(np.arange(len(several)), [len(s) if many else 1 for s, many in zip(fields["status"], several)])
    index = [i for s, many in zip(fields["status"], several) for i in (range(len(s)) if many else [None])]
    return flat, rows, {column(step.name, "candidate"): pd.array(index, dtype="Int64"),
                        column(step.name, "candidate_of"): ids[rows]}

def _new_columns(step, values: list, listed: list[bool], status: dict) -> dict[str, list]:
    """The output column(s) — `<step>`, or one per key of dict answers and of `columns=` — and
    the status columns, in the order the rows name them."""
    item = column(step.name, "item")
    if not step.columns and not any(isinstance(v, dict) for v in values):
        return {step.name: values, **status}
    dicts = [_columns(step, v) for v in values]
    order = dict.fromkeys(_columns(step, None)) if not dicts else {}
    for i, d in enumerate(dicts):
        order.update(dict.fromkeys(d))
        if i == 0:
            order.update(dict.fromkeys(k for k in status if k != item))
        if listed[i] and item not in order:
            order[item] = None
    order.update(dict.fromkeys(status))
    return {k: status[k] if k in status else [d.get(k) for d in dicts] for k in order}

def _columns(step, value) -> dict:
    """A dict answer names its own columns (e.g. question, answer); anything else is `<step>`."""
    if isinstance(value, dict):
        return dict(value)
    return dict.fromkeys(step.columns, None) if step.columns else {step.name: value}
