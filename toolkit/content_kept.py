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

A text repeated in nearby rows (the parent's text after a one-to-many step) is read once. From
cores.AT_LEAST rows (20,000) on, the rows are shared with worker processes on the machine's other
cores (cores.py): the same results, sooner. No model is used: an embedding similarity (e.g. a
sentence-transformers model) is not offered, so that nothing is downloaded and the figures are the
same on every machine.

But: surface forms (mentions.py): a number written as a word, a synonym or another inflection
counts as lost and invented.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import flags
from .cores import spread
from .frame import blank, column, need_column
from .mentions import KINDS, missing, recent

LISTS = tuple(f"{verb}_{kind}" for verb in ("lost", "invented") for kind in KINDS)  # the list columns


def content_kept(df: pd.DataFrame, original: str = "text", rewrite: str = "generic") -> pd.DataFrame:
    """A new frame with the lost / invented lists, `<rewrite>.kept` and `<rewrite>.content_flag`
    (see the module). Rows without both texts get empty lists, NaN and None."""
    need_column(df, original), need_column(df, rewrite)
    *lists, kept, flag = spread(compare, list(zip(df[original].to_numpy(dtype=object),
                                                  df[rewrite].to_numpy(dtype=object))))
    out = df.copy()
    for name, values in zip(LISTS, lists):
        out[column(rewrite, name)] = pd.Series(values, index=df.index, dtype=object)
    out[column(rewrite, "kept")] = np.array(kept, dtype=float).round(4)
    out[flags.column(rewrite, "content")] = pd.Series(flag, index=df.index, dtype=object)
    return out


def compare(pairs: list) -> tuple[list, ...]:
    """Per (original, rewrite), column by column: the six lists (LISTS' order), the kept share and
    the flag's reason ("" for none); a row lacking either text gets empty lists, NaN and None.
    Columns, not a tuple per row: joining a worker's columns is a list's extend, where picking
    eight values out of each row's tuple cost the caller, alone, ≈ 3 % of the whole call."""
    columns = tuple([] for _ in range(len(LISTS) + 2))
    lost_n, lost_m, lost_w, new_n, new_m, new_w, kept, flag = (c.append for c in columns)
    for x, y in pairs:
        if blank(x) or blank(y):
            lost_n([]), lost_m([]), lost_w([]), new_n([]), new_m([]), new_w([]), kept(np.nan), flag(None)
            continue
        mx, my = recent(x), recent(y)
        gone, new, n = missing(mx, my), missing(my, mx), len(mx)
        lost_n(gone[0]), lost_m(gone[1]), lost_w(gone[2]), new_n(new[0]), new_m(new[1]), new_w(new[2])
        kept(1 - (len(gone[0]) + len(gone[1]) + len(gone[2])) / n if n else np.nan)
        flag(_reason(gone, new) if gone[0] or gone[1] or new[0] or new[1] else "")
    return columns


def _reason(gone, new) -> str:
    """"lost number 1938; invented names Marge, Olsen": the numbers and names only."""
    parts = []
    for verb, found in (("lost", gone), ("invented", new)):
        for kind, items in zip(("number", "name"), found[:2]):
            if items:
                parts.append(f"{verb} {kind}{'s' * (len(items) > 1)} {', '.join(items)}")
    return "; ".join(parts)
