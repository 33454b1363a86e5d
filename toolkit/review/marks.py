"""What the viewer marks inside a sample's two text panes, from the signals' columns in the frame.

- `tk.content_kept` (`<right>.lost_*`, `<right>.invented_*`): the words, numbers and names the
  rewrite lost, in the source pane in the diff's "removed" colour, and those it invented, in the
  rewrite pane in its "added" colour;
- `tk.grounding` (`<right>.support`, `<right>.unsupported_*`): the source sentence that supports
  the answer best, highlighted in the source pane and scrolled into view when the sample opens,
  and the answer's mentions the source lacks, in the "added" colour.

Which tokens a list names is mentions.places' rule (the one content_kept and grounding count by),
so a mark is a whole word, never part of another. A mark cuts the pane's segments: `[kind, text,
mark]`, mark "lost", "invented" or "support" (several: space-separated); each pane says what its
marks mean in `legend` ([[mark, text], ...], drawn beside its title) and `reveal` asks the page to
scroll its support sentence into view. The page draws a marked piece as an element of that class
around a text node (drawing.py), so the text stays text.

But: the lists are matched against the texts the panes show; a frame whose texts changed after the
signal ran shows fewer marks, never wrong ones.
"""

from functools import lru_cache

from ..frame import column
from ..mentions import KINDS, places

LEGEND = {"lost": "lost by the rewrite", "invented": "invented by the rewrite",
          "support": "the sentence that supports the answer best", "unsupported": "not in the source"}


class Marks:
    """The signals' columns a frame has for the viewer's `left` and `right` columns."""

    def __init__(self, df, right):
        have = lambda verb: all(column(right, f"{verb}_{k}") in df for k in KINDS)  # noqa: E731
        self.lost = [column(right, f"lost_{k}") for k in KINDS] if have("lost") else None
        self.invented = [column(right, f"invented_{k}") for k in KINDS] if have("invented") else None
        self.unsupported = [column(right, f"unsupported_{k}") for k in KINDS] if have("unsupported") else None
        self.support = column(right, "support") if column(right, "support") in df else None

    def __bool__(self):
        return bool(self.lost or self.invented or self.unsupported or self.support)

    def put(self, row, panes, texts):
        """Mark the two `panes` (source, output), whose texts are `texts`, from the signals in `row`."""
        left, right = [], []
        if self.lost:
            left += [(a, b, "lost") for a, b in _places(texts[0], _lists(row, self.lost))]
        for cols, name in ((self.invented, "invented"), (self.unsupported, "unsupported")):
            if cols:
                right += [(a, b, "invented", name) for a, b in _places(texts[1], _lists(row, cols))]
        sentence = row.get(self.support) if self.support else None
        at = texts[0].find(sentence) if isinstance(sentence, str) and sentence else -1
        if at >= 0:
            left.append((at, at + len(sentence), "support"))
            panes[0]["reveal"] = True
        for pane, spans in ((panes[0], left), (panes[1], right)):
            if spans:
                pane["segments"] = cut(pane["segments"], runs([s[:3] for s in spans]))
                pane["legend"] = [[mark, LEGEND[name]] for mark, name in sorted({(s[2], s[-1]) for s in spans})]


def _lists(row, cols):
    """The (numbers, names, words) lists of a row (a missing cell: none)."""
    return tuple(frozenset(v) if isinstance(v, (list, tuple, set)) or hasattr(v, "__array__") else frozenset()
                 for v in (row.get(c) for c in cols))


@lru_cache(maxsize=16)
def _places(text, listed):
    """mentions.places, remembered: a sample prefetched, then shown, is read once."""
    return places(text, listed)


def runs(spans):
    """(start, end, marks) of each stretch covered by the same marks, from (start, end, mark) spans
    that may overlap (a lost word inside the support sentence), in order."""
    events = sorted([(a, 1, m) for a, b, m in spans if b > a] + [(b, -1, m) for a, b, m in spans if b > a])
    out, active, at = [], {}, 0
    for pos, step, mark in events:  # at one place, ends come before starts
        on = " ".join(sorted(m for m, n in active.items() if n))
        if pos > at and on:
            out.append((at, pos, on))
        active[mark] = active.get(mark, 0) + step
        at = pos
    return out


def cut(segments, marked):
    """New segments with the stretches of `marked` ((start, end, marks), in order, apart) as
    segments of their own carrying their marks; the diff's segments are shared, never changed."""
    out, at, i = [], 0, 0
    for kind, text, *_ in segments:
        end, pos = at + len(text), at
        while i < len(marked) and marked[i][0] < end:
            a, b, marks = marked[i]
            a, upto = max(a, pos), min(b, end)
            if a > pos:
                out.append([kind, text[pos - at : a - at]])
            out.append([kind, text[a - at : upto - at], marks])
            pos = upto
            if b > end:
                break
            i += 1
        if pos < end:
            out.append([kind, text[pos - at :]])
        at = end
    return out


MARKS = r"""
// A piece of a pane's text: a text node, or (a diff change, a mark) an element of its classes
// around one: a lost word in the diff's "removed" colour, an invented one in its "added" colour.
function markedPiece(kind, text, marks) {
  if (kind === "=" && !marks) return document.createTextNode(text);
  const cls = [kind === "-" ? "tkr-del" : kind === "+" ? "tkr-ins" : "tkr-marked",
               ...(marks ? marks.split(" ").map((m) => `tkr-${m}`) : [])];
  return h(kind === "-" ? "del" : kind === "+" ? "ins" : "mark", cls.join(" "), text);
}

// What a pane's marks mean, beside its title, each in its mark's colour.
function legend(title, p) {
  for (const [mark, text] of p.legend || []) title.append(" ", h("span", `tkr-legend tkr-${mark}`, text));
  return title;
}

// The support sentence of a newly shown sample scrolled into its pane's view (a third down),
// drawn first when it lies past the pane's first screen, its paragraph laid out for real (others
// keep drawing.py's estimated height); the notebook itself never scrolls. A widget not yet laid
// out (its first sample) is tried again on the next frames.
function reveal(box, tries = 60) {
  const text = box.querySelector(".tkr-text");
  if (!text.clientHeight) {
    if (tries && box.parentElement) requestAnimationFrame(() => reveal(box, tries - 1));
    return;
  }
  let e = text.querySelector(".tkr-support");
  while (!e && box.rest) { box.rest = box.rest(); e = text.querySelector(".tkr-support"); }
  if (!e) return;
  e.closest(".tkr-par").style.contentVisibility = "visible";  // its real height, not the estimate, counts
  const r = e.getBoundingClientRect(), t = text.getBoundingClientRect();
  if (r.top < t.top || r.bottom > t.bottom) text.scrollTop += r.top - t.top - text.clientHeight / 3;
}
"""
