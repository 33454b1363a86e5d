"""The data card's facts, from the run folder's manifest: what made the rows of a frame.

    tk.export_hf(pairs, "hf_dataset", card=tk.card(kept, pipeline="style_clone", dropped=funnel.counts()))

For each step that ran on the frame (the `<step>.status` columns): the prompt version(s) its rows
carry, and from the manifest line of the last run with that version, the model and the sampling
parameters; the rows' ok / failed / skipped counts are the frame's own, and where you corrected
outputs (`<column>.corrected`, frame.corrected_rows), how many rows carry your text. The chunks'
source files (the `source` column) come along, and what each quality signal flagged (its `<column>.<signal>_flag`
columns, flags.py). Facts given as keywords come first, as written: a funnel's and a coverage's
counts go in as `dropped=f.counts()` (f = tk.funnel(..., coverage=cov)).

But: the manifest says what ran, not why; a step run in another run folder (a frame joined from
two) is found only in the frame's own folder.
"""

import pandas as pd

from . import flags
from .frame import STATUSES, column, corrected_columns, corrected_rows, folder_of, steps_in
from .report import read_manifest


def card(df: pd.DataFrame, **facts) -> dict:
    """The facts for a data card about how the rows of `df` were made, read from its run folder's
    manifest: a dict to pass as `export_hf(pairs, path, card=...)`, which writes it into the
    dataset's README.md (any dict of your own works there too)."""
    folder = folder_of(df, None)
    if folder is None:
        raise ValueError("card: this frame does not say which run folder it came from (it was not made by "
                         "Step.run); give the facts by hand as export_hf(card={...})")
    runs = read_manifest(folder)["step"]
    steps, models = {}, []
    for step in steps_in(df):
        versions = sorted(df[column(step, "prompt_version")].dropna().astype(str).unique())
        made = [r for r in runs if r["step"] == step and r.get("prompt_version") in versions]
        statuses = df[column(step, "status")]
        entry = {"prompt version": ", ".join(versions) or "none",
                 "rows": ", ".join(f"{int((statuses == s).sum())} {s}" for s in STATUSES)}
        if made:
            params = {k: v for k, v in made[-1].get("params", {}).items() if k != "response_format"}
            entry.update(model=made[-1]["model"], params=params)
            models.append(made[-1]["model"])
        steps[step] = entry
    out = {**facts, "model": ", ".join(dict.fromkeys(models)) or "unknown (no manifest line)", "steps": steps}
    fixed = {name: int(corrected_rows(df, name).sum()) for name in corrected_columns(df)}
    if fixed:
        out["corrected by a person"] = {name: f"{n} of {len(df)} rows (their text in place of the model's)"
                                        for name, n in fixed.items()}
    if flags.columns(df):
        out["signals"] = flags.summary(df)
    if "source" in df:
        out["sources"] = sorted(df["source"].dropna().astype(str).unique())
    return out
