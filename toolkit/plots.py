"""One picture of a run: how long the texts are, and how each step's rows ended.

But: it is one static matplotlib figure; anything more is pandas on the frame itself.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from .frame import STATUSES, column

COLORS = {"ok": "#3a7", "failed": "#c44", "skipped": "#aaa"}


def overview(df: pd.DataFrame, lengths: list[str], steps: list[str]):
    """Word-count histograms of the `lengths` columns beside status counts of the `steps`.

    Length shifts show a step that pads, truncates or copies; status bars show where rows fail.
    Axes count whole rows and words; each bar segment is labelled with its count and status, so
    no legend hides a bar. A frame with no rows gives the empty axes, saying so, not an error.
    """
    missing = [c for c in [*lengths, *(column(s, "status") for s in steps)] if c not in df.columns]
    if missing:
        raise ValueError(f"overview: no column {missing[0]!r}; the frame has {', '.join(map(str, df.columns))}")
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6))
    _lengths(left, df, lengths)
    _statuses(right, df, steps)
    for axis in (left.xaxis, left.yaxis, right.xaxis):  # whole words, whole rows
        axis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    plt.close(fig)  # shown once, as the cell's value
    return fig


def _lengths(ax, df, lengths):
    ax.set(title="length (words)", xlabel="words", ylabel="rows")
    words = {c: df[c].dropna().astype(str).str.split().str.len() for c in lengths}
    words = {c: w for c, w in words.items() if len(w)}
    if not words:
        _say(ax, "no rows" if len(df) == 0 else "no texts in " + ", ".join(lengths))
        return
    low, high = min(w.min() for w in words.values()), max(w.max() for w in words.values())
    # one bin per word count when the range is small, else 15 bins on whole-word edges
    step = max(1, int(np.ceil((high - low + 1) / 15)))
    bins = np.arange(low, high + step + 1, step) - 0.5
    for name, w in words.items():
        ax.hist(w, bins=bins, alpha=0.55, label=name)
    # title left, legend right, both above the axes, where they cannot cover a bar
    ax.set_title("length (words)", loc="left")
    ax.set_title("")
    ax.legend(loc="lower right", bbox_to_anchor=(1, 1), ncols=len(words), frameon=False,
              fontsize="small", borderaxespad=0.2)


def _statuses(ax, df, steps):
    ax.set(title="rows by status", xlabel="rows")
    if not steps:
        _say(ax, "no steps")
        return
    y = np.arange(len(steps))
    left = np.zeros(len(steps))
    for status in STATUSES:
        counts = np.array([int((df[column(s, "status")] == status).sum()) for s in steps])
        if not counts.any():
            continue
        bars = ax.barh(y, counts, left=left, color=COLORS[status])
        ax.bar_label(bars, labels=[f"{n} {status}" if n else "" for n in counts],
                     label_type="center", fontsize="small")
        left += counts
    ax.set_yticks(y, steps)
    ax.set_ylim(len(steps) - 0.5, -0.5)  # first step on top, as in the frame
    ax.set_xlim(0, max(1, left.max()))
    if len(df) == 0:
        _say(ax, "no rows")


def _say(ax, text):
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="#666")
