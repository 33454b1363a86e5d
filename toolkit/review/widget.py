"""What the sample viewer and the comparison share: one sample at a time, keys, jump, filters, order.

The Python side owns the state; the front-end (front.py) only draws the `view` trait and sends
back what the reviewer did. Each update carries one sample plus a window of the sample list, never
the frame, so a key press on a 100k-row frame stays close to one on a 10-row frame (bench_viewer.py:
1.11x in Chromium, docs/performance.md). Decisions live in the run folder's review store
(decisions/store.py); every update first reads the decisions written since the
last one (by any widget or process), and the page asks every second or so whether any landed
(`sync`), so counts, badges and filters follow decisions made elsewhere without a key press. A
filter that depends on decisions ("label: good", "unpicked") is recomputed after each decision;
the sample on screen stays among the filtered ones until the reviewer moves on. Subclasses say
what a sample looks like and what marking means (a label in the viewer, an A/B pick in the
comparison).

Messages, front-end -> Python (`model.send`), each with `n`, the page's message number (the view's
`seq` says which the view answers); every one first clears the message line. The kernel actions
of keys.py's table, plus those of the controls:
    {"do": "next"} / {"do": "prev"}          the next / previous filtered sample
    {"do": "go", "pos": P}                   the P-th (0-based) filtered sample (a list click)
    {"do": "jump", "text": T}                an id, "#12" / "12" (1-based position) or an id prefix
    {"do": "mark", "value": V, "advance": B} label / pick V (a `marks` value) on the shown sample
    {"do": "unreviewed"}                     the next sample not yet labelled / picked (key n)
    {"do": "undo"}                           revert this widget's last decision, show its sample (key z)
    {"do": "preview", "value": V}            what "label all filtered as V" would do (view["confirm"])
    {"do": "bulk", "value": V}               label every filtered sample V (after the confirm)
    {"do": "filter", "name": N, "value": X}  set filter N (a `filters` name, or "search") to X
    {"do": "note", "text": T}                the shown sample's note (viewer only)
    {"do": "open", "what": S, "open": B}     a collapsible section S opened / closed
    {"do": "sync"}                           read decisions made elsewhere; redraw only if any landed;
                                             answered by a custom message {"synced": n}

The `view` trait (Python -> front-end):
    pos, n, total    position among the n filtered samples; samples before filters
    seq              the `n` of the last message handled (the page ignores an older view while it
                     shows a prefetched sample)
    counter          "54,321 of 100,000 filtered (100,000 total)"
    progress         "50 of 100,000 reviewed" / "3 of 12 picked" (current, from the store)
    list             window of the sample list: [pos, id, status, badge, short] per entry; badge
                     is the label / pick ("" = none; "was <label>" = labelled on an earlier
                     output); short is the distinguishing part of the id (after the prefix all ids
                     share, its tail when long), to show where the whole id does not fit
    list_width       the widest entry in characters: position and short id (the list is as wide as
                     it needs, up to a cap; a longer id is cut at its start)
    sample           the shown sample (None when nothing matches): id, shown_id (the id as the
                     one-line header shows it: after the source when it repeats it), head
                     [[name, value]] (the page cuts long values, the whole in a tooltip), notice, panes,
                     sections, mark (current label / pick; "left" / "right" when blind); the
                     viewer adds note and stale ("labelled good on an earlier output", "labelled
                     good on <column>", else None); the comparison adds source (the text both runs
                     started from, a pane the page shows as a third column or on the s key).
                     sections: [{name, title, open, text | panes}] collapsible, text or panes
                     only when open (a judge's verdict and reason, a duplicate's original, the
                     model's reasoning, the two prompts)
    ahead            the next sample prefetched: {pos, counter, sample} as `next` would show them
                     (None on the last sample). On j / -> and on a label-and-advance key the page
                     draws it at once, marks itself data-pending, and sends the message as always;
                     the reply redraws (the same sample keeps its scroll) or corrects it. A second
                     press before the reply only sends. Drawing `ahead` records nothing.
    empty            why nothing is shown (no rows / no shared id / the filters), else None
    message, alert   one line on what the last action did ("" = none); alert: it was refused
    filters          [[name, [[value, text], ...], current], ...] dropdowns
    search           the search text
    marks            [[value, key], ...]: one button and key per decision ([] = decisions off)
    keys, buttons, help   the key map, the other buttons and the help line (keys.py)
    bulk             how many filtered samples "label all filtered as ..." would label, None
                     where bulk labelling is not offered; confirm: {value, text} after a preview
    note             "" (a note box) or None (no note box)
    summary          the comparison's counts and its A/B result line (`stats.describe`)
    blind            True when the comparison hides which run is left / right

But: it needs a front-end that runs anywidget (JupyterLab, Notebook 7, VS Code); elsewhere it is
only its text repr.
"""

