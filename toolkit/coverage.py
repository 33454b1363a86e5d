"""Which parts of each document the dataset draws on: the chunks that gave a kept sample, those that
gave none, those never asked; for factual QA, the source sentences some question covers.

    kept, dropped = tk.keep(tk.labels(out), steps=["worth", "questions"])
    cov = tk.coverage(chunks, kept, dropped)               # any pipeline
    cov = tk.coverage(chunks, kept, dropped, support="answer.support")   # after tk.grounding
    cov            # per document: chunks kept / dropped / never asked (and sentences covered)
    cov.chunks     # per chunk: status, kept_samples, dropped_samples, reason, first_drop
    cov.plot()     # a strip per document, chunks in order

A chunk is "kept" when at least one kept sample came from it (same `chunk_id`), "dropped" when it
was run but every sample from it was dropped (reason "no pair from this chunk"; `first_drop` is
the first reason keep() gave for its first row), "never asked" when no sample names it (outside
the rows run). With `support=` (grounding's best-supporting sentence of each kept sample), a
source sentence (grounding.source_sentences) is covered when it supports some kept sample.
`cov.counts()` gives {"coverage: no pair from this chunk": n} for the funnel's and the data
card's counts.

But: coverage by chunk id, not by content: a sample that draws on its chunk's first line "covers"
the whole chunk; sentence coverage counts one best sentence per answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from .frame import need_column
from .grounding import source_sentences
from .plots import COLORS

NO_PAIR = "no pair from this chunk"
WHERE = "coverage"
SHADES = {"kept": COLORS["ok"], "dropped": COLORS["failed"], "never asked": "#ddd", "covered": "#175"}


@dataclass
class Coverage:
    """`documents`: per source, chunks by status (and sentences covered); `chunks`: per chunk."""

    documents: pd.DataFrame
    chunks: pd.DataFrame
    sentences: bool

    def counts(self) -> dict:
        """{"coverage: no pair from this chunk": n}: chunks run that gave no kept sample."""
        return {f"{WHERE}: {NO_PAIR}": int((self.chunks["status"] == "dropped").sum())}

    def __repr__(self) -> str:
        c, d = self.chunks, self.documents
        head = (f"{len(c)} chunks in {len(d)} documents: {int((c.status == 'kept').sum())} kept, "
                f"{int((c.status == 'dropped').sum())} dropped ({NO_PAIR}), "
                f"{int((c.status == 'never asked').sum())} never asked")
        if self.sentences:
            head += f"; {int(c.covered.sum())} of {int(c.sentences.sum())} sentences covered"
        return head + "\n" + d.to_string(index=False)

    def plot(self):
        """A strip per document: its chunks in order, coloured kept / dropped / never asked (a
        chunk's width is its sentences when sentences are counted; covered ones darker)."""
        docs = list(self.documents["document"])
        fig, ax = plt.subplots(figsize=(11, 0.45 * len(docs) + 1.4))
        longest = 1
        for y, (_, rows) in enumerate(self.chunks.groupby("document", sort=False)):
            widths = rows["sentences"].clip(lower=1).to_numpy() if self.sentences else np.ones(len(rows))
            starts = np.concatenate([[0], np.cumsum(widths)[:-1]])
            for x, w, status, covered in zip(starts, widths, rows["status"], rows.get("covered_at", [()] * len(rows))):
                ax.broken_barh([(x, w)], (y - 0.35, 0.7), facecolors=SHADES[status], edgecolors="white")
                for k in covered:
                    ax.broken_barh([(x + k, 1)], (y - 0.2, 0.4), facecolors=SHADES["covered"])
            kept = int((rows["status"] == "kept").sum())
            note = f"{kept}/{len(rows)} chunks kept"
            if self.sentences:
                note += f", {int(rows['covered'].sum())}/{int(rows['sentences'].sum())} sentences"
            ax.text(widths.sum() + 0.3, y, note, va="center", fontsize="small")
            longest = max(longest, widths.sum())
        ax.set_yticks(range(len(docs)), docs)
        ax.set_ylim(len(docs) - 0.5, -0.5)
        ax.set_xlim(0, longest * 1.45)  # room for the notes
        ax.set_xlabel("sentences, in document order" if self.sentences else "chunks, in document order")
        handles = [Patch(color=SHADES[s], label=s) for s in ("kept", "dropped", "never asked")]
        if self.sentences:
            handles.append(Patch(color=SHADES["covered"], label="sentence covered"))
        ax.legend(handles=handles, loc="lower right", bbox_to_anchor=(1, 1), ncols=len(handles),
                  frameon=False, fontsize="small")
        ax.set_title("coverage", loc="left")
        fig.tight_layout()
        plt.close(fig)
        return fig


def coverage(chunks: pd.DataFrame, kept: pd.DataFrame, dropped: pd.DataFrame | None = None, *,
             support: str | None = None) -> Coverage:
    """Coverage of `chunks` (tk.chunk's frame: chunk_id, source, position, text) by the `kept`
    samples, `dropped` the samples tk.keep dropped (see the module)."""
    for name in ("chunk_id", "source", "position"):
        need_column(chunks, name)
    dropped = kept.iloc[:0] if dropped is None else dropped
    need_column(kept, "chunk_id"), need_column(dropped, "chunk_id")
    known = set(chunks["chunk_id"])
    for what, frame in (("kept", kept), ("dropped", dropped)):
        stray = sorted(set(frame["chunk_id"].dropna()) - known)
        if stray:
            raise ValueError(f"coverage: {len(stray)} chunk ids of the {what} samples are not in chunks "
                             f"(e.g. {stray[0]!r}); pass the chunks the run was made from")
    n_kept = kept["chunk_id"].value_counts()
    n_dropped = dropped["chunk_id"].value_counts()
    first = (dropped.groupby("chunk_id", sort=False)["dropped_because"].first()
             if "dropped_because" in dropped else pd.Series(dtype=object))
    ids = chunks["chunk_id"]
    table = pd.DataFrame({
        "document": chunks["source"].to_numpy(dtype=object), "chunk_id": ids.to_numpy(dtype=object),
        "position": chunks["position"].to_numpy(),
        "kept_samples": ids.map(n_kept).fillna(0).astype(int).to_numpy(),
        "dropped_samples": ids.map(n_dropped).fillna(0).astype(int).to_numpy()})
    table["status"] = np.where(table["kept_samples"] > 0, "kept",
                               np.where(table["dropped_samples"] > 0, "dropped", "never asked"))
    dropped_chunk = (table["status"] == "dropped").to_numpy()
    table["reason"] = pd.Series(np.where(dropped_chunk, NO_PAIR, None), dtype=object)
    table["first_drop"] = pd.Series([first.get(c) if d else None for c, d in zip(table["chunk_id"], dropped_chunk)],
                                    dtype=object)
    if support is not None:
        need_column(kept, support), need_column(chunks, "text")
        cited = kept.groupby("chunk_id")[support].agg(lambda s: set(s.dropna()))
        split = [source_sentences(t) for t in chunks["text"].astype(str)]
        table["sentences"] = [len(s) for s in split]
        table["covered_at"] = [tuple(k for k, s in enumerate(sents) if s in cited.get(c, ()))
                               for c, sents in zip(table["chunk_id"], split)]
        table["covered"] = table["covered_at"].map(len)
    table = table.sort_values(["document", "position"], kind="stable").reset_index(drop=True)
    documents = []
    for doc, rows in table.groupby("document", sort=False):
        row = {"document": doc, "chunks": len(rows),
               **{s: int((rows["status"] == s).sum()) for s in ("kept", "dropped", "never asked")}}
        if support is not None:
            row.update(sentences=int(rows["sentences"].sum()), covered=int(rows["covered"].sum()))
        documents.append(row)
    return Coverage(pd.DataFrame(documents), table, support is not None)
