"""Turn step outputs into training files: ShareGPT/OpenAI JSONL and HF datasets with a data card.
DPO preference pairs are made from review decisions, so they live in decisions/preferences.py;
which rows go in is keep.py's business.

Your corrections (`<column>.corrected`, from tk.labels) stand in place of the model's text in every
conversation (frame.corrected, the one rule); the frame sharegpt() returns then has a `corrected`
column saying which conversations hold your text, and export_jsonl / export_hf count them.

Exports refuse rather than write a bad sample: a missing column or an empty turn is an error naming
the row, and `keep()` returns what it drops with the reason, so nothing is lost silently.

But: only ShareGPT and OpenAI messages are written; another layout (Alpaca, a chat template's raw
text) is a few lines of pandas over the `sharegpt()` frame.
"""

import json
import string
from collections import Counter

import numpy as np
import pandas as pd

from . import moved
from .files import atomic_write
from .frame import blank, corrected, folder_of, id_values, in_run_folder, set_folder

__getattr__ = moved.names(__name__, {"keep": "toolkit.keep"})  # keep() lived here

SHAREGPT_ROLES = {"system": "system", "human": "user", "gpt": "assistant"}  # ShareGPT "from" -> OpenAI "role"


def sharegpt(df, human, gpt, *, system=None, id="chunk_id", multi_turn=False):
    """ShareGPT conversations from a frame: a new frame with `id` and `conversations`.

    `human`, `gpt`, `system` are str.format templates over the row's columns ("{generic.raw}" is
    the column of that name) or callables row -> str. `id` names the sample-id column (None = the
    index). One conversation per row; with `multi_turn=True` the rows sharing an id (e.g. all QA
    pairs of a chunk) become the turns of one conversation, in row order, and `system` comes from
    each group's first row. The frame's run folder (`.attrs["folder"]`) travels with it.

    Where you corrected an output (`<column>.corrected`, from tk.labels), your text is used in
    place of the model's, and a `corrected` column says which conversations hold it.
    """
    ids = id_values(df, id).tolist()
    repeated = [i for i, n in Counter(ids).items() if n > 1]
    if repeated and not multi_turn:
        raise ValueError(f"sharegpt: ids in column {id!r} repeat ({repeated[:5]}): one row per sample is "
                         "expected; pass multi_turn=True to make the rows sharing an id one multi-turn "
                         "conversation, or id= naming a unique column")
    df, fixed = corrected(df)
    pairs = _frame(df, ids, id, human, gpt, system)
    pairs.attrs = {}  # only the run folder travels, not the step's record
    if fixed:
        used = _used(fixed, (human, gpt, system))
        rows = np.logical_or.reduce([fixed[c] for c in used]) if used else np.zeros(len(df), dtype=bool)
        pairs["corrected"] = pd.Series(rows).groupby(pd.Series(ids), sort=False).any().to_numpy(dtype=bool)
    return set_folder(pairs, folder_of(df))


def _used(fixed, templates):
    """The corrected columns a conversation is made from: those the string templates name, every
    one when a template is a callable."""
    if any(callable(t) for t in templates):
        return list(fixed)
    named = {f for t in templates if isinstance(t, str) for _, f, _, _ in _FORMAT.parse(t) if f is not None}
    return [c for c in fixed if c in named]


def export_jsonl(pairs, path, format="sharegpt"):
    """Write a `sharegpt()` frame as JSONL, one sample a line, UTF-8 unescaped; returns where.

    A relative `path` goes into the run folder the pairs came from, when they carry one. "sharegpt"
    lines are {"id", "conversations"}; "openai" lines are {"messages": [{"role", "content"}]}.
    Written to a temp file then renamed, so a failure leaves the old file untouched. With a
    `corrected` column (sharegpt() of corrected rows), "corrected" counts the samples holding your text.
    """
    if format not in ("sharegpt", "openai"):
        raise ValueError(f"export_jsonl: format={format!r}; use 'sharegpt' or 'openai'")
    path, rows = in_run_folder(pairs, path), 0
    with atomic_write(path) as f:
        for key, conv in _samples(pairs):
            if format == "openai":
                sample = {"messages": [{"role": SHAREGPT_ROLES[t["from"]], "content": t["value"]} for t in conv]}
            else:
                sample = {"id": key, "conversations": conv}
            f.write(json.dumps(sample, ensure_ascii=False) + "\n")
            rows += 1
    out = {"path": str(path), "rows": rows, "format": format}
    if "corrected" in pairs:
        out["corrected"] = int(pairs["corrected"].sum())
    return out


def export_hf(pairs, path, card=None):
    """Save the conversations as an HF dataset (`datasets.load_from_disk(path)` reads it back) plus
    a README.md data card: counts, then whatever the dict `card` holds (model, prompt versions,
    sources, dropped counts...; `tk.card(df)` reads them from the run folder), so the folder says
    how it was made. A relative `path` goes into the pairs' run folder. Returns the Dataset. No
    network is used."""
    import datasets  # slow to import: only when exporting

    samples = [{"id": key, "conversations": conv} for key, conv in _samples(pairs)]
    yours = int(pairs["corrected"].sum()) if "corrected" in pairs else None
    turn = {"from": datasets.Value("string"), "value": datasets.Value("string")}
    features = datasets.Features({"id": datasets.Value("string"), "conversations": [turn]})
    columns = {"id": [s["id"] for s in samples], "conversations": [s["conversations"] for s in samples]}
    ds = datasets.Dataset.from_dict(columns, features=features)  # from_dict: an empty set works too
    path = in_run_folder(pairs, path)
    ds.save_to_disk(str(path), num_shards=1)  # one shard even when empty: 0 shards cannot be loaded
    (path / "README.md").write_text(_card(samples, card or {}, yours), encoding="utf-8")
    return ds


