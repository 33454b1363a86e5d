"""The content-kept code as it was before it was made faster: toolkit/mentions.py and
toolkit/content_kept.py at commit 6f7d0a9, verbatim but for the imports. The oracle:
tests/test_kept_same.py checks the new code gives the same results on varied rows, and
benchmarks/bench_signals.py times both side by side in one run. Not used by the toolkit.

One rule has changed since, on purpose: a quotation ending in a comma is dialogue, not a quoted
title (mentions._is_title; tests/test_mentions.py holds it). The rows test_kept_same.py makes
have no such quotation, so the two still agree on every row. One fix is made here too, as in
mentions.py: a text's `phrase` (where another text's quoted titles are looked for) is read from
the whole text, not the text with its own titles taken out, which lost every title a rewrite
kept in quotes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from itertools import chain

import numpy as np
import pandas as pd

from toolkit import flags
from toolkit.frame import blank, column, need_column
from toolkit.sentences import may_end, may_open

_W = r"[^\W\d_]+(?:['’][^\W\d_]+)*"  # a word: letters, with inner apostrophes ("didn't", "Fitch's")
_WORD = re.compile(_W)
_CODE = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*")
_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
_TITLE = re.compile(r"[\"“]([^\"“”\n.!?]{1,80})[\"”]")
_LIST_MARK = re.compile(r"\d+[.)]")  # "1." opening a numbered line: not a number
_EDGES = "\"'“”‘’«»()[]{}<>*_#.,;:!?…/—–-"  # stripped from a token's ends
_OPENS = tuple("\"“‘(«[")  # a token starting so opens a quotation: its word is a start
_CONTRACTION = re.compile(r"(?:n['’]t|['’](?:d|ll|re|ve|m))$")  # "didn't", "he'd": function words
_NON_WORD = re.compile(r"[\W_]+")
_THOUSANDS = re.compile(r",(?=\d{3}(?!\d))")
_KEYS: dict[str, str] = {}  # word → key
_TOKENS: dict[str, tuple] = {}  # white-space token → its mentions (a corpus has a bounded vocabulary)
MEMO = 500_000  # entries of each memo before it is emptied


@cache
def stop_words() -> frozenset:
    """scikit-learn's English stop words (imported on first use: scikit-learn is slow to import)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return ENGLISH_STOP_WORDS


@dataclass(frozen=True)
class Mentions:
    """A text's mentions by kind, each a dict key → the form written, in text order (names:
    quoted titles, then codes, then words); `keys` holds the key of every word, number and code
    of the text, stop words too."""

    numbers: dict
    names: dict
    words: dict
    keys: frozenset
    text: str = field(repr=False)

    @property
    def phrase(self) -> str:
        """The text lowercased, every run of non-word characters one space: where titles are looked for."""
        return f" {_NON_WORD.sub(' ', self.text.lower())} "

    def __len__(self) -> int:
        return len(self.numbers) + len(self.names) + len(self.words)


def key(word: str) -> str:
    """A word's compare key: lowercased, without a possessive 's and a plural s."""
    found = _KEYS.get(word)
    if found is None:
        if len(_KEYS) > MEMO:
            _KEYS.clear()
        k = word.lower().replace("’", "'")
        if k.endswith("'s"):
            k = k[:-2]
        if len(k) > 3 and k.endswith("s") and not k.endswith(("ss", "us", "is")):
            k = k[:-1]
        found = _KEYS[word] = k
    return found


def number_key(number: str) -> str:
    """"2,000" → "2000", "4.0" → "4", "1.50" → "1.5"."""
    n = _THOUSANDS.sub("", number)
    if "." in n and ":" not in n and n.count(".") == 1:
        n = n.rstrip("0").rstrip(".")
    return n


def mentions(text: str) -> Mentions:
    """The numbers, names and content words of `text` (see the module's rules)."""
    names, numbers, keys, whole = {}, {}, set(), text  # whole: where another text's titles are looked for
    if "\"" in text or "“" in text:
        for m in _TITLE.finditer(text):
            if _is_title(m.group(1)):
                title = m.group(1).strip()
                names.setdefault(_NON_WORD.sub(" ", title.lower()).strip(), title)
                keys.update(key(w) for w in _WORD.findall(title))
        if names:  # a title's words are the title's, not names or words of their own
            text = _TITLE.sub(lambda m: " " if _is_title(m.group(1)) else m.group(), text)
    tokens = text.split()
    distinct = dict.fromkeys(tokens)
    parsed = [_TOKENS.get(t) or _token(t) for t in distinct]
    keys.update(chain.from_iterable([p[0] for p in parsed]))
    words = dict(chain.from_iterable([p[1] for p in parsed]))
    special = [(t, p) for t, p in zip(distinct, parsed) if p[2]]  # a number, a code or a capital: few
    capitals, lines, marks = {}, *_lines(text)
    for token, (_, _, _, number, code, first, rest, opens, _) in special:
        if number and (not marks or any(i not in marks for i in _places(tokens, token))):
            numbers.setdefault(*number)
        elif code:
            names.setdefault(*code)
        if first and not opens and not all(_starts_at(tokens, i, lines) for i in _places(tokens, token)):
            capitals[first] = None
        capitals.update(dict.fromkeys(rest))
    for k in capitals:
        if k not in names:
            names[k] = words.pop(k)
    return Mentions(numbers, names, words, frozenset(keys), whole)


