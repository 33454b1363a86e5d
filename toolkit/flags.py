"""A signal's flag, and how a flag is read as a judge's pass/fail verdict.

    g = tk.grounding(checked, answer="answer", source="text")   # adds answer.grounding_flag
    print(tk.agreement(g, "answer.grounding_flag"))   # the flag against your good/bad labels

Every signal that can flag a row adds `<judged>.<signal>_flag`: what it found, as text ("unsupported
number: 1998"), "" where it measured the row and found nothing, None where it could not measure it
(no text). `tk.agreement(df, "<judged>.<signal>_flag")` reads that column as a pass/fail judge of
`<judged>` would be read: a flag is "fail", "" is "pass", None is no verdict; the verdict is about
the present value of `<judged>`, so your labels are compared exactly as with a judge (κ with its
interval, precision and recall of bad). A signal is trusted the way a judge is.

But: a flag is the signal's rule (a threshold, "any number missing"), not a calibrated verdict;
measure it before you filter on it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import outputs
from .frame import column as step_column
from .frame import folder_of, need_column, need_folder
from .judge import PassFail

END = "_flag"


def column(judged: str, signal: str) -> str:
    """The flag column a signal adds for the column it judged: column("answer", "grounding") ==
    "answer.grounding_flag"."""
    return step_column(judged, signal + END)


def columns(df) -> list[str]:
    """The signals' flag columns of `df`: `<column>.<signal>_flag` of a column that `df` holds."""
    return [c for c in df.columns if isinstance(c, str) and c.endswith(END) and c.rsplit(".", 1)[0] in df]


def summary(df) -> dict:
    """{flag column: "3 flagged of 40 measured"} for the data card: what each signal found."""
    out = {}
    for name in columns(df):
        measured = df[name].map(lambda v: isinstance(v, str))
        out[name] = f"{int((measured & (df[name] != '')).sum())} flagged of {int(measured.sum())} measured"
    return out


def values(n: int, measured: np.ndarray, reasons: list, index) -> pd.Series:
    """A flag column of `n` rows: the `reasons` ("" for none) on the measured rows, None elsewhere."""
    out = np.full(n, None, dtype=object)
    out[measured] = reasons
    return pd.Series(out, index=index, dtype=object)


class Flag:
    """A flag column read as a pass/fail judge of the column it flags (the name before
    `.<signal>_flag`): what `tk.agreement` and `keep(judge=...)` take for a flag's name."""

    verdict = PassFail

    def __init__(self, df, name: str):
        need_column(df, name)
        if name not in columns(df):
            raise ValueError(f"{name!r} is not a signal's flag of a column in this frame (a flag is named "
                             f"<column>.<signal>{END}, e.g. 'answer.grounding_flag')")
        self.name, self.judged = name, name.rsplit(".", 1)[0]

    def passed(self, values) -> np.ndarray:
        return (pd.Series(values, dtype=object) == "pass").to_numpy(dtype=bool)

    def verdicts(self, df) -> pd.DataFrame:
        """A copy of `df` with the flag as a judge's columns: `<flag>` pass/fail, `.status` ok
        (skipped where not measured), `.reason` (what was found), `.judged` (the output's hash)."""
        flag = df[self.name].to_numpy(dtype=object)
        measured = np.array([isinstance(v, str) for v in flag], dtype=bool)
        out = df.copy()
        verdict = np.where(measured, np.where(measured & (flag != ""), "fail", "pass"), None)
        out[self.name] = pd.Series(verdict, index=df.index, dtype=object)
        out[step_column(self.name, "status")] = np.where(measured, "ok", "skipped")
        out[step_column(self.name, "reason")] = pd.Series(flag, index=df.index, dtype=object)
        out[step_column(self.name, "judged")] = outputs.output_hashes(df[self.judged])
        return out


def as_judge(df, judge):
    """(df, judge) as given for a Judge; for a flag's name, the frame with the flag's verdict
    columns and the Flag that reads them: what agreement() and keep(judge=...) start with."""
    if isinstance(judge, str):
        judge = Flag(df, judge)
        return judge.verdicts(df), judge
    return df, judge


def run_folder(df, folder, judge):
    """The run folder given, else the frame's, else the judge's LLM's (a flag has no LLM, so its
    frame must name one)."""
    if isinstance(judge, Flag):
        return need_folder(df, folder, f"agreement with {judge.name!r}")
    return folder_of(df, folder) or judge.llm.folder
