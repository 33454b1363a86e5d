"""How the review widgets read whole columns: as pane texts, whether two columns show the same
texts (a comparison's counts), which cells contain a search. Column-wise, so a 100k-row frame of
long texts is never copied text by text into Python strings; the rule for one cell's text is
outputs.cell_text.

But: an object column holding parsed outputs (dicts, lists) is read cell by cell.
"""

import numpy as np
import pandas as pd

from ..outputs import cell_text


def _text_dtype(values):
    return pd.api.types.is_string_dtype(values.dtype) and values.dtype != object


def texts_of(values):
    """A column as pane texts: a text column as it is (its missing cells ""), others cell by
    cell as cell_text makes them."""
    return values.fillna("") if _text_dtype(values) else values.map(cell_text)


def same_texts(a, b):
    """Per position, whether two columns (Series of one length) show the same pane text; a
    missing cell shows as "". Text columns are compared in C (pyarrow); object columns value by
    value, making pane text only of cells that are not strings (missing, parsed)."""
    a, b = a.reset_index(drop=True), b.reset_index(drop=True)
    if _text_dtype(a) and _text_dtype(b):
        blank = [(s.isna() | (s == "")).to_numpy(dtype=bool) for s in (a, b)]
        return (a == b).fillna(False).to_numpy(dtype=bool) | (blank[0] & blank[1])
    va, vb = a.to_numpy(dtype=object), b.to_numpy(dtype=object)
    try:
        same = np.asarray(va == vb, dtype=bool)
    except (TypeError, ValueError):  # cells whose == is not one bool (arrays)
        same = np.zeros(len(va), dtype=bool)
    for i in np.flatnonzero(~same):
        x, y = va[i], vb[i]
        if not (type(x) is str and type(y) is str):
            same[i] = cell_text(x) == cell_text(y)
    return same


def contains(values, text):
    """Per cell, whether its pane text contains `text` (case-insensitive)."""
    return texts_of(values).str.contains(text, case=False, regex=False).fillna(False).to_numpy(dtype=bool)