def _token(token: str) -> tuple:
    """What one white-space token holds, memoised: (keys, content words as (key, word), special?,
    number, code, the key of a capitalised first word, of capitalised later words, opens a
    quotation?, may a sentence end after it?)."""
    if len(_TOKENS) > MEMO:
        _TOKENS.clear()
    core = token.strip(_EDGES)
    number = code = first = None
    keys, content, rest = [], [], []
    found = _WORD.findall(core)
    if any(c.isdigit() for c in core):
        found = []
        if _CODE.fullmatch(core):
            code = (core.lower(), core)
            keys.append(code[0])
        elif n := _NUMBER.search(core):
            number = (number_key(n.group()), core)
            keys.append(number[0])
            found = [None] + [w for part in core.split("-")[1:] if not any(c.isdigit() for c in part)
                              for w in _WORD.findall(part)]  # "2-year": 2 and "year"
    stop = stop_words()
    for i, w in enumerate(found):
        if w is None:
            continue
        k, lower = key(w), w.lower()
        keys.append(k)
        if lower in stop or k in stop or len(k) < 2 or _CONTRACTION.search(lower):
            continue
        content.append((k, w))
        if w[0].isupper():
            if i:
                rest.append(k)
            else:
                first = k
    special = bool(number or code or first or rest)
    out = (tuple(keys), tuple(content), special, number, code, first, tuple(rest), token.startswith(_OPENS),
           may_end(token))
    _TOKENS[token] = out
    return out


def _places(tokens: list, token: str):
    """Where `token` stands in `tokens` (a list's own search, faster than a loop here)."""
    i = tokens.index(token)
    while True:
        yield i
        try:
            i = tokens.index(token, i + 1)
        except ValueError:
            return


def _starts_at(tokens: list, i: int, lines: set) -> bool:
    """Does a sentence (sentences.may_end, may_open) or a line start at token i?"""
    return i == 0 or i in lines or (_TOKENS[tokens[i - 1]][8] and may_open(tokens[i]))


def _lines(text: str) -> tuple[set, set]:
    """The token places (in text.split()) where a line of a text of several lines starts, and
    those of the "1." marks that open numbered lines (the token after a mark starts its line)."""
    starts, marks, i = set(), set(), 0
    for line in text.split("\n") if "\n" in text else ():
        head = line.split()
        if len(head) > 1 and _LIST_MARK.fullmatch(head[0]):
            marks.add(i)
            starts.add(i + 1)
        elif head:
            starts.add(i)
        i += len(head)
    return starts, marks


def _is_title(inside: str) -> bool:
    words = _WORD.findall(inside)
    return (0 < len(words) <= 8 and words[0][0].isupper()
            and all(w[0].isupper() for w in words if len(w) >= 4))


@lru_cache(maxsize=256)
def recent(text: str) -> Mentions:
    """`mentions`, remembered for the last 256 texts: a source chunk is read once for its answers."""
    return mentions(text)


def missing(a: Mentions, b: Mentions) -> tuple[list, list, list]:
    """The mentions of `a` that `b` lacks, as written in `a`: (numbers, names, words). A word,
    number or code is found by its key among `b.keys`, a title by its words in `b.phrase`."""
    keys = b.keys
    return tuple([shown for k, shown in kind.items() if k not in keys and (" " not in k or f" {k} " not in b.phrase)]
                 for kind in (a.numbers, a.names, a.words))



KINDS = ("numbers", "names", "words")


def content_kept(df: pd.DataFrame, original: str = "text", rewrite: str = "generic") -> pd.DataFrame:
    """A new frame with the lost / invented lists, `<rewrite>.kept` and `<rewrite>.content_flag`
    (see the module). Rows without both texts get empty lists, NaN and None."""
    need_column(df, original), need_column(df, rewrite)
    found = compare(zip(df[original].to_numpy(dtype=object), df[rewrite].to_numpy(dtype=object)))
    out = df.copy()
    for at, verb in ((0, "lost"), (1, "invented")):
        for k, kind in enumerate(KINDS):
            out[column(rewrite, f"{verb}_{kind}")] = pd.Series([r[at][k] if r else [] for r in found],
                                                               index=df.index, dtype=object)
    out[column(rewrite, "kept")] = np.array([r[2] if r else np.nan for r in found], dtype=float).round(4)
    measured = np.array([r is not None for r in found], dtype=bool)
    reasons = [_reason(r[0], r[1]) for r in found if r]
    out[flags.column(rewrite, "content")] = flags.values(len(df), measured, reasons, df.index)
    return out


def compare(pairs) -> list:
    """Per (original, rewrite): None when either text is blank, else (lost, invented, kept share),
    lost and invented each (numbers, names, words)."""
    out = []
    for x, y in pairs:
        if blank(x) or blank(y):
            out.append(None)
            continue
        mx, my = recent(x), recent(y)
        gone = missing(mx, my)
        out.append((gone, missing(my, mx), 1 - sum(map(len, gone)) / len(mx) if len(mx) else np.nan))
    return out


def _reason(gone, new) -> str:
    """"lost number 1938; invented names Marge, Olsen": the numbers and names only."""
    parts = []
    for verb, found in (("lost", gone), ("invented", new)):
        for kind, items in zip(("number", "name"), found[:2]):
            if items:
                parts.append(f"{verb} {kind}{'s' * (len(items) > 1)} {', '.join(items)}")
    return "; ".join(parts)
