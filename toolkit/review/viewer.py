"""Sample viewers: one sample at a time, raw text beside what a step made of it.

This is the inner loop of building a pipeline: run a step on a few rows, read each output next
to its source, label it, fix the prompt, rerun, then `compare()` the two runs. Only the shown
sample is rendered and filters are vectorised, so the same viewer works on a 100k-row frame.
Every value from a file or a model is escaped before it reaches an HTML widget (see diff.py).
"""

import html
import json
from pathlib import Path

import ipywidgets as W
import numpy as np
import pandas as pd

from ..columns import STATUSES, steps_in
from ..files import atomic_write
from .diff import diff, plain

LABELS = ("good", "bad", "unreviewed")
STATUS_COLOR = {"ok": "#080", "failed": "#c00", "skipped": "#888"}
PANE_LAYOUT = dict(width="50%", max_height="60vh", overflow="auto", padding="0 6px")


def show(df, left="text", right=None, *, step=None, id=None, folder=None):
    """Viewer of `df` one row at a time: column `left` (raw) beside `right` (generated).

    `right` defaults to the last step output in the frame (a column with a `<name>.status`
    sibling); `step` names the step whose status/attempts/error to show if not `right`; `id`
    names the sample-id column (default `chunk_id`, else the index); `folder` is the run folder
    whose labels.json stores good/bad labels and notes (default: the one the frame's step ran in;
    labels are off without one).
    """
    return Viewer(df, left, right or _last_step(df), step=step, id=id, run=_folder(df, folder))


def compare(df_a, df_b, column=None, *, left="text", step=None, id=None):
    """The same samples from two runs: output `column` of each, diffed, the raw text above.

    Rows are matched by sample id (see `show`); `.counts` has how many shared rows changed, are
    unchanged, and newly failed (failed in b, not in a).
    """
    return Comparison(df_a, df_b, column or _last_step(df_b), left=left, step=step, id=id)


def labels(df, folder=None, *, id=None):
    """A copy of `df` with `label` (good/bad/unreviewed) and `note` from `<folder>/labels.json`
    (default folder: the one the frame's step ran in)."""
    folder = _folder(df, folder)
    if folder is None:
        raise ValueError("labels: this frame does not say which run folder it came from (it was "
                         "not made by Step.run); pass folder=<run folder>")
    saved, ids = _load(folder), _ids(df, id)
    out = df.copy()
    out["label"] = ids.map({k: v.get("label") for k, v in saved.items()}).fillna("unreviewed").to_numpy()
    out["note"] = ids.map({k: v.get("note") for k, v in saved.items()}).fillna("").to_numpy()
    return out


def _folder(df, folder):
    """The run folder given, else the one the frame's step ran in (Step.run records it)."""
    return folder if folder is not None else df.attrs.get("folder")


def _last_step(df):
    steps = [s for s in steps_in(df) if s in df]
    if not steps:
        raise ValueError("no step output in the frame (a column <name> with <name>.status): pass right=")
    return steps[-1]


def _ids(df, id):
    """Sample ids as strings, positionally indexed (labels.json keys are strings).

    After a one-to-many step several rows share their parent's chunk_id: by default they are told
    apart by their order within the parent ("<chunk_id>/0", "/1", ...), so each gets its own label.
    """
    col = df[id] if id is not None else df["chunk_id"] if "chunk_id" in df else df.index.to_series()
    ids = pd.Series(col.astype(str).to_numpy(dtype=object))
    if id is None and ids.duplicated().any():
        ids = ids + "/" + ids.groupby(ids).cumcount().astype(str)
    return ids


def _load(run):
    path = Path(run) / "labels.json"
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        # Refuse rather than start empty: the next click would overwrite the user's labels.
        raise ValueError(f"{path} is not valid JSON ({e}); fix or move it before labelling") from None


def _save(run, saved):
    with atomic_write(Path(run) / "labels.json") as f:
        json.dump(saved, f, ensure_ascii=False, indent=1, sort_keys=True)


def _text(value):
    """Cell value as pane text: strings as is, missing as "", parsed outputs as indented JSON."""
    if isinstance(value, str):
        return value
    if pd.api.types.is_scalar(value):
        return "" if pd.isna(value) else str(value)
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


def _column(df, name):
    if name not in df:
        raise KeyError(f"no column {name!r} in the frame; columns: {list(df.columns)}")
    return name


def _field(name, value):
    return f"<b>{html.escape(name)}</b> {html.escape(_text(value))}"


