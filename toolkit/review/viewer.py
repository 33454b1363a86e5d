"""The sample viewer: one sample at a time, raw text beside what a step made of it.

This is the inner loop of building a pipeline: run a step on a few rows, read each output next
to its source, label it (g/b/u label and go on), fix the prompt, rerun, then `compare()` the runs.
Only the shown sample is sent to the page and filters are vectorised, so the same viewer works on
a 100k-row frame. Labels live in the run folder's review store (decisions/store.py), each tied to the
output it judged: after a rerun a label given to an earlier output shows as such and counts as
unreviewed. Beside the sample (beside.py): a judge's verdict and reason (never taken as the
label), the sample a duplicate repeats, and filters on the judge's (dis)agreement with the label
and on the reason `keep` drops a row for; `order="uncertain"` puts the judge's doubtful first.

But: the viewer shows the frame it was given; after a rerun, call show() again on the new frame
(labels made elsewhere do show up: every update reads the store).
"""

import numpy as np
import pandas as pd

from ..decisions.labels import LABELS
from ..decisions.store import Store
from ..frame import STATUSES, candidate_steps, column, folder_of, last_step, need_column, sample_ids, steps_in
from ..outputs import cell_text, output_hash, output_hashes, stale
from .beside import Duplicates, Verdicts, judges_in, reason_keys, reason_value, uncertain_order
from .candidates import Candidates
from .columns import contains
from .editing import Editing
from .keys import label_keys
from .marks import Marks
from .names import head_id, named
from .panes import step_fields, text_panes
from .promoting import Promoting
from .tracing import Tracing
from .widget import Review, review_order

BULK = 200  # past this many changed samples, read all labels in one query rather than one by one


def show(df, left="text", right=None, *, step=None, id=None, folder=None, labels=LABELS, order=None, seed=0,
         judge=None, reason=None, draft=None):
    """Viewer of `df` one row at a time: column `left` (raw) beside `right` (generated).

    `right` defaults to the last step output in the frame (a column with a `<name>.status`
    sibling); `step` names the step whose status/attempts/error to show if not `right`; `id`
    names the sample-id column (default `chunk_id`, else the index); `folder` is the run folder
    whose review store keeps the labels and notes (default: the one the frame's step ran in;
    labels are off without one). `labels` is the label set: good/bad (keys g/b) by default, any
    other list of up to 9 gets keys 1-9. `order` is the review order: None (frame order),
    "shuffle" (seeded by `seed`), "uncertain" (the judge's doubtful verdicts first:
    toolkit.judge.uncertainty) or a column to sort by. The viewer opens at the first unreviewed
    sample.

    `judge` (a name, a tk.Judge or a list; default: every judge whose columns the frame has) shows
    the judge's verdict and reason beside the sample, never as your label, and offers the filter
    "judge disagrees / agrees with my label". `reason` opens the samples `keep` drops for one
    reason: ("generic", "parse") (step and kind, as tk.drop_reasons names them) or a kind alone.
    A duplicate (`<column>.dup_of`, from tk.dedupe) is shown beside the sample it repeats. The columns
    of tk.content_kept and tk.grounding for `right` are marked in the panes (marks.py).
    `draft` is the step's prompt draft the promote key (f) writes into (default: the run folder's
    draft that made the row). Keys e (correct), f (promote) and r (trace): docs/review-keys.md.

    A step run with n= (a `<step>.candidate_of` column; by default the last) is shown one sample at
    a time with its candidates side by side, for a pick (Shift+1..Shift+9; review/candidates.py);
    `id=` shows its rows one at a time instead.
    """
    if id is None and right is None and step is None and candidate_steps(df):
        step = candidate_steps(df)[-1]  # the candidates side by side (not a judge's picks among them)
    right = right or last_output(df)
    if id is None and column(step or right, "candidate_of") in df:
        return Candidates(df, left, step or right, folder=folder_of(df, folder), order=order, seed=seed)
    return Viewer(df, left, right, step=step, id=id, folder=folder_of(df, folder), labels=labels, order=order,
                  seed=seed, judge=judge, reason=reason, draft=draft)


