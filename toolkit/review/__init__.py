"""The review widgets: reading a step's outputs one sample at a time, and two runs side by side.
What a reviewer decides is stored by toolkit/decisions/; this package is the UI over it.

    viewer.py   show(): the sample viewer, labels with g/b/u
    compare.py  compare(): two runs, honest counts, A/B picks (blind if asked), results()
    beside.py   what is shown beside a sample: a judge's verdict, a duplicate's original, the drop reason
    widget.py   what both widgets share: navigation, jump, filters, the message protocol
    keys.py     the one table of review keys (handler, page key map, buttons, help, docs)
    front.py    the anywidget front-end (ES module; drawing.py draws a sample's parts, style.py the CSS)
    names.py    the short forms of a sample id (list, header, messages)
    columns.py  whole columns as pane texts: same texts (a comparison's counts), search
    diff.py     the word diff as segments
    marks.py    the signals' marks in the panes: words a rewrite lost / invented, an answer's support
    bulk.py     the confirm row of "label all filtered..." (part of the front-end)
"""

from .. import moved

# Before the store had its own package these lived here: they keep working, with a warning.
_OUTPUTS = dict.fromkeys(("cell_text", "output_hash", "output_hashes", "is_stale"), "toolkit.outputs")
store = moved.module(f"{__name__}.store", "toolkit.decisions.store", _OUTPUTS)
preferences = moved.module(f"{__name__}.preferences", "toolkit.decisions.preferences", _OUTPUTS)
moved.module(f"{__name__}.labels", "toolkit.decisions.labels", _OUTPUTS)  # `labels` here is the function
__getattr__ = moved.names(__name__, {"Store": "toolkit.decisions", "labels": "toolkit.decisions",
                                     "picks": "toolkit.decisions", "preference_pairs": "toolkit.decisions"})

from .compare import compare  # noqa: E402
from .viewer import show  # noqa: E402

__all__ = ["compare", "show"]
