"""What the sample viewer and the comparison share: one sample at a time, keys, jump, filters.

The Python side owns the state; the front-end (front.py) only draws the `view` trait and sends
back what the reviewer did (`{"do": "next"}`, `{"do": "mark", ...}`, ...). Each update carries one
sample plus a window of the sample list, never the frame, so a 100k-row frame costs the same per
key press as a 10-row one. Subclasses say what a sample looks like and what marking means (a
label in the viewer, an A/B pick in the comparison).

But: it needs a front-end that runs anywidget (JupyterLab, Notebook 7, VS Code); elsewhere it is
only its text repr.
"""

import re

import anywidget
import numpy as np
import pandas as pd
import traitlets

from .front import CSS, ESM

WINDOW = 12  # sample-list entries each side of the shown one
POSITION = re.compile(r"#?\s*(\d+)")


class Review(anywidget.AnyWidget):
    _esm = ESM
    _css = CSS
    view = traitlets.Dict().tag(sync=True)

    def _start(self, ids, total):
        """`ids`: sample id per item (numpy object array); `total`: how many items before filters."""
        self._ids, self._total = ids, total
        self._rows, self._pos, self._message, self._open = np.arange(0), 0, "", set()
        self.on_msg(self._on_msg)

    # -- navigation ---------------------------------------------------------------------------
    def next(self):
        self.go(self._pos + 1)

    def prev(self):
        self.go(self._pos - 1)

    def go(self, i):
        """Show the i-th (0-based) sample of the filtered rows, clamped to the ends."""
        self._pos = min(max(int(i), 0), max(len(self._rows) - 1, 0))
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
            self._message = ""
            return self.go(exact[0])
        if number:
            k = int(number.group(1))
            self._message = "" if 1 <= k <= len(self._rows) else \
                f"position {k} is out of range (1 to {len(self._rows):,})"
            return self.go(k - 1) if not self._message else self._update()
        prefix = np.flatnonzero(pd.Series(shown, dtype=object).str.startswith(text).to_numpy(dtype=bool))
        self._message = "" if len(prefix) else f"no filtered sample has an id starting {text!r}"
        return self.go(prefix[0]) if len(prefix) else self._update()

    def _set_rows(self, rows):
        """New filtered rows; stay on the shown sample when it is still among them."""
        current = self._rows[self._pos] if len(self._rows) else None
        self._rows, self._pos = rows, 0
        if current is not None:
            k = int(np.searchsorted(rows, current))
            self._pos = k if k < len(rows) and rows[k] == current else 0
        self._update()

    @property
    def counter(self):
        return self.view.get("counter", "")

    @property
    def progress(self):
        return self.view.get("progress", "")

    @property
    def current(self):
        """Id of the shown sample (None when the filters match nothing)."""
        return self._ids[self._rows[self._pos]] if len(self._rows) else None

    # -- state for the front-end ---------------------------------------------------------------
    def _update(self):
        n = len(self._rows)
        lo = max(0, min(self._pos - WINDOW, n - 2 * WINDOW - 1))
        window = range(lo, min(n, lo + 2 * WINDOW + 1))
        self.view = {
            "pos": self._pos, "n": n, "total": self._total,
            "counter": f"{self._pos + 1 if n else 0:,} of {n:,} filtered ({self._total:,} total)",
            "list": [[p, str(self._ids[self._rows[p]]), *self._list_entry(self._rows[p])] for p in window],
            "sample": self._sample(self._rows[self._pos]) if n else None,
            "empty": None if n else self._empty_text(),
            "message": self._message,
            **self._controls(),
        }

    def _empty_text(self):
        return ("No sample matches the filters: change or clear them." if self._total
                else "This frame has no rows to show.")

    def _on_msg(self, _, content, buffers):
        """A reviewer's action from the page; a refused one (labels off, a bad filter value) is
        shown on the widget's message line instead of raising into the kernel log."""
        try:
            self._act(content)
        except (ValueError, IndexError, KeyError) as e:
            self._message = str(e)
            self._update()

    def _act(self, content):
        do = content.get("do")
        if do == "next":
            self.next()
        elif do == "prev":
            self.prev()
        elif do == "go":
            self.go(content["pos"])
        elif do == "jump":
            self.jump(str(content.get("text", "")))
        elif do == "mark":
            self._mark(content["value"], advance=bool(content.get("advance")))
        elif do == "filter":
            self.set_filter(**{**self._filter_values(), content["name"]: content["value"]})
        elif do == "note":
            self._note(str(content.get("text", "")))
        elif do == "open":
            (self._open.add if content.get("open") else self._open.discard)(content["what"])
            self._update()

    def _mark(self, value, advance):
        """Record `value` for the shown sample; then go on to the next one if `advance`."""
        raise NotImplementedError

    def _note(self, text):
        raise NotImplementedError

    def _advance(self, message):
        self._message = message
        if self._pos < len(self._rows) - 1:
            self.next()
        else:
            self._update()

    def __repr__(self):
        return f"{type(self).__name__}({self._total:,} samples)"
