"""Sentence ends that a full stop inside a number, a unit or an abbreviation does not fake.

    tk.sentences("The feed pressure must be between 1.0 and 4.0 bar. Check it daily.")
    # ['The feed pressure must be between 1.0 and 4.0 bar.', 'Check it daily.']

A sentence ends at . ! ? or … (and any closing quote or bracket after it) followed by white space
and then a capital letter, an opening quote or bracket, or the end of the text. So "1.0 bar" (no
space after the point), "e.g. the pump" (small letter next) and "No. 3" (a digit next) stay inside
one sentence; a known abbreviation ("e.g.", "Dr.", "approx.", "Fig.") or a single initial ("J. Smith")
never ends one, whatever follows.

But: a rule, not a model. An abbreviation missing from ABBREVIATIONS that is followed by a capital
("the Acme Corp. Model 7") ends a sentence; the chunker keeps its own simpler rule (it only needs
good places to cut, and its chunks must not move).
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

_END = re.compile(r"""[.!?…]+["'”’»)\]]*(?=\s+["'“‘«(\[]?[A-Z]|\s*$)""")
_WORD_BEFORE = re.compile(r"(\S+)$")


def sentences(text: str) -> list[str]:
    """The sentences of `text`, stripped, in order (a text without an end mark is one sentence)."""
    out, start = [], 0
    for m in _END.finditer(text):
        if m.group().startswith(".") and _abbreviation(text[start:m.start()]):
            continue
        piece = text[start:m.end()].strip()
        if piece:
            out.append(piece)
        start = m.end()
    rest = text[start:].strip()
    return [*out, rest] if rest else out


def _abbreviation(before: str) -> bool:
    """Does the word just before a full stop make it an abbreviation's ("e.g", "No", "J")?"""
    word = _WORD_BEFORE.search(before)
    if word is None:
        return False
    word = word.group(1).lstrip("\"'“‘«([").lower()
    return word in ABBREVIATIONS or (len(word) == 1 and word.isalpha())
