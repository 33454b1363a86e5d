"""Exact and near-duplicate samples, marked (never dropped) so `keep` can drop them with a reason.

    out = tk.dedupe(out, "generic", threshold=0.8)   # adds generic.dup_of, generic.dup_similarity
    kept, dropped = tk.keep(out, steps=["generic"])  # drops them: "duplicate of c17"

Similarity is the Jaccard index of two texts' word 3-gram sets (lowercased, split on whitespace;
see minhash.py): 1.0 is the same words in the same order, whitespace and case aside. At 0.8 a
copy with a word or two changed in a 100-word text, or two sentences swapped, is caught; a
paraphrase, or the same template filled with other facts, is not (their shared 3-grams are few).
Short texts move fast: one changed word in the middle of a 10-word text gives 0.45 (docs/health.md).

But: surface overlap only, not meaning. Memory and the path past one machine: see minhash.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import frame
from .minhash import Shingles, candidate_pairs


def dedupe(df: pd.DataFrame, column: str, *, threshold: float = 0.8, id: str | None = None) -> pd.DataFrame:
    """A new frame with `<column>.dup_of` (the id of the earlier sample this one repeats, else
    None) and `<column>.dup_similarity` (their Jaccard similarity, 1.0 for an exact copy).

    The first occurrence wins: a sample is marked when an earlier unmarked one is at least
    `threshold` similar, so the unmarked samples have no such pair left among them (LSH misses
    aside: ≤ 1 % of the pairs right at the threshold). Ids are the samples' ids as the viewer
    shows them (frame.sample_ids: the `id` column, default `chunk_id`, else the index). Empty
    or missing texts are not compared. Candidates come from MinHash LSH (rensa, 64 permutations,
    bands set so a pair at `threshold` is a candidate with probability ≥ 0.99); each candidate's
    similarity is then computed exactly.
    """
    if column not in df:
        raise ValueError(f"dedupe: no column {column!r}; the frame has {', '.join(map(str, df.columns))}")
    if not 0 < threshold <= 1:
        raise ValueError(f"dedupe: threshold={threshold!r} must be in (0, 1]; 0.8 is a common choice")
    ids = frame.sample_ids(df, id)
    if not ids.is_unique:
        raise ValueError(f"dedupe: the sample ids in column {id!r} repeat, so dup_of could not say which sample "
                         "is meant; pass id= naming a unique column (None: chunk_id, told apart as the viewer does)")
    values = df[column]
    present = values.notna().to_numpy() & values.astype(str).str.strip().ne("").to_numpy()
    texts = [v if isinstance(v, str) else str(v) for v in values.where(present, "")]
    sh = Shingles(texts)
    dup_of = np.full(len(df), -1, np.int64)
    similarity = np.full(len(df), np.nan)
    # exact copies (after lowercasing and collapsing whitespace) point at their first occurrence
    codes = pd.factorize(pd.Series(sh.normal, dtype=object))[0]
    first = pd.Series(np.arange(len(df))).groupby(codes).transform("min").to_numpy()
    exact = present & (first != np.arange(len(df)))
    dup_of[exact], similarity[exact] = first[exact], 1.0
    # near copies among the first occurrences: earliest unmarked candidate at or over the threshold
    pairs = candidate_pairs(sh, np.flatnonzero(present & ~exact), threshold)
    scores = sh.jaccard(pairs)
    close = scores >= threshold
    pairs, scores = pairs[close], scores[close]
    order = np.lexsort((pairs[:, 0], pairs[:, 1]))  # by later row, then earlier
    for (i, j), s in zip(pairs[order].tolist(), scores[order].tolist()):
        if dup_of[j] < 0 and dup_of[i] < 0:
            dup_of[j], similarity[j] = i, s
    out = df.copy()
    originals = [ids[k] if k >= 0 else None for k in dup_of]
    out[frame.column(column, "dup_of")] = pd.Series(originals, index=df.index, dtype=object)
    out[frame.column(column, "dup_similarity")] = pd.Series(np.round(similarity, 4), index=df.index)
    return out