def _step_html(row, step):
    """Status, attempts, prompt version and error of `step` in `row`, for what is present."""
    parts, error = [], ""
    status = row.get(f"{step}.status")
    if isinstance(status, str):
        color = STATUS_COLOR.get(status, "#000")
        parts.append(f'<b>status</b> <span style="color:{color}">{html.escape(status)}</span>')
    for field, title in (("attempts", "attempts"), ("prompt_version", "prompt")):
        if _text(row.get(f"{step}.{field}")):
            parts.append(_field(title, row[f"{step}.{field}"]))
    if _text(row.get(f"{step}.error")):
        error = _field("error", row[f"{step}.error"])
        error = f'<div style="color:#c00;white-space:pre-wrap">{error}</div>'
    return " · ".join(parts), error


class _Pager(W.VBox):
    """Prev/next buttons, a position slider and the "k of n filtered (N total)" counter.

    Subclasses set `self._total`, pass the filtered row positions to `_set_rows()` once per
    filter change, and implement `_render()` for the sample at `self._rows[self._pos]`.
    """

    def _nav(self):
        self._pos, self._rows = 0, np.arange(0)
        self._prev_b = W.Button(description="◀ Prev", layout=W.Layout(width="90px"))
        self._next_b = W.Button(description="Next ▶", layout=W.Layout(width="90px"))
        self._slider = W.IntSlider(min=1, max=1, readout=False, continuous_update=False)
        self._counter = W.Label()
        self._prev_b.on_click(lambda _: self.prev())
        self._next_b.on_click(lambda _: self.next())
        self._slider.observe(self._on_slider, "value")
        return W.HBox([self._prev_b, self._next_b, self._slider, self._counter])

    def next(self):
        self.go(self._pos + 1)

    def prev(self):
        self.go(self._pos - 1)

    def go(self, i):
        """Show the i-th (0-based) sample of the filtered rows, clamped to the ends."""
        self._pos = min(max(int(i), 0), max(len(self._rows) - 1, 0))
        self._slider.value = self._pos + 1  # _on_slider sees the same position and stays quiet
        n = len(self._rows)
        self._counter.value = f"{self._pos + 1 if n else 0:,} of {n:,} filtered ({self._total:,} total)"
        self._prev_b.disabled = self._pos == 0
        self._next_b.disabled = self._pos >= n - 1
        self._render()

    def _on_slider(self, change):
        if change["new"] - 1 != self._pos:
            self.go(change["new"] - 1)

    def _set_rows(self, rows):
        """Replace the filtered rows (computed once per filter change) and show the first."""
        self._rows, self._pos = rows, 0
        self._slider.value = 1
        self._slider.max = max(len(rows), 1)
        self._slider.disabled = len(rows) < 2
        self.go(0)

    @property
    def counter(self):
        return self._counter.value


