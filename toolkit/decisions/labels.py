"""Labels as a column: `labels(df)` reads the run folder's review store (store.py) into the frame.

A label belongs to the output it judged (the store keeps that output's hash): after a rerun
changes a sample's output, its old label is *stale* and counts as unreviewed, so a rewritten
answer is never exported under a verdict given to another text. `label_stale` says which labels
those are; `stale="keep"` keeps them as given.

But: a label imported from a labels.json of before the store has no output hash and counts as
current whatever the output now is.
"""

import functools

import numpy as np
import pandas as pd

from ..frame import last_step, need_folder, sample_ids
from ..outputs import is_stale
from .store import Store

LABELS = ("good", "bad")  # the default label set (keys g and b)


def labels(df, folder=None, *, id=None, column=None, stale="unreviewed", source="person"):
    """A copy of `df` with `label` ("unreviewed" where none), `note` and `label_stale` from the
    review store of `folder` (default: the run folder the frame's step ran in).

    `column` is the output column the labels judged (default: the column each label was given
    on, as the store records it, else the last step's output as in show()); a label given to an
    earlier output of it is stale: `label_stale` is True and `label` is "unreviewed" unless
    `stale="keep"`. `source` is "person", "judge:<name>" or "judge" (the one judge stored).
    """
    if stale not in ("unreviewed", "keep"):
        raise ValueError(f"stale must be 'unreviewed' or 'keep', not {stale!r}")
    if column is not None and column not in df:
        raise KeyError(f"no column {column!r} in the frame (column=); columns: {list(df.columns)}")
    store, ids = Store(need_folder(df, folder, "labels")), sample_ids(df, id)
    saved = store.labels(store.one_source(source))
    found = [saved.get(i) or {"label": None, "note": "", "output": None, "column": None} for i in ids]
    was = np.zeros(len(df), dtype=bool)
    fallback = functools.cache(lambda: last_step(df))
    for i, v in enumerate(found):
        if v["label"] is not None and v["output"] is not None:
            judged = column or (v["column"] if v["column"] in df else None) or fallback()
            was[i] = is_stale(v, df[judged].iat[i])
    out = df.copy()
    # string columns however many rows (an empty frame would give float)
    out["label"] = pd.array([v["label"] if v["label"] and (stale == "keep" or not w) else "unreviewed"
                             for v, w in zip(found, was)], dtype="str")
    out["note"] = pd.array([v["note"] or "" for v in found], dtype="str")
    out["label_stale"] = was
    return out