def last_output(df):
    """The last step output that is not a judge's verdict (a judge's columns include <name>.judged)."""
    found = [s for s in steps_in(df) if s in df and column(s, "judged") not in df]
    return found[-1] if found else last_step(df)


class Viewer(Editing, Tracing, Promoting, Review):
    """See `show()`. Python API for notebooks and tests: next/prev/go/jump/next_unreviewed/label/
    undo/label_all/set_filter, `counter`, `progress`, `message`, `current` and `sample` (what the
    page shows)."""

    def __init__(self, df, left, right, *, step=None, id=None, folder=None, labels=LABELS, order=None, seed=0,
                 judge=None, reason=None, draft=None):
        super().__init__()
        self._id, self._draft, self._folder = id, draft, folder
        self._df, self._left, self._right = df, need_column(df, left), need_column(df, right)
        self._step, self._marks = step or right, label_keys(labels)
        ids = sample_ids(df, id)
        if folder is not None and not ids.is_unique:
            raise ValueError("sample ids are not unique, so labels cannot be stored: pass id=")
        self._store = Store(folder) if folder is not None else None
        status = column(self._step, "status")
        self._status = (df[status].astype(object).fillna("").to_numpy() if status in df
                        else np.full(len(df), "", dtype=object))
        self._hashes = {}  # row -> hash of its output, made when a label needs it
        self._where = pd.Index(ids)
        self._label = np.full(len(df), "unreviewed", dtype=object)  # current labels
        self._was = np.full(len(df), "", dtype=object)  # a label given to an earlier output
        self._reviewed = 0
        self._verdicts = [Verdicts(df, j) for j in judges_in(df, judge, right)]
        self._dups, self._reasons, self._signals = Duplicates(df, id), reason_keys(df, id), Marks(df, right)
        self._reason_counts = dict(sorted(pd.Series(self._reasons, dtype=object).value_counts().items()))
        self._filters = {"status": "all", "label": "all", "search": "", "search_in": "both",
                         "view": "diff", "judge": "all", "reason": self._reason(reason)}
        rank = uncertain_order(df, self._verdicts) if order == "uncertain" else review_order(df, order, seed)
        self._start(ids.to_numpy(dtype=object), len(df), rank)
        self._open |= {f"judge:{v.judge.name}" for v in self._verdicts} | {
            f"dup:{col}" for _, col in self._dups.marks}
        if self._store is not None:
            self._store.refresh()
            saved = self._store.labels()
            self._relabel(saved, saved)
        self._apply_filters(reopen=True)

    # -- the store ----------------------------------------------------------------------------
    def _hash(self, k):
        if k not in self._hashes:
            self._hashes[k] = output_hash(self._df[self._right].iat[k])
        return self._hashes[k]

    def _hash_many(self, rows):
        """Hash the outputs of these rows in one pass, in place in the column (no text is copied out)."""
        missing = [k for k in rows if k not in self._hashes]
        if missing:
            self._hashes.update(zip(missing, output_hashes(self._df[self._right], missing)))

    def _relabel(self, sample_ids, saved_labels=None):
        """Bring the label of these samples up to date with the store (`saved_labels`: the store's
        labels when already read; read in one query when many samples changed, as after a bulk)."""
        if saved_labels is None and len(sample_ids) > BULK:
            saved_labels = self._store.labels()
        ids = list(sample_ids)
        rows = self._where.get_indexer(ids)
        if len(ids) > BULK:
            self._hash_many(rows[rows >= 0])
        found = [(k, saved_labels.get(sid) if saved_labels is not None else self._store.label_of(sid))
                 for sid, k in zip(ids, rows) if k >= 0]
        olds = stale([s and s["output"] for _, s in found], [s and self._hash(k) for k, s in found])
        for (k, saved), old in zip(found, olds):
            value = saved["label"] if saved and saved["label"] else "unreviewed"
            label, was = ("unreviewed", value) if old and value != "unreviewed" else (value, "")
            if was and saved["column"] not in (None, self._right):
                was = f"{value} on {saved['column']}"
            self._reviewed += (label != "unreviewed") - (self._label[k] != "unreviewed")
            self._label[k], self._was[k] = label, was

    def _sync(self):
        if self._store is None:
            return False
        changed = self._store.refresh()
        self._relabel(changed)
        return bool(changed)

    def _undecided(self, items):
        return self._label[items] == "unreviewed"

    def _need_labels(self):
        if self._store is None:
            raise ValueError("labels are off: pass folder=<run folder> to show()")

    def _reason(self, reason):
        """A `reason=` checked against the reasons this frame has ("all" for None)."""
        if reason is None or reason == "all":
            return "all"
        value = reason_value(reason)
        found = set(self._reasons[pd.notna(self._reasons)])
        if value not in found and value not in {k.split(": ", 1)[1] for k in found}:
            raise ValueError(f"reason={reason!r}: no row is dropped for it; reasons here: {sorted(found) or 'none'}")
        return value

    # -- filters ------------------------------------------------------------------------------
    def set_filter(self, status=None, label=None, search=None, search_in="both", view=None, judge=None, reason=None):
        """Keep only rows with this step status, label ("stale" = labelled on an earlier output),
        text (case-insensitive), judge ("disagrees" / "agrees": the first judge's current verdict
        against your current good/bad label) and drop reason (as in show()); None = any. `view`
        ("diff" or "plain") switches the word diff; None keeps it. The shown sample stays shown
        when it is still among the filtered rows."""
        status = None if status == "all" else status
        label = None if label == "all" else label
        if status and column(self._step, "status") not in self._df:
            raise ValueError(f"no {self._step}.status column to filter on: pass step=")
        if label:
            self._need_labels()
        if view not in (None, "diff", "plain"):
            raise ValueError(f"view must be 'diff' or 'plain', not {view!r}")
        judge = None if judge == "all" else judge
        if judge is not None:
            if judge not in ("disagrees", "agrees"):
                raise ValueError(f"judge must be 'disagrees' or 'agrees' (or None), not {judge!r}")
            if not self._verdicts:
                raise ValueError("no judge's verdicts in this frame to filter on (show(df, judge=...))")
            self._need_labels()
        self._filters = {"status": status or "all", "label": label or "all", "search": search or "",
                         "search_in": search_in, "view": view or self._filters["view"],
                         "judge": judge or "all", "reason": self._reason(reason)}
        self._apply_filters()

    def _filter_values(self):
        return dict(self._filters)

    def _decision_filter(self):
        return self._filters["label"] != "all" or self._filters["judge"] != "all"

    def _mask(self):
        df, f, mask = self._df, self._filters, np.ones(len(self._df), dtype=bool)
        if f["status"] != "all":
            mask &= self._status == f["status"]
        if f["label"] == "stale":
            self._sync()
            mask &= self._was != ""
        elif f["label"] != "all":
            self._sync()
            mask &= self._label == f["label"]
        if f["judge"] != "all":
            self._sync()
            mask &= self._verdicts[0].agrees(self._label, agree=f["judge"] == "agrees")
        if f["reason"] != "all":
            keys = pd.Series(self._reasons, dtype=object)
            hit = keys == f["reason"] if ": " in f["reason"] else keys.str.endswith(": " + f["reason"])
            mask &= hit.fillna(False).to_numpy(dtype=bool)
        if f["search"]:
            where = {"both": [self._left, self._right], "left": [self._left], "right": [self._right]}
            hit = np.zeros(len(df), dtype=bool)
            for col in where[f["search_in"]]:  # parsed outputs (dicts, lists) are searched as their pane text
                hit |= contains(df[col], f["search"])
            mask &= hit
        return mask

    # -- labels -------------------------------------------------------------------------------
    def label(self, value, note=None, advance=False):
        """Label the shown sample (a value of the label set, or "unreviewed"; note=None keeps its
        note); saved at once. With advance=True the next sample is shown (what the keys do)."""
        self._need_labels()
        if value not in [v for v, _ in self._marks]:
            raise ValueError(f"label must be one of {[v for v, _ in self._marks]}, not {value!r}")
        sid = self.current
        if sid is None:
            raise IndexError("no sample is shown (the filters match nothing)")
        k = self._rows[self._pos]
        self._store.label(sid, self._hash(k), None if value == "unreviewed" else value, note=note, column=self._right)
        self._decided(f"saved {value} for {named(sid)}", advance)

    def label_all(self, value):
        """Label every filtered sample `value` at once (one `undo` reverts it all)."""
        self._need_labels()
        if value not in [v for v, _ in self._marks]:
            raise ValueError(f"label must be one of {[v for v, _ in self._marks]}, not {value!r}")
        rows = self._rows
        self._hash_many(rows)
        self._store.label_many([(self._ids[k], self._hash(k)) for k in rows],
                               None if value == "unreviewed" else value, column=self._right)
        self._decided(f"labelled {len(rows):,} filtered samples {value} (z undoes it)", advance=False)

    def _preview(self, value):
        """What label_all(value) would do, for the page's confirm: {value, n, text}."""
        self._need_labels()
        if value not in [v for v, _ in self._marks]:
            raise ValueError(f"label must be one of {[v for v, _ in self._marks]}, not {value!r}")
        self._catch_up()
        now = pd.Series(self._label[self._rows], dtype=object).value_counts()
        changes = ", ".join(f"{now[label]:,} {label}" for label, _ in self._marks if label != value and label in now)
        n = len(self._rows)
        text = (f"Label all {n:,} filtered samples {value}? "
                + (f"This changes {now.drop(value, errors='ignore').sum():,} of them (now {changes}). "
                   if changes else "None of them changes. ") + "z undoes it as a whole.")
        return {"value": value, "n": n, "text": text}

    def undo(self):
        """Revert this viewer's last label, note or bulk label and show that sample."""
        self._need_labels()
        undone = self._store.undo()
        if undone is None:
            return self.go(self._pos, "nothing to undo")
        if isinstance(undone, list):
            return self.go(self._pos, f"undid the bulk label of {len(undone):,} samples")
        if undone["kind"] == "correct":
            return self._undid(undone)
        k = self._where.get_indexer([undone["sample"]])[0]
        what = undone["value"] or "unreviewed" if undone["kind"] == "label" else "the note"
        self._catch_up()
        now = "" if k < 0 or undone["kind"] != "label" else f": its label is now {self._label[k]}" + (
            f" (labelled {self._was[k]} on an earlier output)" if self._was[k] else "")
        self._show_item(k, f"undid {what} for {named(undone['sample'])}{now}")

    def _mark(self, value, advance):
        self.label(value, advance=advance)

    def _note(self, text):
        sid = self.current
        if sid is not None:
            self._need_labels()
            self._store.note(sid, self._hash(self._rows[self._pos]), text, column=self._right)
            self.go(self._pos, f"saved the note for {named(sid)}")

    # -- what the page shows ------------------------------------------------------------------
    @property
    def sample(self):
        """The shown sample as sent to the page (None when nothing matches)."""
        return self.view.get("sample")

    def _controls(self):
        labels_on = self._store is not None
        filters = []
        if column(self._step, "status") in self._df:
            filters.append(["status", [["all", "status: all"]] + [[s, s] for s in STATUSES],
                            self._filters["status"]])
        if labels_on:
            filters.append(["label", [["all", "label: all"]] + [[v, v] for v, _ in self._marks]
                            + [["stale", "labelled on an earlier output"]], self._filters["label"]])
        if labels_on and self._verdicts:
            name = self._verdicts[0].judge.name
            filters.append(["judge", [["all", f"judge {name}: all"],
                                      ["disagrees", f"judge {name} disagrees with my label"],
                                      ["agrees", f"judge {name} agrees with my label"]], self._filters["judge"]])
        if len(self._reason_options) > 1:
            filters.append(["reason", self._reason_options, self._filters["reason"]])
        filters.append(["search_in", [["both", "search both"], ["left", f"search {self._left}"],
                                      ["right", f"search {self._right}"]], self._filters["search_in"]])
        filters.append(["view", [["diff", "word diff"], ["plain", "plain text"]], self._filters["view"]])
        return {
            "filters": filters, "search": self._filters["search"],
            "marks": self._marks if labels_on else [], "bulk": len(self._rows) if labels_on else None,
            "note": "" if labels_on else None,
            "progress": (f"{self._reviewed:,} of {self._total:,} reviewed" if labels_on
                         else "labels off: pass folder="),
        }

    @property
    def _reason_options(self):
        chosen, counts = self._filters["reason"], self._reason_counts
        alone = [[chosen, f"dropped for {chosen} (any step)"]] if chosen not in counts and chosen != "all" else []
        return ([["all", "dropped for: any reason or none"]] + alone  # alone: a kind, as in show(reason="parse")
                + [[key, f"dropped for {key} ({n:,})"] for key, n in counts.items()])

    def _list_entry(self, k):
        badge = self._label[k] if self._label[k] != "unreviewed" else f"was {self._was[k]}" if self._was[k] else ""
        return [self._status[k] or "none", badge]

    def _stale_text(self, k):
        """"labelled good on an earlier output" ("... on generic" when given on another column)."""
        if not self._was[k]:
            return None
        return f"labelled {self._was[k]}" + ("" if " on " in self._was[k] else " on an earlier output")

    def _sample(self, k):
        row, sid = self._df.iloc[k], str(self._ids[k])
        fields, notice = step_fields(row, self._step)
        head, shown_id = head_id(sid, cell_text(row["source"]) if "source" in row else "")
        head += [["tokens", cell_text(row["tokens"])] for _ in ("tokens",) if "tokens" in row] + fields
        raw, out = cell_text(row[self._left]), cell_text(row[self._right])
        answer = cell_text(row.get(column(self._step, "raw")))
        titles = [self._left, self._right]
        note = None
        if not out and answer:
            # failed rows are diffed too: their raw answer against the text, so near-copies show
            titles[1], out, note = column(self._step, "raw"), answer, "no parsed output; the raw model response:"
        elif not out:
            note = "no output"
        sample = {"id": sid, "shown_id": shown_id, "head": head, "notice": notice,
                  "panes": text_panes(raw, out, titles, self._filters["view"] == "diff", note),
                  "sections": [], "mark": self._label[k], "note": "",
                  "stale": self._stale_text(k)}
        self._signals.put(row, sample["panes"], (raw, out))  # marks.py: what the rewrite lost, the support
        head += [v.head(k) for v in self._verdicts]
        for section in [v.section(k) for v in self._verdicts] + self._dups.sections(k):
            section["open"] = section["name"] in self._open
            if not section["open"]:
                section.pop("text", None), section.pop("panes", None)
            sample["sections"].append(section)
        reasoning = cell_text(row.get(column(self._step, "reasoning")))
        if reasoning:
            is_open = "reasoning" in self._open
            sample["sections"].append({"name": "reasoning", "title": f"{self._step}.reasoning (model's thinking)",
                                       "open": is_open, "text": reasoning if is_open else ""})
        if self._store is not None:
            sample["note"] = (self._store.label_of(sid) or {}).get("note") or ""
        self._edits(k, sample)
        self._example_head(k, sample)
        return sample

    def _outputs(self, k):
        value = self._df[self._right].iat[k]
        shown = cell_text(value) or cell_text(self._df[column(self._step, "raw")].iat[k]
                                              if column(self._step, "raw") in self._df else "")
        return [{"pane": 1, "value": value, "shown": shown, "column": self._right}]

    def _traced(self, k):
        return self._df, ""

    def _promoted(self, k):
        return self._df, self._right, k
