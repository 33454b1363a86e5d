"""DPO preference pairs from the A/B picks made in `tk.compare`: review decisions turned into data.

A pick is kept only while both outputs are the ones it was made on (the store keys it by their
hashes), so a pair never pairs a verdict with a text that changed since. `tk.preference_pairs`.

But: only pairwise picks become pairs; a good/bad label alone makes no pair.
"""

import json
import warnings
from collections import Counter

import pandas as pd

from .. import frame
from ..files import atomic_write
from ..frame import blank, folder_of_pair, in_run_folder, last_step, match, set_folder
from ..outputs import output_hash
from ..prompts import Prompt
from .store import Store


def preference_pairs(df_a, df_b, column=None, *, prompt="text", id=None, folder=None, path=None,
                     source="person", allow_failed=False):
    """Preference pairs from the A/B picks made in `tk.compare(df_a, df_b)`: a frame with `id`,
    `prompt`, `chosen`, `rejected` (the picked run's output is chosen, the other's rejected). With
    `path`, also written as JSONL in the layout TRL's DPOTrainer reads (a relative path goes into
    the run folder).

    Left out, and counted in a warning and in `.attrs["left_out"]`: ties, picks made on outputs
    that changed since, and pairs whose chosen output's status is not ok (a refused or looping
    answer is no "chosen" example) unless `allow_failed=True`. `source` says whose picks:
    "person" (the reviewers), "judge:<name>", or "judge" for the one judge stored.

    `prompt` is a column of df_b, a callable row -> str, or a `tk.Prompt` (its rendered messages
    for the df_b row: the conversational layout, with chosen/rejected as assistant messages). An
    empty output counts as its raw answer (`<step>.raw`), so a failed run can be the rejected one.
    """
    column = column or last_step(df_b)
    folder = folder_of_pair(df_a, df_b, folder)
    if folder is None:
        raise ValueError("preference_pairs: the frames do not say which run folder holds the picks; "
                         "pass folder=<run folder>")
    if isinstance(prompt, str) and prompt not in df_b:
        raise ValueError(f"preference_pairs: prompt={prompt!r} is not a column of df_b; pass a column, "
                         "a callable row -> str, or a tk.Prompt")
    step = column if frame.column(column, "status") in df_b else last_step(df_b)
    with Store(folder) as store:
        source = store.one_source(source)
        saved = store.picks(source)
    rows, left_out = [], Counter()
    ia, ib, ids = match(df_a, df_b, id)
    for i, j, sid in zip(ia, ib, ids):
        if sid not in saved:
            continue
        a, b = df_a.iloc[i], df_b.iloc[j]
        pair = (output_hash(a[column]), output_hash(b[column]))
        pick = next((e["pick"] for e in saved[sid] if (e["a"], e["b"]) == pair), None)
        if pick is None:
            left_out["picked on outputs that changed since"] += 1
            continue
        if pick == "tie":
            left_out["ties"] += 1
            continue
        status = (a if pick == "A" else b).get(frame.column(step, "status"))
        if status != "ok" and not allow_failed:
            left_out[f"chosen output {'not run' if blank(status) else status}"] += 1
            continue
        texts = []
        for row in (a, b):
            value = row[column] if not blank(row[column]) else row.get(frame.column(step, "raw"))
            if blank(value):
                raise ValueError(f"preference_pairs: row id={sid!r} has no output and no raw answer in "
                                 "one run; remove its pick in compare (key u) or fill the row")
            texts.append(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str))
        chosen, rejected = texts if pick == "A" else texts[::-1]
        if isinstance(prompt, Prompt):
            shown = prompt.render(b.to_dict())
            chosen, rejected = ([{"role": "assistant", "content": t}] for t in (chosen, rejected))
        else:
            shown = prompt(b) if callable(prompt) else b[prompt]
        rows.append({"id": sid, "prompt": shown, "chosen": chosen, "rejected": rejected})
    if left_out:
        failed = any(why.startswith("chosen") for why in left_out)
        warnings.warn(f"preference_pairs: {len(rows)} pairs; left out {sum(left_out.values())} picks of "
                      f"{source!r}: " + ", ".join(f"{n} {why}" for why, n in sorted(left_out.items()))
                      + (" (allow_failed=True keeps pairs whose chosen output failed)" if failed else ""),
                      stacklevel=2)
    pairs = pd.DataFrame(rows, columns=["id", "prompt", "chosen", "rejected"])
    set_folder(pairs, folder).attrs["left_out"] = dict(left_out)
    if path is not None:
        with atomic_write(in_run_folder(pairs, path)) as f:
            for r in rows:
                f.write(json.dumps({k: r[k] for k in ("prompt", "chosen", "rejected")},
                                   ensure_ascii=False) + "\n")
    return pairs
