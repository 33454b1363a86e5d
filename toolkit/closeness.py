"""How close an output stays to its source: a rewrite that comes back nearly as it went in teaches
the model nothing, and a small model mostly copies.

    tk.copy_ratio(passage, rewrite)                 # 0.93: nearly a copy
    tk.closeness(v1, "generic.raw")                 # per row: length_ratio, copy_ratio, copy
    tk.closeness(v2, "generic.raw", by=["voice"])   # the same, averaged per voice

copy_ratio is difflib's ratio over words (2 × the words matched in order ÷ the words of both):
1.0 is the same words in the same order, white space aside; 0.0 no word in common. It answers
"how much of the passage came back as it was", for a validator ("nearly a copy: rewrite it") and
for reading a run. It is not dedupe's similarity (the Jaccard index of word 3-gram sets, for
finding near-duplicate samples among many): this one compares one output with its own source.

But: surface words only. A faithful paraphrase scores low and a copy with its sentences swapped
scores lower than its words would say; difflib's matching is quadratic in the worst case, fine
for passages, slow for books.
"""

from __future__ import annotations

import difflib

import numpy as np
import pandas as pd

from .frame import need_column


def copy_ratio(source: str, output: str) -> float:
    """How much of `source`'s word sequence `output` repeats, 0.0 to 1.0 (1.0: a copy)."""
    return difflib.SequenceMatcher(None, source.split(), output.split(), autojunk=False).ratio()


def closeness(df: pd.DataFrame, output: str, source: str = "text", *, by: list[str] | None = None) -> pd.DataFrame:
    """Per row of `df` (same index): `length_ratio` (output characters ÷ source characters),
    `copy_ratio` and `copy` (the output is the source, white space at the ends aside). A row with
    no output has no ratios and is no copy. With `by` (columns of `df`): one row per group with
    its `rows`, the mean ratios and the number of `copies`."""
    texts, outs = df[need_column(df, source)], df[need_column(df, output)]
    has = outs.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    src = texts.fillna("").astype(str).to_numpy(dtype=object)
    out = outs.to_numpy(dtype=object)
    lengths = np.array([len(s) for s in src], dtype=float)
    per_row = pd.DataFrame({
        "length_ratio": [len(o) / n if h and n else np.nan for o, n, h in zip(out, lengths, has)],
        "copy_ratio": [copy_ratio(s, o) if h else np.nan for s, o, h in zip(src, out, has)],
        "copy": [h and o.strip() == s.strip() for s, o, h in zip(src, out, has)]}, index=df.index)
    if by is None:
        return per_row
    groups = per_row.join(df[[need_column(df, c) for c in by]]).groupby(by)
    return groups.agg(rows=("copy", "size"), length_ratio=("length_ratio", "mean"),
                      copy_ratio=("copy_ratio", "mean"), copies=("copy", "sum"))
