"""Review decisions stored in the run folder: labels (good/bad + note) and A/B picks.

labels.json maps a sample id to {"label", "note"}. picks.json maps a sample id to the picks made
on it, each for one exact pair of outputs: {"a": hash, "b": hash, "pick": "A"|"B"|"tie"}. Keying a
pick by the outputs' hashes keeps it honest: after a rerun changes an output, the old pick no
longer applies to the new pair, and picks from several comparisons of the same sample all stay.
Both files are rewritten whole with files.atomic_write, so a crash never leaves half a file.
"""

import hashlib
import json
from pathlib import Path

import pandas as pd

from ..files import atomic_write
from .diff import cell_text

LABELS = ("good", "bad", "unreviewed")
PICKS = ("A", "B", "tie")


def labels(df, folder=None, *, id=None):
    """A copy of `df` with `label` (good/bad/unreviewed) and `note` from `<folder>/labels.json`
    (default folder: the one the frame's step ran in)."""
    saved, ids = load(need_folder(df, folder, "labels"), "labels.json"), sample_ids(df, id)
    out = df.copy()
    # string columns however many rows (an empty map would be float)
    out["label"] = pd.array(ids.map({k: v.get("label") for k, v in saved.items()}).fillna("unreviewed"), dtype="str")
    out["note"] = pd.array(ids.map({k: v.get("note") for k, v in saved.items()}).fillna(""), dtype="str")
    return out


def folder_of(df, folder):
    """The run folder given, else the one the frame's step ran in (Step.run records it)."""
    return folder if folder is not None else df.attrs.get("folder")


def need_folder(df, folder, what):
    found = folder_of(df, folder)
    if found is None:
        raise ValueError(f"{what}: this frame does not say which run folder it came from (it was "
                         "not made by Step.run); pass folder=<run folder>")
    return found


def sample_ids(df, id):
    """Sample ids as strings, positionally indexed (the files' keys are strings).

    After a one-to-many step several rows share their parent's chunk_id: by default they are told
    apart by their order within the parent ("<chunk_id>/0", "/1", ...), so each gets its own label.
    """
    if id is not None and id not in df:
        raise KeyError(f"no column {id!r} in the frame (id=); columns: {list(df.columns)}")
    col = df[id] if id is not None else df["chunk_id"] if "chunk_id" in df else df.index.to_series()
    ids = pd.Series(col.astype(str).to_numpy(dtype=object), dtype=object)
    if id is None and ids.duplicated().any():
        ids = ids + "/" + ids.groupby(ids).cumcount().astype(str)
    return ids


def load(folder, name):
    path = Path(folder) / name
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        # Refuse rather than start empty: the next key press would overwrite the user's work.
        raise ValueError(f"{path} is not valid JSON ({e}); fix or move it before reviewing") from None


def save(folder, name, data):
    with atomic_write(Path(folder) / name) as f:
        json.dump(data, f, ensure_ascii=False, indent=1, sort_keys=True)


def output_hash(value):
    """Short content hash of an output cell, as picks.json records it."""
    return hashlib.sha256(cell_text(value).encode()).hexdigest()[:16]


def find_pick(saved, sid, ha, hb):
    """The pick stored for sample `sid` on exactly this pair of outputs, or None."""
    for entry in saved.get(sid, ()):
        if entry["a"] == ha and entry["b"] == hb:
            return entry["pick"]
    return None


def set_pick(saved, sid, ha, hb, pick):
    """Record (or with pick=None remove) the pick for this pair of outputs, in place."""
    kept = [e for e in saved.get(sid, ()) if not (e["a"] == ha and e["b"] == hb)]
    if pick is not None:
        kept.append({"a": ha, "b": hb, "pick": pick})
    if kept:
        saved[sid] = kept
    else:
        saved.pop(sid, None)
