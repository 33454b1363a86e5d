"""DPO preference pairs from review decisions: the A/B picks made in `tk.compare`, the picks among
a sample's candidates (a step's n=), and your corrections (your text chosen, the model's output
rejected). `tk.preference_pairs`.

A pick is kept only while both outputs are the ones it was made on (the store keys it by their
hashes), and a correction only while the output it corrected is the one in the frame, so a pair
never pairs a decision with a text that changed since. Candidates give the pairs DPO wants most:
the same prompt, the same model, a chosen and a rejected answer.

But: a good/bad label alone makes no pair.
"""

import json
import warnings
from collections import Counter

import numpy as np
import pandas as pd

from .. import frame
from ..files import atomic_write
from ..frame import blank, folder_of_pair, in_run_folder, last_step, match, sample_ids, set_folder
from ..outputs import cell_text, output_hash, output_hashes
from ..prompts import Prompt
from . import corrections as yours
from .store import Store


def preference_pairs(df_a, df_b=None, column=None, *, corrections=None, prompt="text", id=None, folder=None,
                     path=None, source="person", allow_failed=False):
    """Preference pairs from the A/B picks made in `tk.compare(df_a, df_b)`: a frame with `id`,
    `prompt`, `chosen`, `rejected` (the picked run's output is chosen, the other's rejected). With
    `path`, also written as JSONL in the layout TRL's DPOTrainer reads (a relative path goes into
    the run folder).

    One frame, `preference_pairs(df)`: the pairs within a prompt, from the picks among each
    sample's candidates (a step run with n=; `column` names that step, default the last), one pair
    per pick between two of them with `id` the sample they answer; and a pair per output of `df`
    you corrected, your text chosen and the model's output rejected (`corrections=False`: the
    candidates' pairs only). Two frames: `corrections=True` adds the corrections of both runs to
    the picks' pairs. `.attrs["pairs"]` counts pairs from picks and from corrections.

    Left out, and counted in a warning and in `.attrs["left_out"]`: ties, picks made on outputs
    that changed since, and pairs whose chosen output's status is not ok (a refused or looping
    answer is no "chosen" example) unless `allow_failed=True`. `source` says whose picks:
    "person" (the reviewers), "judge:<name>", or "judge" for the one judge stored.

    `prompt` is a column of df_b, a callable row -> str, or a `tk.Prompt` (its rendered messages
    for the df_b row: the conversational layout, with chosen/rejected as assistant messages). An
    empty output counts as its raw answer (`<step>.raw`), so a failed run can be the rejected one.
    """
    two = df_b is not None
    df_b = df_b if two else df_a
    if not two and column is None and frame.candidate_steps(df_a):
        column = frame.last_candidate_step(df_a)
    column = column or last_step(df_b)
    step = column if frame.column(column, "status") in df_b else last_step(df_b)
    within = not two and step in frame.candidate_steps(df_a)
    if not two and not within and corrections is False:
        raise ValueError("preference_pairs: one frame without candidates (a step run with n=) gives pairs from "
                         "your corrections only; pass df_b too for the A/B picks between two runs")
    corrections = (not two and corrections is not False) or bool(corrections)
    folder = folder_of_pair(df_a, df_b, folder)
    if folder is None:
        raise ValueError(f"preference_pairs: the frame{'s do' if two else ' does'} not say which run folder holds "
                         "the decisions; pass folder=<run folder>")
    if isinstance(prompt, str) and prompt not in df_b:
        raise ValueError(f"preference_pairs: prompt={prompt!r} is not a column of {'df_b' if two else 'the frame'}; "
                         "pass a column, a callable row -> str, or a tk.Prompt")
    with Store(folder) as store:
        source = store.one_source(source)
        saved = store.picks(source) if two or within else {}
        fixed = store.corrections().get(column, {}) if corrections else {}
    left_out = Counter()
    if within:
        rows = _within(df_a, step, saved, prompt, allow_failed, left_out)
    else:
        rows = _between(df_a, df_b, column, step, saved, prompt, id, allow_failed, left_out)
    picked = len(rows)
    seen, stale = set(), set()
    for run in ([df_b, df_a] if two else [df_a]) if fixed else ():
        rows += _corrected(run, column, step, fixed, prompt, id, seen, stale)
    if stale - seen:  # made on an output neither run holds now
        left_out["corrections made on an earlier output"] += len(stale - seen)
    if left_out:
        failed = any(why.startswith("chosen") for why in left_out)
        noun = "decisions" if any(why.startswith("corrections") for why in left_out) else "picks"
        warnings.warn(f"preference_pairs: {len(rows)} pairs; left out {sum(left_out.values())} {noun} of "
                      f"{source!r}: " + ", ".join(f"{n} {why}" for why, n in sorted(left_out.items()))
                      + (" (allow_failed=True keeps pairs whose chosen output failed)" if failed else ""),
                      stacklevel=2)
    pairs = pd.DataFrame(rows, columns=["id", "prompt", "chosen", "rejected"])
    set_folder(pairs, folder).attrs["left_out"] = dict(left_out)
    pairs.attrs["pairs"] = {"picks": picked, "corrections": len(rows) - picked}
    if path is not None:
        with atomic_write(in_run_folder(pairs, path)) as f:
            for r in rows:
                f.write(json.dumps({k: r[k] for k in ("prompt", "chosen", "rejected")},
                                   ensure_ascii=False) + "\n")
    return pairs


