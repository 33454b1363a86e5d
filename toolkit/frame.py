"""The step-frame contract: what a step's frame holds and how every module reads it.

Named `frame` rather than `columns` because it owns more than column names: a frame a step
returned carries its step columns, its run folder and its sample ids, and this module is where
those conventions live. A step called `generic` adds its output `generic` (or the columns a dict
answer names) and `generic.status` (ok / failed / skipped), `.error`, `.attempts`, `.raw`,
`.reasoning`, `.prompt_version`, `.call` (where its last answer is in the cache), `.item` after a
one-to-many step, and with candidates (n=) `.candidate` (0, 1, ...) and `.candidate_of` (the id of
the sample they answer: one row per candidate); judges add `.reason` and `.judged`, `tk.dedupe`
adds `<column>.dup_of` and `.dup_similarity`, `tk.labels` adds `<column>.corrected` (the person's
text, where they corrected that output). The run folder is
`.attrs["folder"]` (Step.run records it). A sample's id is `sample_ids`. Build a name with
`column(step, field)`, never by hand.

But: the convention is all there is. A user column named `x.status` looks like a step called `x`.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd

STATUSES = ("ok", "failed", "skipped")
STATUS_FIELDS = ("status", "error", "attempts", "raw", "reasoning", "prompt_version", "call")
CORRECTED = "corrected"  # `<column>.corrected`: the person's text for that output (frame.corrected)


def column(step: str, field: str) -> str:
    """The name of one of a step's columns: column("generic", "status") == "generic.status"."""
    return f"{step}.{field}"


def steps_in(df) -> list[str]:
    """The steps that ran on `df`, in column order (each has a `<step>.status` column)."""
    end = column("", "status")
    return [str(c)[: -len(end)] for c in df.columns if str(c).endswith(end)]


def last_step(df) -> str:
    """The last step output in the frame (a column with a `<name>.status` sibling)."""
    found = [s for s in steps_in(df) if s in df]
    if not found:
        raise ValueError("no step output in the frame (a column <name> with <name>.status): name the output "
                         "column (right= in show, column= in labels)")
    return found[-1]


def candidate_steps(df) -> list[str]:
    """The steps that gave each row several candidate answers (a `<step>.candidate_of` column)."""
    return [s for s in steps_in(df) if column(s, "candidate_of") in df]


def last_candidate_step(df) -> str:
    """The last step that gave candidates, or a ValueError saying how to get some."""
    found = candidate_steps(df)
    if not found:
        raise ValueError("no step in this frame gave candidates (a <step>.candidate_of column): run a step "
                         "with n=2 or more (at a temperature above 0) first")
    return found[-1]


def candidate_sets(df, step) -> dict[str, list[int]]:
    """{sample id: the positions of its candidates' rows, in candidate order} for a step run with
    n=; a row that sent nothing (no candidate number) belongs to none."""
    number = df[column(step, "candidate")]
    of = df[column(step, "candidate_of")].to_numpy(dtype=object)
    valid = number.notna().to_numpy()
    sets: dict[str, list[int]] = {}
    for pos in np.argsort(number.fillna(-1).to_numpy(dtype=np.int64), kind="stable"):
        if valid[pos]:
            sets.setdefault(str(of[pos]), []).append(int(pos))
    return sets


def candidate_output(df, step) -> str:
    """The column a candidate of `step` is judged and picked by: its output, else its raw answer
    (a step whose answer fills several columns)."""
    return step if step in df else column(step, "raw")


def dup_marks(df) -> list[tuple[str, str]]:
    """(mark, column) for each `<column>.dup_of` column tk.dedupe added, in column order."""
    end = column("", "dup_of")
    return [(c, c[: -len(end)]) for c in df.columns if isinstance(c, str) and c.endswith(end)]


def corrected(df, id=None) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The rule for a person's correction: a copy of `df` whose `<column>.corrected` text, where
    there is one, stands in place of `<column>` (the model's output), and per column the rows it
    did that for. keep(), sharegpt(), the exports and the card all read a frame through this.

    A column of parsed answers (dicts, lists) takes the correction as the JSON the viewer shows;
    a correction that is not JSON there is an error naming the row."""
    names = corrected_columns(df)
    if not names:
        return df, {}
    out, done = df.copy(), {}
    for name in names:
        texts, rows = out[column(name, CORRECTED)].to_numpy(dtype=object), corrected_rows(df, name)
        values = out[name].to_numpy(dtype=object).copy()
        parsed = any(isinstance(v, (dict, list)) for v in values)
        for i in np.flatnonzero(rows):
            values[i] = _parsed(texts[i], name, df, i, id) if parsed else texts[i]
        keep_type = isinstance(df[name].dtype, pd.StringDtype) and not parsed
        out[name] = pd.array(values, dtype=df[name].dtype) if keep_type else pd.Series(values, index=out.index,
                                                                                           dtype=object)
        done[name] = rows
    return out, done


def corrected_columns(df) -> list[str]:
    """The columns of `df` with a `<column>.corrected` beside them, in column order."""
    end = column("", CORRECTED)
    return [c[: -len(end)] for c in df.columns if isinstance(c, str) and c.endswith(end) and c[: -len(end)] in df]


def corrected_rows(df, name) -> np.ndarray:
    """Per row, whether a correction of your own stands in place of `name`'s output."""
    mark = column(name, CORRECTED)
    if mark not in df:
        return np.zeros(len(df), dtype=bool)
    return np.array([isinstance(t, str) for t in df[mark].to_numpy(dtype=object)], dtype=bool)


def _parsed(text, name, df, i, id):
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"row {sample_ids(df, id).iat[i]!r}: the correction of {name!r} is not JSON ({e}), but "
                         f"{name!r} holds parsed answers; correct it again with the JSON the viewer shows") from None


