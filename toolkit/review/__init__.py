"""Reading a step's outputs: one sample at a time beside its source, two runs side by side.

    viewer.py   show(): the sample viewer, labels with g/b/u
    compare.py  compare(): two runs, honest counts, A/B picks (blind if asked), results(); picks()
    store.py    the run folder's review store: every label, note and pick, shared by all widgets
    labels.py   labels() as a column, stale where the output changed since it was labelled
    preferences.py  preference_pairs(): the A/B picks as DPO pairs
    widget.py   what both widgets share: navigation, jump, filters, the message protocol
    keys.py     the one table of review keys (handler, page key map, buttons, help, docs)
    front.py    the anywidget front-end (ES module; drawing.py draws a sample's parts, style.py the CSS)
    names.py    the short forms of a sample id (list, header, messages)
    diff.py     cell text, the word diff as segments, column-wise text comparison
"""

from .compare import compare, picks
from .labels import labels
from .preferences import preference_pairs
from .store import Store
from .viewer import show

__all__ = ["Store", "compare", "labels", "picks", "preference_pairs", "show"]
