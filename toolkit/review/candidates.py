"""A sample's candidates side by side, for a pick: what `tk.show` opens on a step run with n=.

A step run with `n=k` gives one row per candidate (`<step>.candidate`, `<step>.candidate_of`);
reading them one row at a time would hide what matters, that they answer the same prompt. So the
viewer shows one item per sample, its candidates in panes side by side (each scrolling on its
own; past three they wrap into rows of three), and Shift+1..Shift+9 picks one (shifted, so the
keys never clash with a label set's 1-9; u: no pick). A pick is stored as the comparison's are
(Store.choose: the candidate over each of the others, tied to their output hashes), so `keep()`
takes it and `tk.preference_pairs(df)` makes pairs of it; which candidate is picked follows the
one rule of decisions/picks.py. A judge's pick (Judge.pick, source "judge:<name>") is marked
beside, never as yours. z undoes, and another viewer on the folder sees a pick within a second.

But: only candidates that passed can be picked (a failed one shows its error and raw answer);
labels, corrections, promotions and traces are the one-row viewer's (show(..., id=) on a
candidate frame with no n= step, or df.query on `<step>.candidate`).
"""

import numpy as np
import pandas as pd

from ..decisions.picks import winner
from ..decisions.store import Store
from ..frame import candidate_output, column
from ..outputs import cell_text, output_hashes
from .columns import contains
from .keys import UNDECIDED, candidate_keys
from .names import head_id, named
from .panes import step_fields
from .widget import Review, review_order

UNPICKED = UNDECIDED["candidates"]


