"""The review keys: one table that the widget's message handler, the page's key map, the buttons,
the help line and docs/review-keys.md all read.

A key does one action. A kernel action ("next", "undo", "mark", ...) is a message the page sends
and the widget runs (`Review._do_<action>`, widget.py); a page action ("page:scroll", ...) is done
by the page alone (front.py's PAGE). The view sends the page its key map, buttons and help line
made from this table, so a new key is one row here (plus the method or page handler when its
action is new), and docs/review-keys.md's table is made from it (`write_docs` rewrites it;
tests/test_review_keys.py checks it is current).

The decision keys depend on the widget: the viewer's label set (g/b for good/bad, 1-9 for any
other set, u unreviewed), the comparison's picks (a/b/t, u unpicked; left/right when blind) and
the candidates' picks (Shift+1-9, u unpicked: shifted, so they never clash with a label set's 1-9).

But: keys are not configurable at run time; a key map of your own means editing this table.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..decisions.labels import LABELS  # the default label set: it gets the keys g and b

RESERVED = ("unreviewed", "all", "stale")  # filter values, not labels
UNDECIDED = {"show": "unreviewed", "candidates": "unpicked", "compare": "unpicked"}  # one word per widget, everywhere


@dataclass(frozen=True)
class Key:
    """One row of the table. `keys`: KeyboardEvent.key values ("Shift+" in front for a shifted
    one; none for a row the docs list but the page does not bind); `shown`: how docs and help
    write them; `do`: the action; `help`: a few words ("{undecided}": the widget's word);
    `doc`: the docs' sentence; `args`: more fields for the action; `button`: its button's text."""

    keys: tuple
    shown: str
    do: str
    help: str
    doc: str
    where: tuple = ("show", "candidates", "compare")  # the viewer, its candidates view, the comparison
    deciding: bool = False  # only when decisions are on (a run folder)
    args: dict = field(default_factory=dict)
    button: str = None
    ahead: bool = False  # the page draws the prefetched next sample at once (view["ahead"])


KEYS = (
    Key(("ArrowRight", "j"), "→ / j", "next", "next", "next sample (of the filtered ones)", button="next",
        ahead=True),
    Key(("ArrowLeft", "k"), "← / k", "prev", "previous", "previous sample", button="prev"),
    Key(("n",), "n", "unreviewed", "next {undecided}", "next sample with no decision yet (wraps round)",
        deciding=True, button="next {undecided}"),
    Key(("z",), "z", "undo", "undo", "undo this widget's last decision (a bulk label as a whole); the message "
        "says what the sample's decision is now", deciding=True, button="undo"),
    Key(("e",), "e", "page:edit", "edit", "correct the shown output: a text box in its pane (keys typed there are "
        "text; Ctrl+Enter saves your text in place of the model's, tied to that output; Esc cancels); the comparison "
        "edits the right-hand output", where=("show", "compare"), deciding=True, args={"side": -1}),
    Key(("Shift+E",), "Shift+E", "page:edit", "", "correct the left-hand output", where=("compare",),
        deciding=True, args={"side": 0}),
    Key(("f",), "f", "promote", "few-shot", "promote the shown row into its step's prompt draft as a few-shot turn "
        "pair (tk.promote; the comparison: run B's row; draft= names the draft)", where=("show", "compare"),
        deciding=True),
    Key(("r",), "r", "trace", "trace", "trace the shown sample through its steps (tk.trace, from the cache) over "
        "the panes; Esc closes it (the comparison: run B's row)", where=("show", "compare")),
    Key((" ", "PageDown"), "Space / PageDown", "page:scroll", "scroll",
        "scroll the text panes down a page (each pane on its own; the longest leads, the others follow "
        "in proportion)", args={"pages": 0.9}),
    Key(("Shift+ ", "PageUp"), "Shift+Space / PageUp", "page:scroll", "", "scroll the text panes up a page",
        args={"pages": -0.9}),
    Key(("ArrowDown",), "↓", "page:scroll", "", "scroll the text panes down a line", args={"px": 40}),
    Key(("ArrowUp",), "↑", "page:scroll", "", "scroll the text panes up a line", args={"px": -40}),
    Key(("Home",), "Home", "page:scroll", "", "top of the text panes", args={"to": "top"}),
    Key(("End",), "End", "page:scroll", "", "bottom of the text panes", args={"to": "end"}),
    Key(("s",), "s", "page:source", "source", "show / hide the source column (shown by itself when the "
        "widget is wide enough for three columns)", where=("compare",), button="source"),
    Key(("l",), "l", "page:list", "list", "show / hide the sample list", button="list"),
    Key(("/",), "/", "page:search", "search", "go to the search box (floated into view when it is out of "
        "sight; the text you read does not move)"),
    Key(("Escape",), "Esc", "page:escape", "leave a box", "leave a box, close the trace, or close the bulk confirm "
        "row"),
    Key((), "Enter (in a box)", "page:enter", "", "search / jump / save the note, then back to the widget"),
    Key((), "Ctrl+Enter / Esc (editing)", "page:save", "", "save your correction / cancel the edit, then back to "
        "the widget", where=("show", "compare"), deciding=True),
)
# The decision keys, for the docs (the keys themselves come from label_keys / pick_keys).
DECISIONS = (
    ("g, b (default labels); 1–9 (your own label set)", ("show",), "label the shown sample and go on"),
    ("Shift+1–9", ("candidates",), "pick the shown sample's 1st–9th candidate (over each of the others) and go on"),
    ("u", ("show", "candidates", "compare"), "mark the shown sample unreviewed (candidates, comparison: unpicked) "
     "and go on"),
    ("a, b, t", ("compare",), "A better / B better / tie and go on (left / right when blind)"),
)
WIDGETS = (("show", "viewer"), ("candidates", "candidates"), ("compare", "comparison"))  # the docs' columns


def label_keys(labels):
    """[[label, key], ...]: g/b for the default set, 1-9 for any other; u = unreviewed."""
    labels = list(labels)
    if not labels or len(labels) > 9 or len(set(labels)) < len(labels) \
            or not all(isinstance(x, str) and x and x not in RESERVED for x in labels):
        raise ValueError(f"labels= must be 1 to 9 distinct names, none of {RESERVED}; got {labels!r}")
    keys = ["g", "b"] if tuple(labels) == LABELS else [str(i + 1) for i in range(len(labels))]
    return [[x, key] for x, key in zip(labels, keys)] + [[UNDECIDED["show"], "u"]]


def pick_keys(blind):
    """[[pick, key], ...] of the comparison: A / B (left / right when blind), tie, unpicked."""
    sides = [["left", "a"], ["right", "b"]] if blind else [["A", "a"], ["B", "b"]]
    return sides + [["tie", "t"], [UNDECIDED["compare"], "u"]]


def candidate_keys(k):
    """[[pick, key], ...] of the candidates view: "#1".."#k" on Shift+1..Shift+k, u unpicked."""
    if not 1 <= k <= 9:
        raise ValueError(f"the candidates view has keys for 1 to 9 candidates a sample, not {k}")
    return [[f"#{i}", f"Shift+{i}"] for i in range(1, k + 1)] + [[UNDECIDED["candidates"], "u"]]


def _rows(where, deciding):
    return [k for k in KEYS if where in k.where and (deciding or not k.deciding)]


def key_map(where, marks):
    """{KeyboardEvent.key: action} for the page: {"do": ...} is sent to the kernel as it is
    ("ahead": the page first draws the prefetched next sample), {"page": ...} the page does."""
    out = {}
    for k in _rows(where, bool(marks)):
        page = k.do.startswith("page:")
        action = {"page": k.do[5:]} if page else {"do": k.do}
        action.update(k.args)
        if k.ahead:
            action["ahead"] = True
        out.update({key: action for key in k.keys})
    for value, key in marks:
        out[key] = {"do": "mark", "value": value, "advance": True, "ahead": True}
    return out


def buttons(where, deciding):
    """[[action, text, key shown], ...]: the buttons a widget has besides its decisions."""
    return [[k.do, k.button.format(undecided=UNDECIDED[where]), k.keys[-1]]
            for k in _rows(where, deciding) if k.button]


def help_line(where, marks):
    """The keys in one line, as the widget shows it under the panes."""
    parts = []
    for k in _rows(where, bool(marks)):
        if k.help:
            parts.append(f"{k.shown} {k.help.format(undecided=UNDECIDED[where])}")
        if k.do == "prev" and marks:
            verb = "labels" if where == "show" else "picks"
            parts.append(" · ".join(f"{key} {value}" for value, key in marks) + f" (each {verb} and goes on)")
    return "keys (click the widget first): " + " · ".join(parts)


def markdown():
    """The key table of docs/review-keys.md."""
    def cells(where):
        return " | ".join("✓" if place in where else "" for place, _ in WIDGETS)

    lines = ["| key | " + " | ".join(title for _, title in WIDGETS) + " | what it does |",
             "| --- | " + " | ".join(":-:" for _ in WIDGETS) + " | --- |"]
    for shown, where, doc in DECISIONS:
        lines.append(f"| {shown} | {cells(where)} | {doc} |")
    for k in KEYS:
        lines.append(f"| {k.shown} | {cells(k.where)} | {k.doc}" + ("; with a run folder only" if k.deciding else "")
                     + " |")
    return "\n".join(lines) + "\n"


BEGIN, END = "<!-- keys: made from toolkit/review/keys.py -->\n", "<!-- /keys -->\n"


def write_docs(path):
    """Rewrite the key table between the markers in the markdown file `path`."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    block = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not block.search(text):
        raise ValueError(f"{path} has no {BEGIN.strip()} ... {END.strip()} block to fill")
    path.write_text(block.sub(lambda _: BEGIN + markdown() + END, text), encoding="utf-8")

