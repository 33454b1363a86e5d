"""Sentence ends that a full stop inside a number, a unit or an abbreviation does not fake.

    tk.sentences("The feed pressure must be between 1.0 and 4.0 bar. Check it daily.")
    # ['The feed pressure must be between 1.0 and 4.0 bar.', 'Check it daily.']

A sentence ends at . ! ? or … (and any closing quote or bracket after it) followed by white space
and then a capital letter, an opening quote or bracket, or the end of the text. So "1.0 bar" (no
space after the point), "e.g. the pump" (small letter next) and "No. 3" (a digit next) stay inside
one sentence; a known abbreviation ("e.g.", "Dr.", "approx.", "Fig.") or a single initial ("J. Smith")
never ends one, whatever follows.

This module is the one home of where sentences end. `sentences` and `spans` follow the rule
above. CUT is its loose form, a place a text may be cut between sentences: an end mark, at most
one closing quote or bracket, then white space, whatever follows. The chunker cuts there (a
chunk's id is its offsets and the decisions made on it are keyed by that id, so its places must
not move when the careful rule grows) and the review diff aligns two texts there. `may_end` and
`may_open` state the careful rule for one white-space token (`text.split()`): a sentence starts at
a text's first token and at each token that `may_open` right after one that `may_end` (where
`spans` starts its sentences; tests/test_sentences.py checks the two agree).

But: a rule, not a model. An abbreviation missing from ABBREVIATIONS that is followed by a capital
("the Acme Corp. Model 7") ends a sentence.
"""

from __future__ import annotations

import re

# Lower-cased, without their last full stop. Titles and Latin first, then what manuals use.
ABBREVIATIONS = frozenset("""
    mr mrs ms dr prof st jr sr vs etc e.g i.e cf al approx ca resp incl excl esp viz
    no nos fig figs eq eqs vol vols ch sec pp p para ref refs art min max avg std
    jan feb mar apr jun jul aug sep sept oct nov dec mon tue wed thu fri sat sun
    inc ltd co corp dept est
""".split())

_MARKS = r"""[.!?…]+["'”’»)\]]*"""  # end marks, then any closing quotes or brackets
_OPENS = r"""["'“‘«(\[]?[A-Z]"""  # what a sentence opens with: a capital, perhaps after a quote or bracket
_SPACE = re.compile(r"\s*")
_END = re.compile(rf"{_MARKS}(?=\s+{_OPENS}|\s*\Z)")
_TOKEN_END = re.compile(rf"{_MARKS}\Z")
_TOKEN_OPENS = re.compile(_OPENS)
# Where the chunker may cut a paragraph (group 1, the white space): the loose form, see above.
CUT = re.compile(r"[.!?…][\"'”’»)\]]?(\s+)")


def sentences(text: str) -> list[str]:
    """The sentences of `text`, stripped, in order (a text without an end mark is one sentence)."""
    return [text[a:b] for a, b in spans(text)]


def spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text` in it, white space around a sentence left out."""
    out, start = [], 0
    for m in _END.finditer(text):
        if m.group().startswith(".") and _abbreviation(text, start, m.start()):
            continue
        a = _SPACE.match(text, start).end()
        if a < m.end():
            out.append((a, m.end()))
        start = m.end()
    a, b = _SPACE.match(text, start).end(), len(text.rstrip())
    return [*out, (a, b)] if a < b else out


def may_end(token: str) -> bool:
    """Does a sentence end after the white-space token `token` if the next one `may_open`? It ends
    in end marks (and closing quotes) that are not an abbreviation's or an initial's full stop."""
    m = _TOKEN_END.search(token)
    return m is not None and not (m.group().startswith(".") and _abbreviation(token, 0, m.start()))


def may_open(token: str) -> bool:
    """Can the white-space token `token` open a sentence (a capital, perhaps after a quote or bracket)?"""
    return _TOKEN_OPENS.match(token) is not None


def _abbreviation(text: str, start: int, end: int) -> bool:
    """Does the word just before the full stop at `end` make it an abbreviation's ("e.g", "No", "J")?"""
    i = end
    while i > start and not text[i - 1].isspace():
        i -= 1
    word = text[i:end].lstrip("\"'“‘«([").lower()
    return word in ABBREVIATIONS or (len(word) == 1 and word.isalpha())