class Candidates(Review):
    """See `show()` on a frame with candidates. Python API: next/prev/go/jump/next_unreviewed/
    pick/undo/set_filter, `counter`, `progress`, `message`, `current` and `sample`."""

    WHERE = "candidates"

    def __init__(self, df, left, step, *, folder=None, order=None, seed=0):
        super().__init__()
        if left not in df:
            raise ValueError(f"no column {left!r} to show beside the candidates; columns: {list(df.columns)}")
        self._df, self._left, self._step = df, left, step
        self._output = candidate_output(df, step)
        of = df[column(step, "candidate_of")].astype(str).to_numpy(dtype=object)
        number = df[column(step, "candidate")]
        ids = pd.unique(of)  # one item per sample, in frame order (a skipped sample too: it has no candidate)
        item = pd.Index(ids).get_indexer(of)
        self._first = np.array([np.flatnonzero(item == k)[0] for k in range(len(ids))])
        ranked = np.argsort(number.fillna(-1).to_numpy(dtype=np.int64), kind="stable")
        valid = number.notna().to_numpy()
        self._sets = [[] for _ in ids]  # per item: its candidates' row positions, in candidate order
        for pos in ranked:
            if valid[pos]:
                self._sets[item[pos]].append(int(pos))
        self._item = item
        k = max([len(s) for s in self._sets] + [1])
        if k > 9:
            raise ValueError(f"{step!r} has up to {k} candidates a sample; the candidates view picks among 9 at "
                             f"most: pass a frame with fewer (df[df['{column(step, 'candidate')}'] < 9])")
        self._marks = candidate_keys(k)
        self._hashes = np.array(output_hashes(df[self._output]), dtype=object)
        status = column(step, "status")
        self._status = (df[status].astype(object).fillna("").to_numpy() if status in df
                        else np.full(len(df), "ok", dtype=object))
        self._store = Store(folder) if folder is not None else None
        self._pick = np.full(len(ids), -1)  # the person's pick: a position in the item's set, -1 none
        self._judges = [dict() for _ in ids]  # per item: {position in the set: [judge names]}
        self._filters = {"pick": "all", "search": ""}
        self._open = set()
        firsts = df.iloc[self._first].reset_index(drop=True)
        self._start(np.asarray(ids, dtype=object), len(ids), review_order(firsts, order, seed))
        if self._store is not None:
            self._store.refresh()
            self._repick(range(len(ids)))
        self._apply_filters(reopen=True)

    # -- the store ----------------------------------------------------------------------------
    def _repick(self, items):
        """Read the person's and the judges' picks of these items from the store (decisions/picks.py's rule)."""
        sources = [s for s in self._store.sources() if s == "person" or s.startswith("judge:")]
        saved = {s: self._store.picks(s) for s in sources}
        for k in items:
            rows = self._sets[k]
            current = {self._hashes[r] for r in rows}
            at = {}
            for source in sources:
                best = winner(saved[source].get(str(self._ids[k]), ()), current)
                if best is not None:
                    at[source] = next(i for i, r in enumerate(rows) if self._hashes[r] == best)
            self._pick[k] = at.pop("person", -1)
            self._judges[k] = {}
            for source, i in at.items():
                self._judges[k].setdefault(i, []).append(source[len("judge:"):])

    def _sync(self):
        if self._store is None:
            return False
        changed = self._store.refresh()
        items = pd.Index(self._ids).get_indexer(list(changed))
        self._repick(items[items >= 0])
        return bool(changed)

    def _undecided(self, items):
        return self._pick[items] < 0

    def pick(self, value, advance=False):
        """Pick candidate `value` ("#1".."#9", the pane's place; "unpicked" withdraws the pick) of the
        shown sample, over each of its other candidates; saved at once."""
        if self._store is None:
            raise ValueError("picks are off: pass folder=<run folder> to show()")
        if value not in [v for v, _ in self._marks]:
            raise ValueError(f"pick must be one of {[v for v, _ in self._marks]}, not {value!r}")
        if not len(self._rows):
            raise IndexError("no sample is shown (the filters match nothing)")
        k = self._rows[self._pos]
        rows, sid = self._sets[k], str(self._ids[k])
        hashes = [self._hashes[r] for r in rows]
        if value == UNPICKED:
            self._store.choose(sid, None, hashes)
            return self._decided(f"no pick for {named(sid)}", advance)
        i = int(value[1:]) - 1
        if i >= len(rows):
            raise ValueError(f"{named(sid)} has {len(rows)} candidate{'s' * (len(rows) != 1)}: there is no {value}")
        if self._status[rows[i]] != "ok":
            raise ValueError(f"candidate {value} of {named(sid)} is {self._status[rows[i]] or 'not ok'}: pick one "
                             "that passed")
        if len(rows) < 2:
            raise ValueError(f"{named(sid)} has one candidate: nothing to pick it over")
        self._store.choose(sid, hashes[i], hashes)
        self._decided(f"picked {value} for {named(sid)} (z undoes it)", advance)

    def _mark(self, value, advance):
        self.pick(value, advance=advance)

    def undo(self):
        """Revert this viewer's last pick and show that sample."""
        if self._store is None:
            raise ValueError("picks are off: pass folder=<run folder> to show()")
        undone = self._store.undo()
        if undone is None:
            return self.go(self._pos, "nothing to undo")
        sid = (undone[0] if isinstance(undone, list) else undone)["sample"]
        self._catch_up()
        k = self._where_of(sid)
        now = "" if k < 0 else ": " + (f"{self._mark_of(k)} is picked now" if self._pick[k] >= 0 else "no pick now")
        self._show_item(k, f"undid the pick for {named(sid)}{now}")

    def _where_of(self, sid):
        found = np.flatnonzero(self._ids == sid)
        return int(found[0]) if len(found) else -1

    def _mark_of(self, k):
        return f"#{self._pick[k] + 1}" if self._pick[k] >= 0 else UNPICKED

    def _note(self, text):
        raise ValueError("notes are the one-row viewer's")

    # -- filters ------------------------------------------------------------------------------
    def set_filter(self, pick=None, search=None):
        """Keep only samples picked / unpicked (None or "all": any) and whose text or candidates
        hold `search` (case-insensitive)."""
        pick = pick or "all"
        if pick not in ("all", "picked", UNPICKED):
            raise ValueError(f"pick must be 'picked', {UNPICKED!r} or 'all', not {pick!r}")
        self._filters = {"pick": pick, "search": search or ""}
        self._apply_filters()

    def _filter_values(self):
        return dict(self._filters)

    def _decision_filter(self):
        return self._filters["pick"] != "all"

    def _mask(self):
        mask = np.ones(len(self._ids), dtype=bool)
        if self._filters["pick"] != "all":
            self._sync()
            mask &= (self._pick >= 0) == (self._filters["pick"] == "picked")
        if self._filters["search"]:
            hit = contains(self._df[self._left], self._filters["search"]) | contains(
                self._df[self._output], self._filters["search"])
            found = np.zeros(len(self._ids), dtype=bool)
            np.logical_or.at(found, self._item, hit)
            mask &= found
        return mask

    # -- what the page shows ------------------------------------------------------------------
    @property
    def sample(self):
        return self.view.get("sample")

    def _controls(self):
        on = self._store is not None
        picked = int((self._pick >= 0).sum())
        return {"filters": [["pick", [["all", "pick: all"], ["picked", "picked"], [UNPICKED, UNPICKED]],
                             self._filters["pick"]]] if on else [],
                "search": self._filters["search"], "marks": self._marks if on else [], "bulk": None, "note": None,
                "progress": f"{picked:,} of {self._total:,} picked" if on else "picks off: pass folder="}

    def _list_entry(self, k):
        rows = self._sets[k]
        return ["ok" if any(self._status[r] == "ok" for r in rows) else self._status[self._first[k]] or "none",
                self._mark_of(k) if self._pick[k] >= 0 else ""]

    def _sample(self, k):
        rows, sid = self._sets[k], str(self._ids[k])
        row = self._df.iloc[self._first[k]]
        head, shown_id = head_id(sid, cell_text(row["source"]) if "source" in row else "")
        head.append(["candidates", f"{len(rows)} of step {self._step}"])
        fields, notice = step_fields(row, self._step)
        if rows:  # the status and error are each candidate's, in its pane
            notice = None
        else:  # a skipped sample: nothing was sent, so there is nothing to pick
            head += fields
        panes = []
        for i, r in enumerate(rows):
            text = cell_text(self._df[self._output].iat[r])
            error = cell_text(self._df[column(self._step, "error")].iat[r]) if column(self._step, "error") in self._df \
                else ""
            if not text and column(self._step, "raw") in self._df:
                text = cell_text(self._df[column(self._step, "raw")].iat[r])
            judges = self._judges[k].get(i, [])
            panes.append({"title": f"#{i + 1} \u00B7 {sid}/{self._df[column(self._step, 'candidate')].iat[r]}"
                                   f" (Shift+{i + 1})",
                          "segments": [["=", text]], "note": f"{self._status[r]}: {error}" if error else None,
                          "picked": "person" if i == self._pick[k] else None, "judges": judges})
        source = {"title": self._left, "segments": [["=", cell_text(row[self._left])]], "note": None}
        is_open = "source" in self._open
        return {"id": sid, "shown_id": shown_id, "head": head, "notice": notice, "panes": panes, "source": source,
                "candidates": len(rows), "mark": self._mark_of(k),
                "sections": [{"name": "source", "title": f"{self._left} (the text the candidates answer)",
                              "open": is_open, "text": source["segments"][0][1] if is_open else ""}]}
