"""Cell text and word-level diff as segments the review widget's front-end turns into text nodes.

A segment is `[kind, text]` with kind "=" (same), "-" (only in a) or "+" (only in b). The
front-end sets each segment with `textContent`, so model text is never parsed as HTML.

But: past MAX_TOKENS tokens in a pair the diff is skipped (the texts are shown as they are), and
a span whose matching would exceed MAX_WORK is marked changed as a whole.
"""

import difflib
import json
import re
from collections import Counter

import pandas as pd

TOKEN = re.compile(r"\s+|\w+|[^\w\s]")
MAX_TOKENS = 20_000
# SequenceMatcher costs about sum(count_a[x] * count_b[x]) over the items it compares (~0.1 s per
# million); past this budget a span, say a list of a thousand "- item" lines, is marked changed
# as a whole instead of matched.
MAX_WORK = 300_000


def cell_text(value):
    """Cell value as pane text: strings as is, missing as "", parsed outputs as indented JSON."""
    if isinstance(value, str):
        return value
    if pd.api.types.is_scalar(value):
        return "" if pd.isna(value) else str(value)
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


def segments(a, b):
    """Segments for two panes, `a` with deletions marked and `b` with insertions, plus a note
    (None, or why the diff was skipped).

    Sentences are matched first and only changed ones are diffed word by word: one matcher over
    a whole 1,100-word chunk with a few edits takes ~100 ms, sentence-first ~10 ms.
    """
    ta, tb = TOKEN.findall(a), TOKEN.findall(b)
    if len(ta) + len(tb) > MAX_TOKENS:
        note = f"diff skipped: {len(ta) + len(tb):,} tokens (limit {MAX_TOKENS:,})"
        return [["=", a]], [["=", b]], note
    sa, sb = _sentences(ta), _sentences(tb)
    left, right = [], []
    for op, i1, i2, j1, j2 in _opcodes(["".join(s) for s in sa], ["".join(s) for s in sb]):
        wa, wb = _join(sa[i1:i2]), _join(sb[j1:j2])
        if op == "equal":
            _add(left, "=", "".join(wa))
            _add(right, "=", "".join(wb))
        else:
            _words(wa, wb, left, right)
    return left, right, None


def _add(parts, kind, text):
    """Append a segment, merging it into the previous one of the same kind."""
    if not text:
        return
    if parts and parts[-1][0] == kind:
        parts[-1][1] += text
    else:
        parts.append([kind, text])


def _sentences(tokens):
    """Token lists that each end at . ! ? or a line break (the last may end anywhere)."""
    out, start = [], 0
    for i, t in enumerate(tokens):
        if t in {".", "!", "?"} or "\n" in t:
            out.append(tokens[start : i + 1])
            start = i + 1
    return out + [tokens[start:]] if start < len(tokens) else out


def _join(sentences):
    return [t for s in sentences for t in s]


def _opcodes(a, b, isjunk=None):
    """SequenceMatcher opcodes, or one "replace" when matching would blow the MAX_WORK budget.

    autojunk is off: it would stop common words like "the" from ever matching.
    """
    counts = Counter(b)
    if sum(counts[x] for x in a if not (isjunk and isjunk(x))) > MAX_WORK:
        return [("replace", 0, len(a), 0, len(b))]
    return difflib.SequenceMatcher(isjunk, a, b, autojunk=False).get_opcodes()


def _words(ta, tb, left, right):
    """Append the word diff of two token lists to the pane segments.

    Whitespace is junk to the matcher, so words anchor matches and the spaces between matched
    words stay matched.
    """
    for op, i1, i2, j1, j2 in _opcodes(ta, tb, str.isspace):
        old, new = "".join(ta[i1:i2]), "".join(tb[j1:j2])
        if op == "equal":
            _add(left, "=", old)
            _add(right, "=", new)
        else:
            _add(left, "-", old)
            _add(right, "+", new)
