"""How the review widgets name a sample where room is short: the sample list's short ids, the
one-line header's source and id, a message's id.

A sample id is made once (frame.sample_ids); these are only its shown forms, so every form of one
id points to the same sample and its whole is always one hover away (tooltips).
"""

import os

import pandas as pd

SHORT = 24  # longest short id form in the sample list


class ShortIds:
    """The distinguishing part of each id, made when an entry is shown: after the prefix every id
    shares (cut back to a separator so "book-03-p12" does not read "3-p12"; a chunk id's
    "#<start>-<end>" keeps its "#"), its tail when still longer than SHORT. `width`: the longest."""

    def __init__(self, ids):
        self.ids = ids
        prefix = os.path.commonprefix([min(ids), max(ids)]) if len(ids) > 1 else ""
        self.cut = max(max(prefix.rfind(c) + 1 for c in "-_/:. "), prefix.rfind("#"))
        longest = int(pd.Series(ids, dtype=object).str.len().max()) if len(ids) else 0
        self.width = min(SHORT, longest - self.cut)

    def __getitem__(self, k):
        rest = self.ids[k][self.cut:]
        return rest if len(rest) <= SHORT else "\u2026" + rest[-(SHORT - 1):]


def head_id(sid, source):
    """The header's source and id fields, and the id as the header shows it: the source first
    (the page cuts a long path from its left), then the id without the source when it repeats
    it (a chunk id is "<source>#<start>-<end>"); the whole id is the part's tooltip."""
    if source and sid.startswith(source) and len(sid) > len(source):
        return [["source", source], ["id", sid]], sid[len(source):]
    return [["id", sid]] + ([["source", source]] if source else []), sid


def named(sid, most=40):
    """A sample id as a message names it: its tail when long (the message line is one line)."""
    return sid if len(sid) <= most else "\u2026" + sid[-(most - 1):]