def need_column(df, name):
    """`name`, or a KeyError listing the frame's columns."""
    if name not in df:
        raise KeyError(f"no column {name!r} in the frame; columns: {list(df.columns)}")
    return name


def folder_of(df, folder=None):
    """The run folder given, else the one the frame's step ran in (Step.run records it)."""
    return folder if folder is not None else df.attrs.get("folder")


def set_folder(df, folder):
    """Record `folder` as the run folder of `df` (in place; None records none) and return `df`."""
    df.attrs.pop("folder", None)
    if folder is not None:
        df.attrs["folder"] = str(folder)
    return df


def folder_of_pair(df_a, df_b, folder=None):
    """The run folder of two runs compared: the one given, else df_b's, else df_a's."""
    return folder_of(df_b, folder) or folder_of(df_a)


def need_folder(df, folder, what):
    """`folder_of`, or a ValueError saying `what` needs one."""
    found = folder_of(df, folder)
    if found is None:
        raise ValueError(f"{what}: this frame does not say which run folder it came from (it was "
                         "not made by Step.run); pass folder=<run folder>")
    return found


def sample_ids(df, id=None):
    """Sample ids as strings, positionally indexed: the one rule for what a sample is called, in
    the review store, the viewer, the funnel, dedupe's marks and the judge's picks.

    `id` names the id column; by default `chunk_id`, else the index. A step's candidates (n=)
    are "<sample>/<candidate>" (`<step>.candidate_of`, `<step>.candidate`), so a candidate keeps
    its id in a frame that holds only some of them (keep's). After a one-to-many step several
    rows share their parent's chunk_id: by default they are told apart by their order within the
    parent ("<chunk_id>/0", "/1", ...), so each gets its own id. A named `id` column is taken as
    it is (repeats and all: the caller says whether they may repeat).
    """
    ids = id_values(df, id if id is not None else "chunk_id" if "chunk_id" in df else None)
    if id is None and candidate_steps(df):
        step = candidate_steps(df)[-1]
        of = id_values(df, column(step, "candidate_of"))
        number = df[column(step, "candidate")].astype("Int64")
        ids = of.where(number.isna().to_numpy(), of + "/" + number.astype(str).to_numpy(dtype=object))
    if id is None and ids.duplicated().any():
        ids = ids + "/" + ids.groupby(ids).cumcount().astype(str)
    return ids


def id_values(df, column=None):
    """The values of id column `column` (None: the index) as strings, positionally indexed. A
    missing value is an error naming its rows: it would become the id "nan" and be mixed up."""
    if column is not None and column not in df:
        raise ValueError(f"no column {column!r} for sample ids; columns: {list(df.columns)}. Pass id= naming "
                         "the sample-id column (None = the index)")
    values = df.index.to_series() if column is None else df[column]
    if values.isna().any():
        where = df.index[values.isna().to_numpy()].tolist()[:5]
        raise ValueError(f"{'the index' if column is None else f'column {column!r}'} has missing ids at index "
                         f"{where}; fill or drop those rows first")
    return pd.Series(values.astype(str).to_numpy(dtype=object), dtype=object)


def match(df_a, df_b, id=None):
    """Positions of the samples two runs share, in each frame, and their ids: (ia, ib, ids)."""
    ids_a, ids_b = sample_ids(df_a, id), sample_ids(df_b, id)
    if not ids_b.is_unique:
        raise ValueError("sample ids of df_b are not unique: pass id=")
    in_b = pd.Index(ids_b).get_indexer(ids_a)
    ia = np.flatnonzero(in_b >= 0)
    return ia, in_b[ia], ids_a.to_numpy(dtype=object)[ia]


def missing(value) -> bool:
    """A cell with no value: None, NaN or pandas' NA (not an empty string; see `blank`)."""
    if isinstance(value, str):  # the common cell, asked once per row and placeholder: answer it at once
        return False
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def blank(value) -> bool:
    """Missing or whitespace-only: what must never become a training turn or a prompt's input."""
    return not value.strip() if isinstance(value, str) else missing(value)


def in_run_folder(df, path):
    """`path` as given, or inside the frame's run folder when it is relative and the frame has one."""
    path, folder = Path(path), folder_of(df)
    return path if path.is_absolute() or folder is None else Path(folder) / path