import re

import anywidget
import numpy as np
import pandas as pd
import traitlets

from . import keys
from .front import CSS, ESM
from .names import ShortIds, named

WINDOW = 12  # sample-list entries each side of the shown one
POSITION = re.compile(r"#?\s*(\d+)")


def review_order(df, order, seed):
    """Rank of each row in the review order: None (frame order), "shuffle" (seeded) or a column."""
    if order is None:
        return None
    if order == "shuffle":
        return np.random.default_rng(seed).permutation(len(df))
    if order not in df:
        raise KeyError(f"order={order!r} is neither 'shuffle' nor a column; columns: {list(df.columns)}")
    try:
        by = df[order].reset_index(drop=True).sort_values(kind="stable", na_position="last").index.to_numpy()
    except TypeError as e:
        raise ValueError(f"order={order!r}: the column's values cannot be sorted ({e})") from None
    rank = np.empty(len(df), dtype=np.int64)
    rank[by] = np.arange(len(df))
    return rank


class Review(anywidget.AnyWidget):
    _esm = ESM
    _css = CSS
    view = traitlets.Dict().tag(sync=True)
    WHERE = "show"  # the widget's column in keys.py's table

    def _start(self, ids, total, rank=None):
        """`ids`: sample id per item (numpy object array); `total`: how many items before
        filters; `rank`: each item's place in the review order (None = as given)."""
        self._ids, self._total, self._rank = ids, total, rank
        self._short = ShortIds(ids)
        self._rows, self._pos, self._message, self._open = np.arange(0), 0, "", set()
        self._stray = None  # the shown item, kept among the rows though it no longer matches the filters
        self._seq, self._confirm, self._alert = 0, None, False
        self.on_msg(self._on_msg)

    # -- navigation ---------------------------------------------------------------------------
    def next(self):
        self.go(self._pos + 1)

    def prev(self):
        self.go(self._pos - 1)

    def go(self, i, message=""):
        """Show the i-th (0-based) sample of the filtered rows, clamped to the ends."""
        i = int(i)
        if self._stray is not None and i != self._pos:  # moving on: the stray leaves the rows
            at = int(np.flatnonzero(self._rows == self._stray)[0])
            self._rows, self._stray, i = np.delete(self._rows, at), None, i - (at < i)
        self._pos, self._message = min(max(i, 0), max(len(self._rows) - 1, 0)), message
        self._update()

    def jump(self, text):
        """Go to an exact id, else a position number ("12" or "#12", 1-based among the filtered
        samples), else the first filtered sample whose id starts with `text`."""
        text = text.strip()
        if not text:
            return
        shown = self._ids[self._rows]
        exact = np.flatnonzero(shown == text)
        number = POSITION.fullmatch(text)
        if len(exact) and not text.startswith("#"):
            return self.go(exact[0])
        if number:
            k = int(number.group(1))
            if 1 <= k <= len(self._rows):
                return self.go(k - 1)
            return self.go(self._pos, f"position {k} is out of range (1 to {len(self._rows):,})")
        prefix = np.flatnonzero(pd.Series(shown, dtype=object).str.startswith(text).to_numpy(dtype=bool))
        if len(prefix):
            return self.go(prefix[0])
        self.go(self._pos, f"no filtered sample has an id starting {text!r}")

    def next_unreviewed(self):
        """Go to the next filtered sample (after the shown one, wrapping round) with no decision."""
        n = len(self._rows)
        todo = np.flatnonzero(self._undecided(self._rows))
        if not len(todo):
            return self.go(self._pos, "every filtered sample has a decision" if n else "")
        after = todo[todo > self._pos]
        self.go(after[0] if len(after) else todo[0])

    def _apply_filters(self, reopen=False):
        """Show the rows the filters match (see _set_rows)."""
        self._set_rows(np.flatnonzero(self._mask()), reopen)
        self._message = ""  # a filter change is a new action: the last one's message goes
        self._update()

    def _set_rows(self, rows, reopen=False, keep=None):
        """New filtered rows (in review order); stay on the shown sample when it is still among
        them; with `reopen`, go to the first with no decision (where the reviewer stopped); item
        `keep` is shown and stays among the rows (a stray) even when it no longer matches."""
        current = keep if keep is not None else self._rows[self._pos] if len(self._rows) else None
        order = self._rank if self._rank is not None else np.arange(self._total)
        rows = rows[np.argsort(order[rows], kind="stable")]
        self._pos, self._stray = 0, None
        if reopen:
            todo = np.flatnonzero(self._undecided(rows))
            self._pos = int(todo[0]) if len(todo) else 0
        elif current is not None:
            same = np.flatnonzero(rows == current)
            if len(same):
                self._pos = int(same[0])
            elif keep is not None:
                at = int(np.searchsorted(order[rows], order[current]))
                rows, self._pos, self._stray = np.insert(rows, at, current), at, current
        self._rows = rows

    def _decided(self, message, advance):
        """After a decision: the next sample (`advance`) or the same one, with `message`; when a
        filter depends on decisions, its rows are recomputed first, the sample shown kept."""
        p = self._pos + 1 if advance and self._pos < len(self._rows) - 1 else self._pos
        if not (len(self._rows) and self._decision_filter()):
            return self.go(p, message)
        self._set_rows(np.flatnonzero(self._mask()), keep=self._rows[p])
        self._message = message + self._stray_text()
        self._update()

    def _stray_text(self):
        return "" if self._stray is None or self._stray != self._rows[self._pos] else (
            f" \u00B7 {named(self._ids[self._stray])} no longer matches the filters: it stays until you move on")

    def _show_item(self, k, message):
        """Show item `k` when it is among the filtered rows, else stay; with `message`."""
        same = np.flatnonzero(self._rows == k)
        self.go(int(same[0]) if len(same) else self._pos, message)

    @property
    def counter(self):
        return self.view.get("counter", "")

    @property
    def progress(self):
        return self.view.get("progress", "")

    @property
    def message(self):
        return self.view.get("message", "")

    @property
    def current(self):
        """Id of the shown sample (None when the filters match nothing)."""
        return self._ids[self._rows[self._pos]] if len(self._rows) else None

    # -- state for the front-end ---------------------------------------------------------------
    def _catch_up(self):
        """Read the decisions made since the last update (here or elsewhere); when a filter
        depends on them, recompute its rows, the shown sample kept. True when any landed."""
        if not self._sync():
            return False
        if self._decision_filter():
            self._set_rows(np.flatnonzero(self._mask()), keep=self._rows[self._pos] if len(self._rows) else None)
        return True

    def _update(self):
        self._catch_up()
        n = len(self._rows)
        lo = max(0, min(self._pos - WINDOW, n - 2 * WINDOW - 1))
        window = range(lo, min(n, lo + 2 * WINDOW + 1))
        controls = self._controls()
        marks = controls["marks"]
        self.view = {
            "pos": self._pos, "n": n, "total": self._total, "seq": self._seq,
            "counter": self._counter(self._pos + 1 if n else 0),
            "list": [[p, str(self._ids[self._rows[p]]), *self._list_entry(self._rows[p]),
                      str(self._short[self._rows[p]])] for p in window],
            "list_width": self._short.width + len(f"{n:,}") + 2,
            "sample": self._sample(self._rows[self._pos]) if n else None,
            "ahead": self._ahead(),
            "empty": None if n else self._empty_text(),
            "message": self._message, "alert": self._alert, "confirm": self._confirm,
            "keys": keys.key_map(self.WHERE, marks), "buttons": keys.buttons(self.WHERE, bool(marks)),
            "help": keys.help_line(self.WHERE, marks),
            **controls,
        }

    def _counter(self, shown, n=None):
        return f"{shown:,} of {len(self._rows) if n is None else n:,} filtered ({self._total:,} total)"

    def _ahead(self):
        """What `next` (and a label-and-advance) will show, so the page can draw it at once on the
        key press and let the kernel's reply confirm it; None on the last sample (or none). A
        stray shown leaves the rows when the reviewer moves on: the counter counts without it."""
        p = self._pos + 1
        if p >= len(self._rows):
            return None
        if self._stray is not None and self._stray == self._rows[self._pos]:
            return {"pos": p - 1, "counter": self._counter(p, len(self._rows) - 1),
                    "sample": self._sample(self._rows[p])}
        return {"pos": p, "counter": self._counter(p + 1), "sample": self._sample(self._rows[p])}

    def _empty_text(self):
        return ("No sample matches the filters: change or clear them." if self._total
                else "This frame has no rows to show.")

    def _on_msg(self, _, content, buffers):
        """A reviewer's action from the page; a refused one (labels off, a bad filter value) is
        shown on the widget's message line instead of raising into the kernel log."""
        do = content.get("do")
        self._seq = content.get("n", self._seq)
        if do == "sync":
            return self._do_sync(content)
        self._message, self._confirm, self._alert = "", None, False
        try:
            handler = getattr(self, f"_do_{do}", None)
            if handler is None:
                raise ValueError(f"unknown action {do!r} from the page")
            handler(content)
        except (ValueError, IndexError, KeyError) as e:
            self._message, self._alert = str(e), True
            self._update()

    # -- the actions (keys.py's kernel actions and the controls') ------------------------------
    def _do_next(self, content):
        self.next()

    def _do_prev(self, content):
        self.prev()

    def _do_go(self, content):
        self.go(content["pos"])

    def _do_jump(self, content):
        self.jump(str(content.get("text", "")))

    def _do_mark(self, content):
        self._mark(content["value"], advance=bool(content.get("advance")))

    def _do_unreviewed(self, content):
        self.next_unreviewed()

    def _do_undo(self, content):
        self.undo()

    def _do_preview(self, content):
        self._confirm = self._preview(content["value"])
        self._update()

    def _do_bulk(self, content):
        self.label_all(content["value"])

    def _do_filter(self, content):
        self.set_filter(**{**self._filter_values(), content["name"]: content["value"]})

    def _do_note(self, content):
        self._note(str(content.get("text", "")))

    def _do_open(self, content):
        (self._open.add if content.get("open") else self._open.discard)(content["what"])
        self._update()

    def _do_sync(self, content):
        """Decisions made elsewhere: redraw only when some landed (counts, badges, filters)."""
        if self._catch_up():
            self._update()
        self.send({"synced": self._seq})

    # -- what subclasses say -------------------------------------------------------------------
    def _sync(self):
        """Read the decisions made elsewhere since the last update; True when any changed."""
        return False

    def _mask(self):
        """Boolean per item: matches the filters."""
        raise NotImplementedError

    def _decision_filter(self):
        """Whether a filter depends on decisions (its rows change when one is made)."""
        return False

    def _undecided(self, items):
        """Boolean per item: no decision yet."""
        raise NotImplementedError

    def _mark(self, value, advance):
        """Record `value` for the shown sample; then go on to the next one if `advance`."""
        raise NotImplementedError

    def _note(self, text):
        raise NotImplementedError

    def undo(self):
        raise NotImplementedError

    def label_all(self, value):
        raise ValueError("bulk decisions are only offered in the sample viewer")

    def _preview(self, value):
        raise ValueError("bulk decisions are only offered in the sample viewer")

    def __repr__(self):
        return f"{type(self).__name__}({self._total:,} samples)"
