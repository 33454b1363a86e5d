"""What an output is to a decision: the text a cell shows, the hash a decision is tied to, and
whether a decision is stale — the one place each of these is decided.

    cell_text({"q": "..."})             # a cell as text: strings as they are, parsed outputs as JSON
    output_hash("The pump ...")         # '3f1c...' (16 hex): what a label, pick or verdict records
    stale(saved, output_hashes(df["answer"]))   # per row: was the decision made on another output?

Every decision — a reviewer's label or pick, a judge's verdict — records the hash of the output it
judged. When a rerun changes that output, the decision is *stale*: it is kept in the log, shown as
given on an earlier output, and never counted for the new text (a rewritten answer is never
exported under a verdict given to another). Labels, picks, the viewer, agreement and the judge all
ask this module, so "stale" means the same thing everywhere.

But: the hash is of the text as shown (`cell_text`), so two outputs that show the same text
(the string "3" and the number 3) are the same output to a decision.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pyarrow as pa


def cell_text(value) -> str:
    """A cell as text: strings as they are, missing as "", parsed outputs (dicts, lists) as
    indented JSON. What the review panes show and what an output's hash is made from."""
    if isinstance(value, str):
        return value
    if pd.api.types.is_scalar(value):
        return "" if pd.isna(value) else str(value)
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


def output_hash(value) -> str:
    """Short content hash of an output cell: what a decision records of the output it judged."""
    return hashlib.sha256(cell_text(value).encode()).hexdigest()[:16]


def output_hashes(values, rows=None) -> list[str]:
    """`output_hash` of every cell of the Series `values`, or of the cells at positions `rows`.
    A pyarrow-backed text column is hashed in place, from its UTF-8 buffers: no text is copied
    out of the column (neither as a Python string nor by taking the rows into a new column)."""
    if not (isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"):
        cells = values.to_numpy(dtype=object)
        return [output_hash(v) for v in (cells if rows is None else cells[np.asarray(rows, dtype=np.int64)])]
    chunks = values.array.__arrow_array__().chunks  # a concatenated column has several
    bounds = np.cumsum([0] + [len(c) for c in chunks])
    rows = np.arange(len(values)) if rows is None else np.asarray(rows, dtype=np.int64)
    which = np.searchsorted(bounds, rows, side="right") - 1
    hashes = np.empty(len(rows), dtype=object)
    for i, chunk in enumerate(chunks):
        at = np.flatnonzero(which == i)
        if len(at):
            hashes[at] = _chunk_hashes(chunk, rows[at] - bounds[i])
    return hashes.tolist()


def _chunk_hashes(chunk, rows) -> list[str]:
    """The hashes of the texts at positions `rows` of one pyarrow string array."""
    valid, offsets, data = chunk.buffers()
    wide = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    offsets = np.frombuffer(offsets, dtype=wide)[chunk.offset:chunk.offset + len(chunk) + 1]
    text = memoryview(data) if data is not None else memoryview(b"")
    ok = chunk.is_valid().to_numpy(zero_copy_only=False)[rows] if valid is not None else np.ones(len(rows), bool)
    empty = output_hash("")
    return [hashlib.sha256(text[a:b]).hexdigest()[:16] if good else empty
            for a, b, good in zip(offsets[rows].tolist(), offsets[rows + 1].tolist(), ok.tolist())]


def stale(judged, now) -> np.ndarray:
    """Per decision, True when it was made on another output than the present one. `judged`: the
    hash each decision recorded, None where it recorded none (a label imported from a labels.json
    of before the store: the output it judged is unknown, so it is never stale); `now`: the
    present outputs' hashes (`output_hashes`), in the same order."""
    judged, now = np.asarray(judged, dtype=object), np.asarray(now, dtype=object)
    known = np.array([isinstance(h, str) for h in judged], dtype=bool)
    return known & (judged != now)


def current(judged, now) -> np.ndarray:
    """Per decision, True when it was made on exactly the present output: as `stale`, but a
    decision that recorded no hash (a row the judge never judged) is not current either."""
    judged, now = np.asarray(judged, dtype=object), np.asarray(now, dtype=object)
    known = np.array([isinstance(h, str) for h in judged], dtype=bool)
    return known & (judged == now)