def _between(df_a, df_b, column, step, saved, prompt, id, allow_failed, left_out) -> list[dict]:
    """The A/B picks between two runs of a sample, as pairs (the df_b row gives the prompt)."""
    rows = []
    ia, ib, ids = match(df_a, df_b, id) if saved else ([], [], [])
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
        texts = [_answer(row, column, step, sid) for row in (a, b)]
        chosen, rejected = texts if pick == "A" else texts[::-1]
        rows.append(_pair(sid, b, prompt, chosen, rejected))
    return rows


def _within(df, step, saved, prompt, allow_failed, left_out) -> list[dict]:
    """The picks between two candidates of a sample, as pairs (the chosen row gives the prompt)."""
    output = frame.candidate_output(df, step)
    hashes = output_hashes(df[output])
    rows = []
    for sample, positions in frame.candidate_sets(df, step).items():
        by_hash = {}
        for pos in positions:
            by_hash.setdefault(hashes[pos], pos)
        for e in saved.get(sample, ()):
            if e["a"] not in by_hash or e["b"] not in by_hash:
                left_out["picked on outputs that changed since"] += 1
                continue
            if e["pick"] == "tie":
                left_out["ties"] += 1
                continue
            best, other = (e["a"], e["b"]) if e["pick"] == "A" else (e["b"], e["a"])
            chosen, rejected = df.iloc[by_hash[best]], df.iloc[by_hash[other]]
            status = chosen.get(frame.column(step, "status"))
            if status != "ok" and not allow_failed:
                left_out[f"chosen output {'not run' if blank(status) else status}"] += 1
                continue
            rows.append(_pair(sample, chosen, prompt, _answer(chosen, output, step, sample),
                              _answer(rejected, output, step, sample)))
    return rows


def _answer(row, column, step, sid) -> str:
    """A row's output as pair text (parsed answers as JSON); an empty output: its raw answer."""
    value = row[column] if not blank(row[column]) else row.get(frame.column(step, "raw"))
    if blank(value):
        raise ValueError(f"preference_pairs: row id={sid!r} has no output and no raw answer in one of the two "
                         "picked between; remove its pick (key u) or fill the row")
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _pair(sid, row, prompt, chosen, rejected):
    """One pair: a prompt column's text, a callable's, or a Prompt's messages (conversational)."""
    if isinstance(prompt, Prompt):
        shown = prompt.render(row.to_dict())
        chosen, rejected = ([{"role": "assistant", "content": t}] for t in (chosen, rejected))
    else:
        shown = prompt(row) if callable(prompt) else row[prompt]
    return {"id": sid, "prompt": shown, "chosen": chosen, "rejected": rejected}


def _corrected(df, column, step, fixed, prompt, id, seen, stale):
    """The pairs of the corrections standing on `df`'s outputs (your text chosen, the model's
    output, else its raw answer, rejected), for samples not in `seen` yet; adds to `seen` the
    samples paired, to `stale` those whose correction was made on another output than df's."""
    ids = sample_ids(df, id).to_numpy(dtype=object)
    texts, was = yours.standing(df, column, fixed, ids)
    stale.update(ids[was])
    out = []
    for k in np.flatnonzero([t is not None and i not in seen for t, i in zip(texts, ids)]):
        row = df.iloc[k]
        value = row[column] if not blank(row[column]) else row.get(frame.column(step, "raw"))
        model = None if blank(value) else cell_text(value)
        if model is None or output_hash(model) == output_hash(texts[k]):
            why = "none" if model is None else "its output is your text already: a frame from keep()"
            raise ValueError(f"preference_pairs: row id={ids[k]!r} holds no model answer to reject beside your "
                             f"correction ({why}); pass the frame from tk.labels or Step.run")
        seen.add(ids[k])
        out.append(_pair(ids[k], row, prompt, texts[k], model))
    return out
