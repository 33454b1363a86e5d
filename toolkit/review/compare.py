"""Two runs of the same samples side by side: honest counts, a word diff, and A/B picks.

A row is *changed* when its output, its raw answer or its status differs between the runs, so
two runs that both failed, with different raw answers, count as changed (they are what a prompt
edit changed). The reviewer picks A better / B better / tie per row (a/b/t keys); picks go to the
run folder's review store (decisions/store.py), keyed by the two outputs' hashes, and
`tk.preference_pairs` turns them into DPO data. `blind=True` shows the runs as left / right in
a seeded random order per row (picks are still stored as A / B); `results()` gives the B-over-A
win rate with its Wilson interval and sign test (stats.win_rate), overall or per slice. A
pairwise judge's picks (`judge=`) are shown beside the reviewer's and counted apart, never as theirs.

The "prompt" section (prompting.py) names the two runs' prompt versions and, given the prompts
(`set_prompts`), diffs the two prompts rendered for the shown row.

But: rows are matched by sample id; rows only one run has are counted in the summary, not shown.
"""

import hashlib
from collections import Counter

import numpy as np
import pandas as pd

from .. import moved
from ..decisions.examples import left_out
from ..decisions.store import Store
from ..frame import column, folder_of_pair, last_step, match, need_column
from ..outputs import cell_text, output_hash, output_hashes
from ..stats import PICKS, describe, win_rate
from .beside import JudgePicks
from .columns import contains, same_texts
from .editing import Editing
from .keys import pick_keys
from .names import head_id, named
from .panes import column_at as _column
from .panes import step_fields, text_panes
from .promoting import Promoting
from .prompting import Prompting
from .tracing import Tracing
from .viewer import BULK
from .widget import Review

__getattr__ = moved.names(__name__, {"picks": "toolkit.decisions"})  # picks() lived here

SHOW = ("all", "changed", "unchanged", "newly ok", "newly failed", "failed in both", "picked", "unpicked")
JUDGED = ("judge disagrees", "judge agrees")  # with your pick, where both picked
REVEALING = ("newly ok", "newly failed")  # filters that would tell a blind reviewer which side is B


def compare(df_a, df_b, column=None, *, left="text", step=None, id=None, folder=None, blind=False, seed=0,
            judge=None, order=None, draft=None):
    """The widget where you compare two runs and pick: the same samples, output `column` of each,
    diffed, the raw text above. (`Judge.compare` is a judge picking between two runs, no widget.)

    Rows are matched by sample id (see `show`). `.counts` has how many shared rows changed
    (output, raw answer or status differs), are unchanged, newly ok, newly failed and failed in
    both. Picks are stored in `folder` (default: the run folder of df_b, else of df_a). With
    `blind=True` each row shows the runs as left / right in a random order (seeded by `seed`
    and the sample id); `results()` says which was which. Opens at the first unpicked row.

    `judge` (the frame a pairwise judge's `.compare(df_a, df_b)` made, the Judge or its name)
    shows its pick beside yours, never as yours, with its reasons and "inconsistent" when given
    the frame; `results(source="judge")` gives its win rate apart. `order="uncertain"` puts its
    inconsistent and missing picks first, then its ties. `draft`: the prompt draft the promote
    key (f) writes run B's row into (as in `show`).
    """
    folder = folder_of_pair(df_a, df_b, folder)
    return Comparison(df_a, df_b, column or last_step(df_b), left=left, step=step, id=id, folder=folder,
                      blind=blind, seed=seed, judge=judge, order=order, draft=draft)


def flips(ids, seed):
    """Per sample, whether a blind comparison shows B on the left: a coin from (seed, id), so a
    row keeps its sides whatever else is in the frames."""
    return np.array([hashlib.sha256(f"{seed}\0{i}".encode()).digest()[0] & 1 for i in ids], dtype=bool)


