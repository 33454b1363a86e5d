"""The sample viewer: one sample at a time, raw text beside what a step made of it.

This is the inner loop of building a pipeline: run a step on a few rows, read each output next
to its source, label it (g/b/u label and go on), fix the prompt, rerun, then `compare()` the runs.
Only the shown sample is sent to the page and filters are vectorised, so the same viewer works on
a 100k-row frame. Labels live in the run folder (labels.py).

But: the viewer shows the frame it was given; after a rerun, call show() again on the new frame.
"""

import numpy as np
import pandas as pd

from ..columns import STATUSES, steps_in
from .diff import cell_text, segments
from .labels import LABELS, folder_of, load, sample_ids, save
from .widget import Review

KEYS = {"good": "g", "bad": "b", "unreviewed": "u"}
HELP = ("keys (click the viewer first): \u2190/\u2192 or j/k previous/next \u00B7 g good \u00B7 b bad "
        "\u00B7 u unreviewed (each labels and goes on) \u00B7 / search \u00B7 Esc leaves a box")


def show(df, left="text", right=None, *, step=None, id=None, folder=None):
    """Viewer of `df` one row at a time: column `left` (raw) beside `right` (generated).

    `right` defaults to the last step output in the frame (a column with a `<name>.status`
    sibling); `step` names the step whose status/attempts/error to show if not `right`; `id`
    names the sample-id column (default `chunk_id`, else the index); `folder` is the run folder
    whose labels.json stores good/bad labels and notes (default: the one the frame's step ran in;
    labels are off without one).
    """
    return Viewer(df, left, right or last_step(df), step=step, id=id, folder=folder_of(df, folder))


def last_step(df):
    found = [s for s in steps_in(df) if s in df]
    if not found:
        raise ValueError("no step output in the frame (a column <name> with <name>.status): pass right=")
    return found[-1]


def need_column(df, name):
    if name not in df:
        raise KeyError(f"no column {name!r} in the frame; columns: {list(df.columns)}")
    return name


def step_fields(row, step):
    """Header fields (status, attempts, prompt version) and the notice for a failed/skipped row."""
    fields, notice = [], None
    status = row.get(f"{step}.status")
    if isinstance(status, str):
        fields.append(["status", status])
    for field, title in (("attempts", "attempts"), ("prompt_version", "prompt")):
        if cell_text(row.get(f"{step}.{field}")):
            fields.append([title, cell_text(row[f"{step}.{field}"])])
    error = cell_text(row.get(f"{step}.error"))
    if status == "skipped":
        notice = ["skipped", f"skipped: {error or 'no reason recorded'}"]
    elif error:
        notice = ["failed" if status == "failed" else "info", f"error: {error}"]
    return fields, notice


def text_panes(a, b, titles, word_diff, note=None):
    """Two panes of text, word-diffed or plain."""
    if word_diff:
        left, right, skipped = segments(a, b)
    else:
        left, right, skipped = [["=", a]], [["=", b]], None
    return [{"title": titles[0], "segments": left, "note": skipped},
            {"title": titles[1], "segments": right, "note": note or skipped}]


