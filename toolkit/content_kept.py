"""What a rewrite lost and what it invented: numbers, names and content words, per row.

    out = tk.content_kept(v2, original="text", rewrite="generic")
    out[["generic.kept", "generic.lost_numbers", "generic.invented_names", "generic.content_flag"]]

A rewrite should change the voice and keep the content. Per row, the mentions of each text
(mentions.py: numbers, names, content words) are looked up in the other:

- `<rewrite>.lost_numbers`, `.lost_names`, `.lost_words`: the original's mentions the rewrite lacks,
  as the original writes them, in its order;
- `<rewrite>.invented_numbers`, `.invented_names`, `.invented_words`: the rewrite's mentions the
  original lacks;
- `<rewrite>.kept`: the share of the original's mentions found in the rewrite (NaN when the
  original mentions nothing);
- `<rewrite>.content_flag`: "lost number 1938; invented name Marge" when a number or a name was lost
  or invented, "" when none was, None where the row lacks either text (flags.py). Content words do
  not flag: a paraphrase changes words.

A text repeated in nearby rows (the parent's text after a one-to-many step) is read once. No model
is used: an embedding similarity (e.g. a sentence-transformers model) is not offered, so that
nothing is downloaded and the figures are the same on every machine.

But: surface forms (mentions.py): a number written as a word, a synonym or another inflection
counts as lost and invented.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import flags
from .frame import blank, column, need_column
from .mentions import missing, recent

KINDS = ("numbers", "names", "words")


def content_kept(df: pd.DataFrame, original: str = "text", rewrite: str = "generic") -> pd.DataFrame:
    """A new frame with the lost / invented lists, `<rewrite>.kept` and `<rewrite>.content_flag`
    (see the module). Rows without both texts get empty lists, NaN and None."""
    need_column(df, original), need_column(df, rewrite)
    a, b = df[original].to_numpy(dtype=object), df[rewrite].to_numpy(dtype=object)
    lost = {k: [[] for _ in range(len(df))] for k in KINDS}
    invented = {k: [[] for _ in range(len(df))] for k in KINDS}
    kept = np.full(len(df), np.nan)
    measured = np.zeros(len(df), dtype=bool)
    reasons = []
    for i, (x, y) in enumerate(zip(a, b)):
        if blank(x) or blank(y):
            continue
        mx, my = recent(x), recent(y)
        gone, new = missing(mx, my), missing(my, mx)
        for k, g, n in zip(KINDS, gone, new):
            lost[k][i], invented[k][i] = g, n
        if len(mx):
            kept[i] = 1 - sum(map(len, gone)) / len(mx)
        measured[i] = True
        reasons.append(_reason(gone, new))
    out = df.copy()
    for k in KINDS:
        out[column(rewrite, f"lost_{k}")] = pd.Series(lost[k], index=df.index, dtype=object)
    for k in KINDS:
        out[column(rewrite, f"invented_{k}")] = pd.Series(invented[k], index=df.index, dtype=object)
    out[column(rewrite, "kept")] = kept.round(4)
    out[flags.column(rewrite, "content")] = flags.values(len(df), measured, reasons, df.index)
    return out


def _reason(gone, new) -> str:
    """"lost number 1938; invented names Marge, Olsen": the numbers and names only."""
    parts = []
    for verb, found in (("lost", gone), ("invented", new)):
        for kind, items in zip(("number", "name"), found[:2]):
            if items:
                parts.append(f"{verb} {kind}{'s' * (len(items) > 1)} {', '.join(items)}")
    return "; ".join(parts)
