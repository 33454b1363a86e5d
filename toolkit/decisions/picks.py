"""A/B picks as a column: `picks(df_a, df_b)` reads the run folder's review store into df_b.

A pick belongs to the exact pair of outputs it was made on (the store keeps both hashes): after a
rerun changes either output, the pick no longer applies to these rows and reads as "" (not picked).

But: rows are matched by sample id (frame.match); a sample only one run has gets no pick.
"""

import numpy as np
import pandas as pd

from ..frame import folder_of_pair, last_step, match
from ..outputs import output_hash
from .store import Store


def picks(df_a, df_b, column=None, *, id=None, folder=None, source="person"):
    """A copy of df_b with a `pick` column: "A", "B" or "tie" where a pick was stored for this
    exact pair of outputs, "" elsewhere (rows not in df_a, not picked, or whose outputs changed).
    `source`: "person" (the reviewers, in tk.compare), "judge:<name>" or "judge" (the one judge)."""
    column = column or last_step(df_b)
    folder = folder_of_pair(df_a, df_b, folder)
    if folder is None:
        raise ValueError("picks: the frames do not say which run folder they came from; pass folder=")
    out = df_b.copy()
    with Store(folder) as store:
        source = store.one_source(source)
        saved = store.picks(source)
        ia, ib, ids = match(df_a, df_b, id)
        found = np.full(len(df_b), "", dtype=object)
        for k in np.flatnonzero(pd.Series(ids, dtype=object).isin(saved.keys()).to_numpy(dtype=bool)):
            pair = (output_hash(df_a[column].iat[ia[k]]), output_hash(df_b[column].iat[ib[k]]))
            found[ib[k]] = next((e["pick"] for e in saved[ids[k]] if (e["a"], e["b"]) == pair), "")
    out["pick"] = found
    return out
