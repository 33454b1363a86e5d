"""Word-level diff as segments the review widget's front-end turns into text nodes.

A segment is `[kind, text]` with kind "=" (same), "-" (only in a) or "+" (only in b). The
front-end sets each segment with `textContent`, so model text is never parsed as HTML.

The diff is diff-match-patch's shortest edit script (Myers) over tokens: words, runs of
whitespace and single punctuation marks, each token mapped to one character (its lines-to-chars
trick), no cleanup pass. A shortest script keeps matched tokens beside their matched neighbours,
so a repeated word or a comma pairs with the copy next to it and a one-word substitution is
exactly one deletion and one insertion. difflib's longest-block-first matching has no such bound
(with whitespace as junk it paired repeats with far-off copies: 58 words marked for 11 changed).
fast-diff-match-patch is the library's C++ build, ~3x faster here than its pure-Python one.
Texts are matched sentence by sentence first (where sentences.py says a text may be cut between
sentences, and at line breaks), then only the changed stretches token by token.

But: past MAX_TOKENS tokens in a pair the diff is skipped (the texts are shown as they are), and
a changed stretch whose script could cost more than MAX_WORK is diffed sentence against sentence
in order, or, when it is one sentence, marked changed between its common ends.
"""

import functools
import re

import fast_diff_match_patch

from .. import moved
from ..sentences import CUT

__getattr__ = moved.names(__name__, {"cell_text": "toolkit.outputs"})

TOKEN = re.compile(r"\s+|\w+|[^\w\s]")
MAX_TOKENS = 20_000
# The script over n + m tokens costs at most about n * m steps (a few ns each): ~20 ms at this.
MAX_WORK = 5_000_000


@functools.lru_cache(maxsize=16)
def segments(a, b):
    """Segments for two panes, `a` with deletions marked and `b` with insertions, plus a note
    (None, or why the diff was skipped). Joining a side's segment texts gives back its text.
    The last pairs are kept, so a sample prefetched and then shown is diffed once (its lists are
    shared: read them, never change them)."""
    ta, tb = TOKEN.findall(a), TOKEN.findall(b)
    if len(ta) + len(tb) > MAX_TOKENS:
        note = f"diff skipped: {len(ta) + len(tb):,} tokens (limit {MAX_TOKENS:,})"
        return [["=", a]], [["=", b]], note
    sa, sb = _sentences(ta), _sentences(tb)
    left, right = [], []
    gone, new = [], []  # the sentences of the changed stretch being gathered
    for op, items in _script(["".join(s) for s in sa], ["".join(s) for s in sb], sa, sb):
        if op == "=":
            _stretch(gone, new, left, right)
            gone, new = [], []
            text = "".join(t for s in items for t in s)
            _add(left, "=", text)
            _add(right, "=", text)
        else:
            (gone if op == "-" else new).extend(items)
    _stretch(gone, new, left, right)
    return left, right, None


def _script(a, b, items_a=None, items_b=None):
    """(kind, items) runs of the shortest edit script between two lists of strings; the items
    are taken from `items_a` / `items_b` (default: the strings themselves)."""
    items_a, items_b = items_a or a, items_b or b
    codes = {}
    ca = "".join([chr(codes.setdefault(x, len(codes) + 1)) for x in a])
    cb = "".join([chr(codes.setdefault(x, len(codes) + 1)) for x in b])
    i = j = 0
    # timelimit=0: no deadline, so the same texts always give the same segments
    for op, n in fast_diff_match_patch.diff(ca, cb, timelimit=0, checklines=False, cleanup="No"):
        if op == "=":
            yield "=", items_a[i : i + n]
            i, j = i + n, j + n
        elif op == "-":
            yield "-", items_a[i : i + n]
            i += n
        else:
            yield "+", items_b[j : j + n]
            j += n


def _stretch(gone, new, left, right):
    """Token diff of a changed stretch (sentences only in a, only in b) into the pane segments."""
    ta, tb = [t for s in gone for t in s], [t for s in new for t in s]
    head = 0
    while head < min(len(ta), len(tb)) and ta[head] == tb[head]:
        head += 1
    tail = 0
    while tail < min(len(ta), len(tb)) - head and ta[-1 - tail] == tb[-1 - tail]:
        tail += 1
    if (len(ta) - head - tail) * (len(tb) - head - tail) <= MAX_WORK:
        runs = _script(ta, tb)
    elif len(gone) > 1 and len(new) > 1:
        for k in range(max(len(gone), len(new))):
            _stretch(gone[k : k + 1], new[k : k + 1], left, right)
        return
    else:
        runs = [("=", ta[:head]), ("-", ta[head : len(ta) - tail]), ("+", tb[head : len(tb) - tail]),
                ("=", ta[len(ta) - tail :])]
    for op, items in runs:
        text = "".join(items)
        if op != "+":
            _add(left, op, text)
        if op != "-":
            _add(right, op, text)


def _add(parts, kind, text):
    """Append a segment, merging it into the previous one of the same kind."""
    if not text:
        return
    if parts and parts[-1][0] == kind:
        parts[-1][1] += text
    else:
        parts.append([kind, text])


def _sentences(tokens):
    """Token lists that each end where a sentence may end (sentences.CUT, the places the chunker
    cuts too: good places to align, whatever follows) or at a line break (the last may end
    anywhere)."""
    ends = {gap.start(1) for gap in CUT.finditer("".join(tokens))}
    out, start, at = [], 0, 0
    for i, t in enumerate(tokens):
        at += len(t)
        if at in ends or "\n" in t:
            out.append(tokens[start : i + 1])
            start = i + 1
    return out + [tokens[start:]] if start < len(tokens) else out