def _card(samples, card, yours=None):
    roles = [t["from"] for s in samples for t in s["conversations"]]
    multi = sum(1 for s in samples if sum(t["from"] == "human" for t in s["conversations"]) > 1)
    lines = ["# Dataset card", "", "Load with `datasets.load_from_disk(<this folder>)`.", "", "## Counts", "",
             f"- rows: {len(samples)} (one conversation each)",
             f"- multi-turn conversations: {multi}",
             f"- turns: {len(roles)} (" + ", ".join(f"{r} {roles.count(r)}" for r in SHAREGPT_ROLES) + ")"]
    if yours is not None:
        lines.append(f"- corrected by a person: {yours} (their text in place of the model's)")
    if card:
        lines += ["", "## Provenance", "", *_markdown(card)]
    return "\n".join(lines) + "\n"


def _markdown(mapping, depth=0):
    """Nested markdown list; anything with .items() (dict, value_counts() Series) nests."""
    pad, lines = "  " * depth, []
    for key, value in mapping.items():
        if hasattr(value, "items"):
            lines += [f"{pad}- {key}:", *_markdown(value, depth + 1)]
        elif isinstance(value, (list, tuple)):
            lines += [f"{pad}- {key}:", *(f"{pad}  - {v}" for v in value)]
        else:
            lines.append(f"{pad}- {key}: {value}")
    return lines


class _Columns(string.Formatter):
    """str.format where a field is a column name: "{generic.raw}" is that column, not an attribute."""

    def get_field(self, field_name, args, kwargs):
        return kwargs[field_name], field_name


_FORMAT = _Columns()


def _frame(df, ids, id_name, human, gpt, system):
    for role, template in (("system", system), ("human", human), ("gpt", gpt)):
        if isinstance(template, str):
            missing = [f for _, f, _, _ in _FORMAT.parse(template) if f is not None and f not in df.columns]
            if missing:
                raise ValueError(f"{role} template {template!r} uses column {missing[0]!r}, which is not "
                                 f"in the frame; columns: {list(df.columns)}")
        elif template is not None and not callable(template):
            raise ValueError(f"{role}= must be a str.format template or a callable row -> str, "
                             f"not {template!r}")
    convs = {}
    for index, key, row in zip(df.index, ids, df.to_dict("records")):
        first = key not in convs
        conv = convs.setdefault(key, [])
        where = f"row {id_name or 'index'}={key!r}" + ("" if id_name is None else f" (index {index!r})")
        for role, template in (("system", system if first else None), ("human", human), ("gpt", gpt)):
            if template is not None:
                value = _render(template, row, f"{where}, turn {len(conv)} ({role})")
                conv.append({"from": role, "value": value})
    # object columns even when empty: a 0-row selection gives the same columns, not float64 ones
    return pd.DataFrame({"id": pd.Series(list(convs), dtype=object),
                         "conversations": pd.Series(list(convs.values()), dtype=object)})


def _render(template, row, where):
    if callable(template):
        value = template(row)
        if not isinstance(value, str):
            raise ValueError(f"{where}: the callable returned {type(value).__name__} {value!r}; "
                             "it must return str")
    else:
        for _, field, _, _ in _FORMAT.parse(template):
            if field is not None and blank(row[field]):
                raise ValueError(f"{where}: column {field!r} is empty ({row[field]!r}); fix the row or drop "
                                 "it first (keep() drops rows whose step did not succeed)")
        value = _FORMAT.vformat(template, (), row)
    if blank(value):
        raise ValueError(f"{where}: the turn is empty; an empty turn trains the model on nothing, "
                         "so fix the row or drop it first")
    return value


def _samples(pairs):
    """(id, plain turn dicts) per row of a pairs frame, checked: known roles, non-empty str values."""
    for col in ("id", "conversations"):
        if col not in pairs:
            raise ValueError(f"no column {col!r}: expected a frame from sharegpt(), "
                             f"got columns {list(pairs.columns)}")
    for key, conv in zip(pairs["id"], pairs["conversations"]):
        try:
            turns = [{"from": t["from"], "value": t["value"]} for t in conv]
        except (TypeError, KeyError):
            raise ValueError(f"row id={key!r}: conversations must be a list of {{'from', 'value'}} dicts, "
                             f"got {conv!r}") from None
        for n, t in enumerate(turns):
            if t["from"] not in SHAREGPT_ROLES or not isinstance(t["value"], str) or blank(t["value"]):
                raise ValueError(f"row id={key!r}, turn {n}: {t!r} is not a non-empty turn from one of "
                                 f"{list(SHAREGPT_ROLES)}; fix or drop the row before exporting")
        yield str(key), turns

