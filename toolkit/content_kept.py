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
from .mentions import missing, recent

KINDS = ("numbers", "names", "words")


def content_kept(df: pd.DataFrame, original: str = "text", rewrite: str = "generic") -> pd.DataFrame:
    """A new frame with the lost / invented lists, `<rewrite>.kept` and `<rewrite>.content_flag`
    (see the module). Rows without both texts get empty lists, NaN and None."""
    need_column(df, original), need_column(df, rewrite)
    found = spread(compare, list(zip(df[original].to_numpy(dtype=object), df[rewrite].to_numpy(dtype=object))))
    out = df.copy()
    for at, verb in ((0, "lost"), (1, "invented")):
        for k, kind in enumerate(KINDS):
            out[column(rewrite, f"{verb}_{kind}")] = pd.Series([r[at][k] if r else [] for r in found],
                                                               index=df.index, dtype=object)
    out[column(rewrite, "kept")] = np.array([r[2] if r else np.nan for r in found], dtype=float).round(4)
    measured = np.array([r is not None for r in found], dtype=bool)
    out[flags.column(rewrite, "content")] = flags.values(len(df), measured, [r[3] for r in found if r], df.index)
    return out


def compare(pairs: list) -> list:
    """Per (original, rewrite): None when either text is blank, else (lost, invented, kept share,
    flag reason), lost and invented each (numbers, names, words). A list in, a list out: the unit
    cores.spread hands to a worker."""
    out = []
    for x, y in pairs:
        if blank(x) or blank(y):
            out.append(None)
            continue
        mx, my = recent(x), recent(y)
        gone, new, n = missing(mx, my), missing(my, mx), len(mx)
        out.append((gone, new, 1 - (len(gone[0]) + len(gone[1]) + len(gone[2])) / n if n else np.nan,
                    _reason(gone, new) if gone[0] or gone[1] or new[0] or new[1] else ""))
    return out


def _reason(gone, new) -> str:
    """"lost number 1938; invented names Marge, Olsen": the numbers and names only."""
    parts = []
    for verb, found in (("lost", gone), ("invented", new)):
        for kind, items in zip(("number", "name"), found[:2]):
            if items:
                parts.append(f"{verb} {kind}{'s' * (len(items) > 1)} {', '.join(items)}")
    return "; ".join(parts)
