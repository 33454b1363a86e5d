"""Rows promoted to few-shot examples, and what they are left out of.

`tk.promote` writes a reviewed row into its step's prompt draft as a user/assistant turn pair and
records the promotion in the review store (kind "example", tied to the output promoted). From then
on a run of that prompt shows the model the row's own answer, so what it gives for that row says
nothing about the prompt: the row is left out of a comparison's results (`tk.compare(...).results()`)
and of a judge's agreement with you (`tk.agreement`), both of which would otherwise grade the
prompt on its own example.

But: the record is the promotion, not the file. Taking the turns out of the draft by hand does not
bring the row back; `Store.example(items, column, None)` (or undo, in the session that promoted)
does.
"""

import numpy as np
import pandas as pd

from .store import Store


def promoted(store: Store, column) -> set[str]:
    """The ids of the samples promoted to few-shot examples of `column`'s step."""
    return set(store.examples().get(column, {}))


def left_out(store: Store, column, ids) -> np.ndarray:
    """Per sample id in `ids`, True where that sample is a few-shot example of `column`'s step:
    what results and agreement leave out."""
    found = promoted(store, column)
    return pd.Series(np.asarray(ids, dtype=object), dtype=object).isin(found).to_numpy(dtype=bool) if found \
        else np.zeros(len(ids), dtype=bool)
