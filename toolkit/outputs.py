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


def output_hashes(values) -> list[str]:
    """`output_hash` of every cell of the Series `values`; a pyarrow-backed text column is hashed
    from its UTF-8 buffer, without making a Python string of each text first."""
    if not (isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"):
        return [output_hash(v) for v in values.to_numpy(dtype=object)]
    arr = pa.array(values.array)
    if not pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.large_string())
    valid, _, data = arr.buffers()
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset:arr.offset + len(arr) + 1].tolist()
    text = memoryview(data) if data is not None else memoryview(b"")
    ok = arr.is_valid().to_numpy(zero_copy_only=False) if valid is not None else np.ones(len(arr), dtype=bool)
    empty = output_hash("")
    return [hashlib.sha256(text[offsets[i]:offsets[i + 1]]).hexdigest()[:16] if ok[i] else empty
            for i in range(len(arr))]


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