class Viewer(_Pager):
    """See `show()`. Python API for notebooks and tests: next/prev/go/set_filter/label."""

    def __init__(self, df, left, right, *, step=None, id=None, run=None):
        self._df, self._left, self._right = df, _column(df, left), _column(df, right)
        self._step, self._run, self._total = step or right, run, len(df)
        self._ids = _ids(df, id)
        self._saved = _load(run) if run is not None else None
        if run is not None and not self._ids.is_unique:
            raise ValueError("sample ids are not unique, so labels cannot be stored: pass id=")
        self._muted = False

        self._header = W.HTML()
        self._left_w = W.HTML(layout=W.Layout(**PANE_LAYOUT))
        self._right_w = W.HTML(layout=W.Layout(**PANE_LAYOUT))
        self._diff_w = W.Checkbox(value=True, description="word diff", indent=False)
        self._diff_w.observe(lambda _: self._render(), "value")
        self._jump = W.Text(placeholder="go to id", continuous_update=False,
                            layout=W.Layout(width="120px"))
        self._jump.observe(self._on_jump, "value")
        self._msg = W.Label()
        super().__init__([
            self._header,
            W.HBox([self._nav(), self._jump]),
            self._filters(),
            W.HBox([self._left_w, self._right_w]),
            self._label_row(),
            self._msg,
        ])
        self._apply_filters()

    def _filters(self):
        wide = {"description_width": "initial"}
        has_status = f"{self._step}.status" in self._df
        self._status_f = W.Dropdown(options=("all",) + STATUSES, description="status", style=wide,
                                    disabled=not has_status, layout=W.Layout(width="150px"))
        self._label_f = W.Dropdown(options=("all",) + LABELS, description="label", style=wide,
                                   disabled=self._saved is None, layout=W.Layout(width="170px"))
        self._search_f = W.Text(placeholder="search text", continuous_update=False)
        where = [("in both", "both"), (f"in {self._left}", "left"), (f"in {self._right}", "right")]
        self._search_in = W.Dropdown(options=where, layout=W.Layout(width="150px"))
        for w in (self._status_f, self._label_f, self._search_f, self._search_in):
            w.observe(self._on_filter, "value")
        return W.HBox([self._status_f, self._label_f, self._search_f, self._search_in, self._diff_w])

    def _label_row(self):
        if self._saved is None:
            return W.HTML("<i>Labels are off: this frame does not name its run folder; pass folder=&lt;run folder&gt; to show() to save them.</i>")
        self._label_b = {v: W.Button(description=v, layout=W.Layout(width="110px")) for v in LABELS}
        for value, button in self._label_b.items():
            button.on_click(lambda _, value=value: self.label(value))
        self._note = W.Text(placeholder="note (saved on Enter or leaving the box)",
                            continuous_update=False, layout=W.Layout(width="50%"))
        self._note.observe(self._on_note, "value")
        return W.HBox([*self._label_b.values(), self._note])

    def set_filter(self, status=None, label=None, search=None, search_in="both"):
        """Keep only rows with this step status, label and text (case-insensitive); None = any."""
        if status and self._status_f.disabled:
            raise ValueError(f"no {self._step}.status column to filter on: pass step=")
        if label and self._saved is None:
            raise ValueError("labels are off: pass folder=<run folder> to show()")
        self._muted = True
        try:
            self._status_f.value = status or "all"
            self._label_f.value = label or "all"
            self._search_f.value = search or ""
            self._search_in.value = search_in
        finally:
            self._muted = False
        self._apply_filters()

    def _on_filter(self, _):
        if not self._muted:
            self._apply_filters()

    def _apply_filters(self):
        df, mask = self._df, np.ones(len(self._df), dtype=bool)
        if self._status_f.value != "all":
            mask &= (df[f"{self._step}.status"] == self._status_f.value).to_numpy()
        if self._label_f.value != "all":
            labelled = self._ids.map({k: v.get("label") for k, v in self._saved.items()})
            mask &= (labelled.fillna("unreviewed") == self._label_f.value).to_numpy()
        if self._search_f.value:
            where = {"both": [self._left, self._right], "left": [self._left], "right": [self._right]}
            hit = np.zeros(len(df), dtype=bool)
            for col in where[self._search_in.value]:
                # object columns may hold parsed outputs (dicts, lists): search their pane text
                text = df[col].map(_text) if df[col].dtype == object else df[col].fillna("").astype(str)
                hit |= text.str.contains(self._search_f.value, case=False, regex=False).to_numpy()
            mask &= hit
        self._set_rows(np.flatnonzero(mask))

    def _current(self):
        return self._ids.iat[self._rows[self._pos]] if len(self._rows) else None

    def _render(self):
        sid = self._current()
        if sid is None:
            self._header.value = "<i>No sample matches the filters.</i>"
            self._left_w.value = self._right_w.value = ""
            self._show_label(None)
            return
        row = self._df.iloc[self._rows[self._pos]]
        info = [_field("id", sid)] + [_field(c, row[c]) for c in ("source", "tokens") if c in row]
        status, error = _step_html(row, self._step)
        self._header.value = " · ".join(info + ([status] if status else [])) + error

        raw, out = _text(row[self._left]), _text(row[self._right])
        fallback = _text(row.get(f"{self._step}.raw"))
        if not out:
            note = "no parsed output; the raw model response:" if fallback else "no output"
            left, right = plain(raw), plain(fallback, note)
        elif self._diff_w.value:
            left, right = diff(raw, out)
        else:
            left, right = plain(raw), plain(out)
        self._left_w.value = f"<b>{html.escape(self._left)}</b>{left}"
        self._right_w.value = f"<b>{html.escape(self._right)}</b>{right}"
        self._show_label(sid)

    def _show_label(self, sid):
        if self._saved is None:
            return
        entry = (self._saved.get(sid) or {}) if sid is not None else {}
        current = entry.get("label") or "unreviewed"
        styles = {"good": "success", "bad": "danger", "unreviewed": "info"}
        for value, button in self._label_b.items():
            button.button_style = styles[value] if value == current else ""
            button.disabled = sid is None
        self._note.disabled = sid is None
        self._note.value = entry.get("note") or ""  # equal to the saved note: _on_note stays quiet

    def label(self, value, note=None):
        """Label the shown sample good/bad/unreviewed (note=None keeps its note); saved at once."""
        if self._saved is None:
            raise ValueError("labels are off: pass folder=<run folder> to show()")
        if value not in LABELS:
            raise ValueError(f"label must be one of {LABELS}, not {value!r}")
        sid = self._current()
        if sid is None:
            raise IndexError("no sample is shown (the filters match nothing)")
        entry = self._saved.get(sid) or {}
        note = (entry.get("note") or "") if note is None else note
        if value == "unreviewed" and not note:
            self._saved.pop(sid, None)
        else:
            self._saved[sid] = {"label": None if value == "unreviewed" else value, "note": note}
        _save(self._run, self._saved)
        self._show_label(sid)
        self._msg.value = f"saved {value} for {sid}"

    def _on_note(self, change):
        sid = self._current()
        entry = self._saved.get(sid) or {}
        if sid is not None and change["new"] != (entry.get("note") or ""):
            self.label(entry.get("label") or "unreviewed", note=change["new"])

    def _on_jump(self, change):
        hits = np.flatnonzero(self._ids.to_numpy()[self._rows] == change["new"].strip())
        if len(hits):
            self._msg.value = ""
            self.go(hits[0])
        elif change["new"].strip():
            self._msg.value = f"id {change['new'].strip()!r} is not among the filtered samples"

    @property
    def left_html(self):
        return self._left_w.value

    @property
    def right_html(self):
        return self._right_w.value