class Viewer(Review):
    """See `show()`. Python API for notebooks and tests: next/prev/go/jump/label/set_filter,
    `counter`, `progress`, `current` and `sample` (what the page shows)."""

    def __init__(self, df, left, right, *, step=None, id=None, folder=None):
        super().__init__()
        self._df, self._left, self._right = df, need_column(df, left), need_column(df, right)
        self._step, self._folder = step or right, folder
        ids = sample_ids(df, id)
        self._saved = load(folder, "labels.json") if folder is not None else None
        if folder is not None and not ids.is_unique:
            raise ValueError("sample ids are not unique, so labels cannot be stored: pass id=")
        status = f"{self._step}.status"
        self._status = (df[status].astype(object).fillna("").to_numpy() if status in df
                        else np.full(len(df), "", dtype=object))
        self._reviewed = 0
        if self._saved is not None:
            done = {k for k, v in self._saved.items() if v.get("label") in ("good", "bad")}
            self._reviewed = int(ids.isin(done).sum())
        self._filters = {"status": "all", "label": "all", "search": "", "search_in": "both",
                         "view": "diff"}
        self._start(ids.to_numpy(dtype=object), len(df))
        self._apply_filters()

    # -- filters ------------------------------------------------------------------------------
    def set_filter(self, status=None, label=None, search=None, search_in="both", view=None):
        """Keep only rows with this step status, label and text (case-insensitive); None = any.
        `view` ("diff" or "plain") switches the word diff; None keeps it. The shown sample stays
        shown when it is still among the filtered rows."""
        status = None if status == "all" else status
        label = None if label == "all" else label
        if status and f"{self._step}.status" not in self._df:
            raise ValueError(f"no {self._step}.status column to filter on: pass step=")
        if label and self._saved is None:
            raise ValueError("labels are off: pass folder=<run folder> to show()")
        if view not in (None, "diff", "plain"):
            raise ValueError(f"view must be 'diff' or 'plain', not {view!r}")
        self._filters = {"status": status or "all", "label": label or "all", "search": search or "",
                         "search_in": search_in, "view": view or self._filters["view"]}
        self._apply_filters()

    def _filter_values(self):
        return dict(self._filters)

    def _apply_filters(self):
        df, f, mask = self._df, self._filters, np.ones(len(self._df), dtype=bool)
        if f["status"] != "all":
            mask &= self._status == f["status"]
        if f["label"] != "all":
            mask &= (self._labels_of_all() == f["label"])
        if f["search"]:
            where = {"both": [self._left, self._right], "left": [self._left], "right": [self._right]}
            hit = np.zeros(len(df), dtype=bool)
            for col in where[f["search_in"]]:
                # object columns may hold parsed outputs (dicts, lists): search their pane text
                text = df[col].map(cell_text) if df[col].dtype == object else df[col].fillna("").astype(str)
                hit |= text.str.contains(f["search"], case=False, regex=False).to_numpy(dtype=bool)
            mask &= hit
        self._set_rows(np.flatnonzero(mask))

    def _labels_of_all(self):
        labelled = pd.Series(self._ids, dtype=object).map(
            {k: v.get("label") for k, v in self._saved.items()})
        return labelled.fillna("unreviewed").to_numpy(dtype=object)

    # -- labels -------------------------------------------------------------------------------
    def label(self, value, note=None, advance=False):
        """Label the shown sample good/bad/unreviewed (note=None keeps its note); saved at once.
        With advance=True the next sample is shown (what the g/b/u keys do)."""
        if self._saved is None:
            raise ValueError("labels are off: pass folder=<run folder> to show()")
        if value not in LABELS:
            raise ValueError(f"label must be one of {LABELS}, not {value!r}")
        sid = self.current
        if sid is None:
            raise IndexError("no sample is shown (the filters match nothing)")
        entry = self._saved.get(sid) or {}
        was = entry.get("label") in ("good", "bad")
        note = (entry.get("note") or "") if note is None else note
        if value == "unreviewed" and not note:
            self._saved.pop(sid, None)
        else:
            self._saved[sid] = {"label": None if value == "unreviewed" else value, "note": note}
        save(self._folder, "labels.json", self._saved)
        self._reviewed += (value != "unreviewed") - was
        if advance:
            return self._advance(f"saved {value} for {sid}")
        self._message = f"saved {value} for {sid}"
        self._update()

    def _mark(self, value, advance):
        self.label(value, advance=advance)

    def _note(self, text):
        sid = self.current
        if sid is not None:
            self.label((self._saved.get(sid) or {}).get("label") or "unreviewed", note=text)

    # -- what the page shows ------------------------------------------------------------------
    @property
    def sample(self):
        """The shown sample as sent to the page (None when nothing matches)."""
        return self.view.get("sample")

    def _controls(self):
        labels_on = self._saved is not None
        filters = []
        if f"{self._step}.status" in self._df:
            filters.append(["status", [["all", "status: all"]] + [[s, s] for s in STATUSES],
                            self._filters["status"]])
        if labels_on:
            filters.append(["label", [["all", "label: all"]] + [[s, s] for s in LABELS],
                            self._filters["label"]])
        filters.append(["search_in", [["both", "search both"], ["left", f"search {self._left}"],
                                      ["right", f"search {self._right}"]], self._filters["search_in"]])
        filters.append(["view", [["diff", "word diff"], ["plain", "plain text"]], self._filters["view"]])
        return {
            "filters": filters, "search": self._filters["search"],
            "marks": [[v, KEYS[v]] for v in LABELS] if labels_on else [],
            "note": "" if labels_on else None,
            "progress": (f"{self._reviewed:,} of {self._total:,} reviewed" if labels_on
                         else "labels off: pass folder="),
            "help": HELP if labels_on else HELP.split(" \u00B7 g ")[0] + " \u00B7 / search",
        }

    def _list_entry(self, k):
        label = (self._saved.get(self._ids[k]) or {}).get("label") if self._saved else None
        return [self._status[k] or "none", label or ""]

    def _sample(self, k):
        row, sid = self._df.iloc[k], str(self._ids[k])
        fields, notice = step_fields(row, self._step)
        head = [["id", sid]] + [[c, cell_text(row[c])] for c in ("source", "tokens") if c in row] + fields
        raw, out = cell_text(row[self._left]), cell_text(row[self._right])
        answer = cell_text(row.get(f"{self._step}.raw"))
        titles = [self._left, self._right]
        note = None
        if not out and answer:
            # failed rows are diffed too: their raw answer against the text, so near-copies show
            titles[1], out, note = f"{self._step}.raw", answer, "no parsed output; the raw model response:"
        elif not out:
            note = "no output"
        sample = {"id": sid, "head": head, "notice": notice,
                  "panes": text_panes(raw, out, titles, self._filters["view"] == "diff", note),
                  "sections": [], "mark": "unreviewed", "note": ""}
        reasoning = cell_text(row.get(f"{self._step}.reasoning"))
        if reasoning:
            is_open = "reasoning" in self._open
            sample["sections"].append({"name": "reasoning", "title": f"{self._step}.reasoning (model's thinking)",
                                       "open": is_open, "text": reasoning if is_open else ""})
        if self._saved is not None:
            entry = self._saved.get(sid) or {}
            sample["mark"], sample["note"] = entry.get("label") or "unreviewed", entry.get("note") or ""
        return sample
