"""One picture of a run: how long the texts are, and how each step's rows ended."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd


def overview(df: pd.DataFrame, lengths: list[str], steps: list[str]):
    """Word-count histograms of the `lengths` columns beside status counts of the `steps`.

    Length shifts show a step that pads, truncates or copies; status bars show where rows fail.
    """
    missing = [c for c in [*lengths, *(f"{s}.status" for s in steps)] if c not in df.columns]
    if missing:
        raise ValueError(f"overview: no column {missing[0]!r}; the frame has {', '.join(df.columns)}")
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6))
    for column in lengths:
        words = df[column].dropna().astype(str).str.split().str.len()
        left.hist(words, bins=15, alpha=0.55, label=column)
    left.set(title="length (words)", xlabel="words", ylabel="rows")
    left.legend()
    counts = pd.DataFrame({s: df[f"{s}.status"].value_counts() for s in steps}).T
    counts = counts.reindex(columns=[c for c in ("ok", "failed", "skipped") if c in counts.columns])
    counts.plot.barh(stacked=True, ax=right, color={"ok": "#3a7", "failed": "#c44", "skipped": "#aaa"})
    right.set(title="rows by status", xlabel="rows")
    fig.tight_layout()
    plt.close(fig)  # shown once, as the cell's value
    return fig
