"""Labels as a column: `labels(df)` reads the run folder's review store (store.py) into the frame.

A label belongs to the output it judged (the store keeps that output's hash): after a rerun
changes a sample's output, its old label is *stale* and counts as unreviewed, so a rewritten
answer is never exported under a verdict given to another text. `label_stale` says which labels
those are; `stale="keep"` keeps them as given.

But: a label imported from a labels.json of before the store has no output hash and counts as
current whatever the output now is.
"""

import numpy as np
import pandas as pd

from .. import outputs
from ..frame import last_step, need_folder, sample_ids
from . import corrections
from .store import Store

LABELS = ("good", "bad")  # the default label set of the viewer (keys g and b); not the labels given


def labels(df, folder=None, *, id=None, column=None, stale="unreviewed", source="person"):
    """Your labels as columns of the frame: a copy of `df` with `label` ("unreviewed" where none),
    `note` and `label_stale` from the review store of `folder` (default: the run folder the
    frame's step ran in), and `<column>.corrected` for each output column you corrected (your
    text where a correction stands on the present output; corrections.py). (Store.labels is the
    raw log read this comes from; LABELS the default label set the viewer offers.)

    `column` is the output column the labels judged (default: the column each label was given
    on, as the store records it, else the last step's output as in show()); a label given to an
    earlier output of it is stale: `label_stale` is True and `label` is "unreviewed" unless
    `stale="keep"`. `source` is "person", "judge:<name>" or "judge" (the one judge stored).
    """
    if stale not in ("unreviewed", "keep"):
        raise ValueError(f"stale must be 'unreviewed' or 'keep', not {stale!r}")
    if column is not None and column not in df:
        raise KeyError(f"no column {column!r} in the frame (column=); columns: {list(df.columns)}")
    ids = sample_ids(df, id)
    with Store(need_folder(df, folder, "labels")) as store:
        saved = store.labels(store.one_source(source))
        out = df.copy()
        corrections.on_frame(out, store, ids.to_numpy(dtype=object))
    found = [saved.get(i) or {"label": None, "note": "", "output": None, "column": None} for i in ids]
    was = np.zeros(len(df), dtype=bool)
    rows = [i for i, v in enumerate(found) if v["label"] is not None and v["output"] is not None]
    judged = pd.Series([column or (found[i]["column"] if found[i]["column"] in df else None) for i in rows],
                       dtype=object)
    if judged.isna().any():
        judged = judged.fillna(last_step(df))
    for name, at in judged.groupby(judged).indices.items():  # per judged column, its rows at once
        where = np.asarray(rows)[at]
        was[where] = outputs.stale([found[i]["output"] for i in where], outputs.output_hashes(df[name], where))
    # string columns however many rows (an empty frame would give float)
    out["label"] = pd.array([v["label"] if v["label"] and (stale == "keep" or not w) else "unreviewed"
                             for v, w in zip(found, was)], dtype="str")
    out["note"] = pd.array([v["note"] or "" for v in found], dtype="str")
    out["label_stale"] = was
    return out
