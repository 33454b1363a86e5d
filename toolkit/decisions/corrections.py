"""Corrections: your text for an output, used in place of the model's wherever the dataset is made.

    tk.correct(out, "c3", "The vicar was not pleased that the bishop would visit.")  # the e key's store
    kept, dropped = tk.keep(tk.labels(out), steps=["generic"])   # c3's `generic` is your text in kept

A correction is a decision in the review store (store.py), tied to the hash of the output it
corrected: after a rerun changes that output it is *stale* (outputs.stale): kept in the log, never
applied to the new text. The model's output, the cache and the frame stay as they are; `tk.labels`
adds `<column>.corrected` (your text where a current correction stands, else missing), and
frame.corrected is the one rule that puts it in place, for keep, sharegpt, the exports and the card.
`tk.preference_pairs` turns corrections into DPO pairs (yours chosen, the model's rejected).

But: a correction replaces the output column only; `<step>.raw`, the model's whole answer, stays
the model's.
"""

import json
import warnings

import numpy as np
import pandas as pd

from .. import outputs
from ..frame import CORRECTED, column, last_step, need_column, need_folder, sample_ids
from .store import Store


def correct(df, sample, text, column=None, *, id=None, folder=None) -> None:
    """Store `text` as your correction of sample `sample`'s output in `column` (default: the last
    step's), tied to that output as the frame holds it now; `text=None` withdraws it. What the
    viewer's edit key stores, from a cell. The frame is not changed: `tk.labels` reads it back."""
    name = need_column(df, column or last_step(df))
    ids = sample_ids(df, id).to_numpy(dtype=object)
    where = np.flatnonzero(ids == str(sample))
    if not len(where):
        raise KeyError(f"correct: no sample {sample!r} in the frame (its ids are like {list(ids[:3])}); pass id= "
                       "naming the sample-id column if another column holds them")
    value = df[name].iat[where[0]]
    check(value, text, name)
    with Store(need_folder(df, folder, "correct")) as store:
        store.correct(str(sample), name, outputs.output_hash(value), text)


def check(value, text, name) -> None:
    """Refuse a correction of a parsed answer (a dict or list) that is not JSON: the rule for
    tk.correct and the viewer's edit key alike."""
    if text is not None and isinstance(value, (dict, list)):
        try:
            json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"correct: {name!r} holds parsed answers, so a correction is the JSON the viewer shows "
                             f"(this one is not JSON: {e})") from None


def standing(df, name, saved: dict, ids) -> tuple[np.ndarray, np.ndarray]:
    """Per row of `df`: the text of the correction standing on its `name` output (None where there
    is none or it is stale) and whether a correction was made on an earlier output (stale).
    `saved`: {sample_id: {"text", "output"}} of that column (Store.corrections()[name]); `ids`: the
    rows' sample ids. An output that already is the correction's text (a frame from keep) counts
    as corrected, not stale."""
    texts = np.full(len(df), None, dtype=object)
    was = np.zeros(len(df), dtype=bool)
    rows = np.flatnonzero(pd.Series(ids, dtype=object).isin(saved.keys()).to_numpy(dtype=bool))
    if not len(rows):
        return texts, was
    found = [saved[ids[k]] for k in rows]
    now = np.asarray(outputs.output_hashes(df[name], rows), dtype=object)
    in_place = np.array([outputs.output_hash(f["text"]) for f in found], dtype=object) == now
    stale = outputs.stale([f["output"] for f in found], now) & ~in_place
    texts[rows[~stale]] = [f["text"] for f, s in zip(found, stale) if not s]
    was[rows[stale]] = True
    return texts, was


def on_frame(out, store: Store, ids) -> None:
    """Add `<column>.corrected` to the frame `out` (in place) for each column of it with
    corrections stored, and warn about the stale ones."""
    saved = store.corrections()
    for name in (n for n in saved if n in out):
        texts, was = standing(out, name, saved[name], ids)
        out[column(name, CORRECTED)] = pd.Series(texts, index=out.index, dtype=object)
        if was.any():
            where = ", ".join(map(str, np.asarray(ids, dtype=object)[was][:5]))
            warnings.warn(f"{int(was.sum())} correction(s) of {name!r} were made on an earlier output and are not "
                          f"applied ({where}{', ...' if was.sum() > 5 else ''}): the output changed since; correct "
                          "it again in the viewer or with tk.correct", stacklevel=3)