class Comparison(Editing, Tracing, Promoting, Prompting, Review):
    """See `compare()`. Python API: next/prev/go/jump/next_unreviewed/pick/undo/set_filter/
    set_prompts/results, `.counts`, `counter`, `progress`, `message`, `sample`. The counts compare
    whole columns in C; a row's texts are read when it is shown (100k long rows open in < 1 s)."""

    WHERE = "compare"

    def __init__(self, df_a, df_b, on, *, left="text", step=None, id=None, folder=None, blind=False, seed=0,
                 judge=None, order=None, draft=None):
        super().__init__()
        self._id, self._draft = id, draft
        self._a, self._b, self._on = df_a, df_b, need_column(df_a, on)
        self._left, self._step, self._folder = need_column(df_a, left), step or on, folder
        need_column(df_b, on)
        self._ia, self._ib, ids = match(df_a, df_b, id)
        self._runs = ((df_a, self._ia), (df_b, self._ib))  # each run's frame and its rows, shared order
        raw, status = column(self._step, "raw"), column(self._step, "status")
        self._st = [_column(df, status, at).astype(object).fillna("").to_numpy(dtype=object) for df, at in self._runs]
        changed = ~same_texts(_column(df_a, on, self._ia), _column(df_b, on, self._ib)) \
            | ~same_texts(_column(df_a, raw, self._ia), _column(df_b, raw, self._ib)) | (self._st[0] != self._st[1])
        a_ok, b_ok = self._st[0] == "ok", self._st[1] == "ok"
        a_failed, b_failed = self._st[0] == "failed", self._st[1] == "failed"
        self._masks = {"changed": changed, "unchanged": ~changed, "newly ok": b_ok & ~a_ok,
                       "newly failed": b_failed & ~a_failed, "failed in both": a_failed & b_failed}
        self.counts = {name.replace(" ", "_"): int(mask.sum()) for name, mask in self._masks.items()}
        self.counts["failed_both"] = self.counts.pop("failed_in_both")
        self._store = Store(folder) if folder is not None else None
        self._hashes, self._prompts, self._blind = {}, None, bool(blind)
        self._flip = flips(ids, seed) if blind else np.zeros(len(ids), dtype=bool)
        self._pick, self._tally = np.full(len(ids), "", dtype=object), Counter({"": len(ids)})
        self._where = pd.Index(ids)  # id -> items
        self._show, self._search = "all", ""
        self._sizes = (len(df_a), len(df_b))
        only_a, only_b = len(df_a) - len(ids), len(df_b) - len(ids)
        c = self.counts
        self._summary = (f"{len(ids):,} shared rows: {c['changed']:,} changed, {c['unchanged']:,} unchanged, "
                         + ("" if blind else f"{c['newly_ok']:,} newly ok, {c['newly_failed']:,} newly failed, ")
                         + f"{c['failed_both']:,} failed in both"
                         + (f" \u00B7 {only_a:,} rows only in A, {only_b:,} only in B" if only_a or only_b else ""))
        self._judge = None if judge is None else JudgePicks(judge, self._store, ids, self._pair_hashes)
        self._start(ids, len(ids), self._order(order))
        if self._judge is not None:
            self._open.add(f"judge:{self._judge.name}")
        if self._store is not None:
            self._store.refresh()
            saved = self._store.picks()
            self._repick(saved, saved)
        self._apply_filters(reopen=True)

    def _pair_hash(self, k):
        if k not in self._hashes:
            self._hashes[k] = tuple(output_hash(df[self._on].iat[at[k]]) for df, at in self._runs)
        return self._hashes[k]

    def _pair_hashes(self, items):
        """The pair hash of each item, the missing ones hashed column-wise (output_hashes)."""
        missing = [k for k in items if k not in self._hashes]
        if len(missing) > BULK:
            both = [output_hashes(df[self._on].iloc[at[missing]]) for df, at in self._runs]
            self._hashes.update(zip(missing, zip(*both)))
        return [self._pair_hash(k) for k in items]

    def _repick(self, sample_ids, saved=None):
        """Bring the pick of these samples up to date with the store (`saved`: the store's picks
        when already read; read in one query when many samples changed)."""
        if saved is None and len(sample_ids) > BULK:
            saved = self._store.picks()
        items = [int(k) for k in self._where.get_indexer_for(list(sample_ids)) if k >= 0]
        for k, pair in zip(items, self._pair_hashes(items)):
            if saved is None:
                value = self._store.pick_of(self._ids[k], *pair) or ""
            else:
                value = next((e["pick"] for e in saved.get(self._ids[k], ()) if (e["a"], e["b"]) == pair), "")
            self._tally[self._pick[k]] -= 1
            self._tally[value] += 1
            self._pick[k] = value

    def _sync(self):
        if self._store is None:
            return False
        changed = self._store.refresh()
        self._repick(changed)
        return bool(changed)

    def _undecided(self, items):
        return self._pick[items] == ""

    def _order(self, order):
        if order is None:
            return None
        if order != "uncertain" or self._judge is None:
            raise ValueError(f"compare: order= takes 'uncertain' (with judge=), not {order!r}")
        u = self._judge.uncertainty()
        rank = np.empty(len(u), dtype=np.int64)
        rank[np.argsort(-u, kind="stable")] = np.arange(len(u))
        return rank

    def _shown_as(self, k, value):
        """A stored pick as the reviewer sees it: left / right when blind."""
        if not self._blind or value not in ("A", "B"):
            return value
        return "left" if (value == "A") != self._flip[k] else "right"

    def results(self, by=None, source="person"):
        """B-over-A win rate of the current picks (on the outputs shown) with its Wilson 95 %
        interval and sign test, ties apart (stats.win_rate): one row, or one per value of column
        `by` (of df_b, else df_a). `source`: "person", "judge:<name>" or "judge" (the one judge)."""
        self._need_picks()
        source = self._store.one_source(source)
        saved = self._store.picks(source)
        picks = np.full(len(self._ids), "", dtype=object)
        items = np.flatnonzero(pd.Series(self._ids, dtype=object).isin(saved.keys()).to_numpy(dtype=bool))
        for k, pair in zip(items, self._pair_hashes(items)):
            picks[k] = next((e["pick"] for e in saved[self._ids[k]] if (e["a"], e["b"]) == pair), "")
        picks[left_out(self._store, self._on, self._ids)] = ""  # few-shot examples grade nothing (examples.py)
        if by is None:
            groups = [("all", picks)]
        else:
            frame, at = (self._b, self._ib) if by in self._b else (self._a, self._ia)
            values = pd.Series(frame[need_column(frame, by)].to_numpy(dtype=object)[at], dtype=object).fillna("(none)")
            groups = [(v, picks[(values == v).to_numpy(dtype=bool)]) for v in sorted(values.unique(), key=str)]
        rows = [{by or "slice": v, **{k: r[k] for k in ("n", "B", "A", "tie", "rate", "low", "high", "p")}}
                for v, r in ((v, win_rate(p)) for v, p in groups)]
        return pd.DataFrame(rows, columns=[by or "slice", "n", "B", "A", "tie", "rate", "low", "high", "p"])

    # -- filters ------------------------------------------------------------------------------
    def set_filter(self, show="all", search=None):
        """Walk all shared rows or one kind (see SHOW), optionally only those whose text or either
        output contains `search` (case-insensitive). The shown row stays when it still matches."""
        if show not in self._shows():
            raise ValueError(f"show must be one of {self._shows()}, not {show!r}")
        if show in ("picked", "unpicked", *JUDGED):
            self._need_picks()
        self._show, self._search = show, search or ""
        self._apply_filters()

    def _filter_values(self):
        return {"show": self._show, "search": self._search}

    def _decision_filter(self):
        return self._show in ("picked", "unpicked", *JUDGED)

    def _mask(self):
        n = len(self._ids)
        if self._show in self._masks:
            mask = self._masks[self._show].copy()
        elif self._show in ("picked", "unpicked"):
            self._sync()
            mask = (self._pick != "") == (self._show == "picked")
        elif self._show in JUDGED:
            self._sync()
            mask = self._judge.agrees(self._pick, agree=self._show == "judge agrees")
        else:
            mask = np.ones(n, dtype=bool)
        if self._search:
            mask &= np.logical_or.reduce([contains(_column(frame, name, at), self._search) for frame, name, at in (
                (self._a, self._left, self._ia), (self._a, self._on, self._ia), (self._b, self._on, self._ib))])
        return mask

    # -- picks --------------------------------------------------------------------------------
    def _need_picks(self):
        if self._store is None:
            raise ValueError("picks are off: pass folder=<run folder> to compare()")

    def pick(self, value, advance=False):
        """Record A better / B better / tie for the shown row ("unpicked" removes it; when blind,
        "left" / "right" are the shown sides); saved at once. With advance=True the next row is
        shown (what the keys do)."""
        self._need_picks()
        allowed = (*PICKS, "unpicked", "left", "right")
        if value not in allowed:
            raise ValueError(f"pick must be one of {allowed}, not {value!r}")
        if not len(self._rows):
            raise IndexError("no row is shown (the filters match nothing)")
        k = self._rows[self._pos]
        if value in ("left", "right"):
            value = "A" if (value == "left") != self._flip[k] else "B"
        self._store.pick(self._ids[k], *self._pair_hash(k), None if value == "unpicked" else value)
        self._decided(f"saved {self._shown_as(k, value)} for {named(self._ids[k])}", advance)

    def undo(self):
        """Revert this comparison's last pick and show its row."""
        self._need_picks()
        undone = self._store.undo()
        if undone is None:
            return self.go(self._pos, "nothing to undo")
        if undone["kind"] == "correct":
            return self._undid(undone)
        self._catch_up()
        at = np.flatnonzero(self._ids == undone["sample"])
        value = self._shown_as(at[0], undone["value"]) if len(at) else undone["value"]
        now = f": its pick is now {self._shown_as(at[0], self._pick[at[0]]) or 'unpicked'}" if len(at) else ""
        self._show_item(at[0] if len(at) else -1, f"undid {value or 'unpicked'} for {named(undone['sample'])}{now}")

    def _mark(self, value, advance):
        self.pick(value, advance=advance)

    def _note(self, text):
        pass  # compare has no notes; the front-end hides the box

    # -- what the page shows ------------------------------------------------------------------
    @property
    def sample(self):
        return self.view.get("sample")

    def _shows(self):
        return [s for s in SHOW + JUDGED * (self._judge is not None)
                if (self._store is not None or s not in ("picked", "unpicked", *JUDGED))
                and not (self._blind and s in REVEALING)]

    def _controls(self):
        picks_on = self._store is not None
        marks = pick_keys(self._blind)
        if not picks_on:
            result = ""
        elif self._blind:
            result = " \u00B7 blind: which run is left or right, and the win rate, show in .results()"
        else:
            result = " \u00B7 " + describe(win_rate(self._tally.elements()))
            if self._judge is not None:  # the judge's result apart, never merged with yours
                result += f" \u00B7 judge {self._judge.name} (not you): " + describe(win_rate(self._judge.pick))
        return {"filters": [["show", [[s, f"show: {s}"] for s in self._shows()], self._show]],
                "search": self._search, "summary": self._summary + result, "note": None, "bulk": None,
                "marks": marks if picks_on else [], "blind": self._blind,
                "progress": (f"{len(self._ids) - self._tally['']:,} of {self._total:,} picked" if picks_on
                             else "picks off: pass folder=")}

    def _empty_text(self):
        if self._total:
            return "No row matches the filters: change or clear them."
        if not any(self._sizes):
            return "Both frames have no rows to show."
        return (f"The two frames share no sample id (A has {self._sizes[0]:,} rows, B {self._sizes[1]:,}): "
                "compare two runs of the same samples, or pass id= naming the column that matches them.")

    def _list_entry(self, k):
        status = self._st[0 if self._flip[k] else 1][k]  # the right-hand run's status (B unless blind-flipped)
        return [status or "none", self._shown_as(k, self._pick[k])]

    def _sample(self, k):
        a, b = self._a.iloc[self._ia[k]], self._b.iloc[self._ib[k]]
        fa, notice_a = step_fields(a, self._step)
        fb, notice_b = step_fields(b, self._step)
        sides = [("A", a, fa, notice_a), ("B", b, fb, notice_b)]
        if self._blind:
            sides = sides[::-1] if self._flip[k] else sides
            sides = [(name, *rest) for name, (_, *rest) in zip(("left", "right"), sides)]
        head, shown_id = head_id(str(self._ids[k]), cell_text(a["source"]) if "source" in a else "")
        outputs = [cell_text(a[self._on]), cell_text(b[self._on])]
        what = [n for n, (x, y) in (("output", outputs), ("status", (self._st[0][k], self._st[1][k]))) if x != y]
        head.append(["changed", ", ".join(what) if what else ("raw answer" if self._masks["changed"][k] else "no")])
        head += [[f"{side} {name}", value] for side, _, fields, _ in sides for name, value in fields
                 if not (self._blind and name == "prompt")]
        texts, titles, notes = [], [], []
        for side, row, _, notice in sides:
            out = cell_text(row[self._on])
            raw = cell_text(row.get(column(self._step, "raw")))
            # failed rows are diffed too: their raw answers, so a near-copy shows as one
            use_raw = not out and raw
            texts.append(raw if use_raw else out)
            titles.append(f"{side}: {column(self._step, 'raw')}" if use_raw else f"{side}: {self._on}")
            notes.append(" \u00B7 ".join(filter(None, [notice and notice[1], "no parsed output; the raw answer:"
                                                       if use_raw else ("" if out else "no output")])) or None)
        panes = text_panes(texts[0], texts[1], titles, True)
        for p, note in zip(panes, notes):
            p["note"] = " \u00B7 ".join(filter(None, [note, p["note"]])) or None
        sections = [self._prompt_section(a, b)] if self._has_prompts() and not self._blind else []
        if self._judge is not None:
            shown = self._shown_as(k, self._judge.pick[k])
            head.append([f"judge {self._judge.name}", shown or "none"])
            section = self._judge.section(k, shown, self._blind)
            section["open"] = section["name"] in self._open
            sections.append(section if section["open"] else {**section, "text": ""})
        sample = {"id": str(self._ids[k]), "shown_id": shown_id, "head": head, "notice": None, "panes": panes,
                  "source": {"title": self._left, "segments": [["=", cell_text(a[self._left])]], "note": None},
                  # the prompt versions would tell a blind reviewer which run is which
                  "sections": sections,
                  "mark": self._shown_as(k, self._pick[k]) or "unpicked"}
        self._edits(k, sample)
        self._example_head(k, sample)
        return sample

    def _outputs(self, k):
        """Both runs' outputs, in the order shown (B on the left when blind-flipped)."""
        runs = [(df, at[k]) for df, at in self._runs]
        raw = column(self._step, "raw")
        found = [{"value": df[self._on].iat[i], "column": self._on,
                  "shown": cell_text(df[self._on].iat[i]) or (cell_text(df[raw].iat[i]) if raw in df else "")}
                 for df, i in (runs[::-1] if self._flip[k] else runs)]
        return [{**o, "pane": p} for p, o in enumerate(found)]

    def _traced(self, k):
        if self._blind:
            raise ValueError("trace is off in a blind comparison: its prompt versions would tell which run is which")
        return self._b, " in run B"

    def _promoted(self, k):
        return self._b, self._on, self._ib[k]
