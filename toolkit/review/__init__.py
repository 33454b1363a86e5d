"""Reading a step's outputs: one sample at a time beside its source, two runs side by side.

    viewer.py   show(): the sample viewer, with labels
    diff.py     word diff as escaped HTML
"""

from .viewer import compare, labels, show

__all__ = ["show", "compare", "labels"]
