"""Word-level diff rendered as escaped HTML, for the sample viewers.

Every token of model or file text goes through `html.escape` here: `ipywidgets.HTML` sets
`innerHTML`, so an unescaped `<img onerror=...>` in a sample would run in the notebook.
"""

import difflib
import html
import re
from collections import Counter

TOKEN = re.compile(r"\s+|\w+|[^\w\s]")
MAX_TOKENS = 20_000
# SequenceMatcher costs about sum(count_a[x] * count_b[x]) over the items it compares (~0.1 s per
# million); past this budget a span, say a list of a thousand "- item" lines, is marked changed
# as a whole instead of matched.
MAX_WORK = 300_000

PANE = ('<div style="white-space:pre-wrap;word-break:break-word;font-family:monospace;font-size:12px">'
        "{}</div>")
INS = '<ins style="background:#c8f0c8;text-decoration:none">{}</ins>'
DEL = '<del style="background:#f8c8c8">{}</del>'
NOTE = '<div style="color:#888;font-style:italic;margin-bottom:4px">{}</div>'


def plain(text, note=None):
    """Escaped text in a whitespace-preserving block, with an optional italic note above."""
    head = NOTE.format(html.escape(note)) if note else ""
    return head + PANE.format(html.escape(text))


def diff(a, b):
    """HTML for two panes: `a` with deletions marked, `b` with insertions marked.

    Sentences are matched first and only changed ones are diffed word by word: one matcher over
    a whole 1,100-word chunk with a few edits takes ~100 ms, sentence-first ~10 ms.
    """
    ta, tb = TOKEN.findall(a), TOKEN.findall(b)
    if len(ta) + len(tb) > MAX_TOKENS:
        note = f"diff skipped: {len(ta) + len(tb):,} tokens (limit {MAX_TOKENS:,})"
        return plain(a, note), plain(b, note)
    sa, sb = _sentences(ta), _sentences(tb)
    left, right = [], []
    for op, i1, i2, j1, j2 in _opcodes(["".join(s) for s in sa], ["".join(s) for s in sb]):
        wa, wb = _join(sa[i1:i2]), _join(sb[j1:j2])
        if op == "equal":
            left.append(html.escape("".join(wa)))
            right.append(html.escape("".join(wb)))
        else:
            _words(wa, wb, left, right)
    return PANE.format("".join(left)), PANE.format("".join(right))


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
    """Append the word diff of two token lists to the pane parts.

    Whitespace is junk to the matcher, so words anchor matches and the spaces between matched
    words stay matched.
    """
    for op, i1, i2, j1, j2 in _opcodes(ta, tb, str.isspace):
        old, new = html.escape("".join(ta[i1:i2])), html.escape("".join(tb[j1:j2]))
        if op == "equal":
            left.append(old)
            right.append(new)
            continue
        if old:
            left.append(DEL.format(old))
        if new:
            right.append(INS.format(new))
