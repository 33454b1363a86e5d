"""Picks as a column: `picks(df_a, df_b)` reads the run folder's A/B picks into df_b, and
`picked(df)` says which of a sample's candidates (a step's n=) a person or a judge picked.

A pick belongs to the exact pair of outputs it was made on (the store keeps both hashes): after a
rerun changes either output, the pick no longer applies to these rows and reads as "" (not picked).
Among candidates, a pick is one between two of them (a person choosing one of k picks it over each
other one: Store.choose); the picked candidate is the one chosen at least once and never passed
over, by the person or else a judge.

But: rows are matched by sample id (frame.match); a sample only one run has gets no pick.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from ..frame import candidate_output, candidate_sets, folder_of, folder_of_pair, last_candidate_step, last_step, match
from ..outputs import output_hash, output_hashes
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


def picked(df, step=None, *, folder=None):
    """Per row of a frame with candidates (default: the last step run with n=), who picked it over
    its sample's other candidates — "person" or "judge:<name>" — or None. A source picked the
    candidate it chose over another at least once and never passed over for another, counting
    only picks on the outputs as they are now. The person's pick wins, else a judge's (by name)."""
    step = step or last_candidate_step(df)
    found = np.full(len(df), None, dtype=object)
    folder = folder_of(df, folder)
    if folder is None or not (Path(folder) / "review.sqlite").exists():
        return pd.Series(found, index=df.index, dtype=object)
    hashes = output_hashes(df[candidate_output(df, step)])
    with Store(folder) as store:
        sources = ["person", *sorted(s for s in store.sources() if s.startswith("judge:"))]
        saved = {source: store.picks(source) for source in sources}
    for sample, rows in candidate_sets(df, step).items():
        current = {hashes[r] for r in rows}
        for source in sources:
            best = winner(saved[source].get(sample, ()), current)
            if best is not None:
                for r in rows:
                    found[r] = source if hashes[r] == best else None
                break
    return pd.Series(found, index=df.index, dtype=object)


def winner(events, current) -> str | None:
    """The output hash that `events` (picks between two candidates) chose at least once and never
    passed over, among the hashes `current`; None when there is none, or no single one."""
    chosen, passed = set(), set()
    for e in events:
        if e["a"] in current and e["b"] in current and e["pick"] in ("A", "B"):
            best, other = (e["a"], e["b"]) if e["pick"] == "A" else (e["b"], e["a"])
            chosen.add(best)
            passed.add(other)
    found = chosen - passed
    return next(iter(found)) if len(found) == 1 else None
