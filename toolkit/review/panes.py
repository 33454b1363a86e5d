"""A sample's header fields and its two text panes: what the viewer and the comparison draw alike."""

import numpy as np
import pandas as pd

from ..frame import column
from ..outputs import cell_text
from .diff import segments


def step_fields(row, step):
    """Header fields (status, attempts, prompt version) and the notice for a failed/skipped row."""
    fields, notice = [], None
    status = row.get(column(step, "status"))
    if isinstance(status, str):
        fields.append(["status", status])
    for field, title in (("attempts", "attempts"), ("prompt_version", "prompt")):
        if cell_text(row.get(column(step, field))):
            fields.append([title, cell_text(row[column(step, field)])])
    error = cell_text(row.get(column(step, "error")))
    if status == "skipped":
        notice = ["skipped", f"skipped: {error or 'no reason recorded'}"]
    elif error:
        notice = ["failed" if status == "failed" else "info", f"error: {error}"]
    return fields, notice


def text_panes(a, b, titles, word_diff, note=None):
    """Two panes of text, word-diffed or plain."""
    if word_diff:
        left, right, skipped = segments(a, b)
    else:
        left, right, skipped = [["=", a]], [["=", b]], None
    return [{"title": titles[0], "segments": left, "note": skipped},
            {"title": titles[1], "segments": right, "note": note or skipped}]


def column_at(df, name, at):
    """Column `name` at positions `at`, as a Series (all "" when there is no such column); not
    copied when `at` is every row in order."""
    if name not in df:
        return pd.Series("", index=range(len(at)), dtype="str")
    values = df[name]
    return values if len(at) == len(df) and np.array_equal(at, np.arange(len(df))) else values.iloc[at]