class Comparison(_Pager):
    """See `compare()`. Python API: next/prev/go/set_filter and `.counts`."""

    def __init__(self, df_a, df_b, on, *, left="text", step=None, id=None):
        self._a, self._b, self._on = df_a, df_b, _column(df_a, on)
        self._left, self._step = _column(df_a, left), step or on
        _column(df_b, on)
        ids_a, ids_b = _ids(df_a, id), _ids(df_b, id)
        if not ids_b.is_unique:
            raise ValueError("sample ids of df_b are not unique: pass id=")
        in_b = pd.Index(ids_b).get_indexer(ids_a)
        self._ia, self._ib = np.flatnonzero(in_b >= 0), in_b[in_b >= 0]
        self._ids, self._total = ids_a.to_numpy()[self._ia], len(self._ia)

        out_a = pd.Series(df_a[on].to_numpy()[self._ia])
        out_b = pd.Series(df_b[on].to_numpy()[self._ib])
        changed = ((out_a != out_b) & ~(out_a.isna() & out_b.isna())).to_numpy()
        status = f"{self._step}.status"
        newly_failed = np.zeros(self._total, dtype=bool)
        if status in df_a and status in df_b:
            newly_failed = (df_b[status].to_numpy()[self._ib] == "failed") & (
                df_a[status].to_numpy()[self._ia] != "failed")
        self._masks = {"all": np.ones(self._total, dtype=bool), "changed": changed,
                       "newly failed": newly_failed}
        self.counts = {"changed": int(changed.sum()), "unchanged": int((~changed).sum()),
                       "newly_failed": int(newly_failed.sum())}

        only_a, only_b = len(df_a) - self._total, len(df_b) - self._total
        extra = f" · {only_a:,} rows only in A, {only_b:,} only in B" if only_a or only_b else ""
        summary = W.HTML(f"<b>{self._total:,} shared rows</b>: {self.counts['changed']:,} changed, "
                         f"{self.counts['unchanged']:,} unchanged, "
                         f"{self.counts['newly_failed']:,} newly failed{extra}")
        self._show_f = W.Dropdown(options=list(self._masks), description="show",
                                  layout=W.Layout(width="200px"))
        self._show_f.observe(lambda change: self._set_rows(np.flatnonzero(self._masks[change["new"]])),
                             "value")
        self._header, self._raw_w = W.HTML(), W.HTML(layout=W.Layout(max_height="30vh", overflow="auto"))
        self._a_w = W.HTML(layout=W.Layout(**PANE_LAYOUT))
        self._b_w = W.HTML(layout=W.Layout(**PANE_LAYOUT))
        super().__init__([summary, W.HBox([self._nav(), self._show_f]), self._header, self._raw_w,
                          W.HBox([self._a_w, self._b_w])])
        self._set_rows(np.flatnonzero(self._masks["all"]))

    def set_filter(self, show="all"):
        """Walk all shared rows, only the "changed" ones, or only the "newly failed" ones."""
        self._show_f.value = show  # the dropdown's observer refilters

    def _render(self):
        if not len(self._rows):
            self._header.value, self._raw_w.value = "<i>No row matches.</i>", ""
            self._a_w.value = self._b_w.value = ""
            return
        k = self._rows[self._pos]
        a, b = self._a.iloc[self._ia[k]], self._b.iloc[self._ib[k]]
        self._header.value = _field("id", self._ids[k]) + (
            " · " + _field("source", a["source"]) if "source" in a else "")
        self._raw_w.value = f"<b>{html.escape(self._left)}</b>{plain(_text(a[self._left]))}"
        panes = diff(_text(a[self._on]), _text(b[self._on]))
        for widget, name, row, pane in ((self._a_w, "A", a, panes[0]), (self._b_w, "B", b, panes[1])):
            status, error = _step_html(row, self._step)
            widget.value = f"<b>{name}: {html.escape(self._on)}</b> {status}{error}{pane}"

    @property
    def a_html(self):
        return self._a_w.value

    @property
    def b_html(self):
        return self._b_w.value
