"""Reading a step's outputs: one sample at a time beside its source, two runs side by side.

    viewer.py   show(): the sample viewer, labels with g/b/u
    compare.py  compare(): two runs, honest counts, A/B picks; picks() as a column
    labels.py   labels.json and picks.json in the run folder; labels() as a column
    widget.py   what both widgets share: navigation, jump, filters, the message protocol
    front.py    the anywidget front-end (ES module and CSS)
    diff.py     cell text and the word diff as segments
"""

from .compare import compare, picks
from .labels import labels
from .viewer import show

__all__ = ["compare", "labels", "picks", "show"]
