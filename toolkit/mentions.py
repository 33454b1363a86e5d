"""What a text mentions: its numbers, names and content words, the units the content signals compare.

    m = mentions('Fitch sold me tips for 11 years at "The Blue Anchor" near Saltings.')
    m.numbers   # {'11': '11'}
    m.names     # {'the blue anchor': 'The Blue Anchor', 'salting': 'Saltings'}
    m.words     # {'sold': 'sold', 'tip': 'tips', 'year': 'years', 'fitch': 'Fitch'}
    missing(m, mentions("He sold tips near Saltings for years."))   # what the second text lacks

- number: digits, with thousands commas, a decimal point or a colon ("2,000", "1.5", "1:15");
  compared without thousands commas and trailing decimal zeros ("2,000" = "2000", "4.0" = "4").
  Digits glued to a unit or an ordinal ("5mm", "20th") are the number.
- name: a capitalised word that is not at a sentence start (`tk.sentences`' rule; the first word
  of a line and of a quotation count as starts too) and not a stop word; a code of letters and
  digits ("K3", "TW-S5"); a quoted title (1–8 words in quotes, every word of four or more letters
  capitalised, no sentence end inside).
- content word: any other word that is not in scikit-learn's English stop-word list
  (ENGLISH_STOP_WORDS), so a name at a sentence start is a content word.

Words compare lowercased, without a possessive 's and a plural s ("Fitch's" = "Fitch",
"cartridges" = "cartridge"). A mention is found in another text when its key is any word of that
text there (a title: its words in that order).

But: surface forms only. "six months" and "6 months", "bought" and "buy", a synonym, are different
words; scikit-learn's list has known oddities (it holds "fire", "front", "system", "six").
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cache, lru_cache

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
    """A text's mentions by kind, each a dict key → the form first written, in text order; `keys`
    holds the key of every word, number and code of the text (stop words too)."""

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
    names, numbers, words, keys, capitals = {}, {}, {}, set(), set()
    if "\"" in text or "“" in text:
        for m in _TITLE.finditer(text):
            if _is_title(m.group(1)):
                title = m.group(1).strip()
                inside = _WORD.findall(title)
                names.setdefault(" ".join(w.lower() for w in inside), title)
                keys.update(key(w) for w in inside)
        if names:  # a title's words are the title's, not names or words of their own
            text = _TITLE.sub(lambda m: " " if _is_title(m.group(1)) else m.group(), text)
    starts, marks = _starts(text)
    for token, n in Counter(text.split()).items():
        number, code, token_keys, content, first, rest, opens = _TOKENS.get(token) or _token(token)
        keys.update(token_keys)
        if number and n > marks.get(token, 0):
            numbers.setdefault(*number)
        elif code:
            names.setdefault(*code)
        for k, w in content:
            words.setdefault(k, w)
        if first and not opens and n > starts.get(token, 0):
            capitals.add(first)
        capitals.update(rest)
    for k in capitals:
        if k not in names:
            names[k] = words.pop(k)
    return Mentions(numbers, names, {k: w for k, w in words.items() if k not in names}, frozenset(keys), text)


def _token(token: str) -> tuple:
    """What one white-space token holds, memoised: (number, code, keys, content words, the key of
    a capitalised first word, of capitalised later words, opens a quotation?)."""
    if len(_TOKENS) > MEMO:
        _TOKENS.clear()
    core = token.strip(_EDGES)
    number = code = first = None
    keys, content, rest = [], [], []
    if any(c.isdigit() for c in core):
        if _CODE.fullmatch(core):
            code = (core.lower(), core)
            keys.append(code[0])
        elif n := _NUMBER.search(core):
            number = (number_key(n.group()), n.group())
            keys.append(number[0])
    else:
        stop = stop_words()
        for i, w in enumerate(_WORD.findall(core)):
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
    out = _TOKENS[token] = (number, code, tuple(keys), tuple(content), first, tuple(rest), token.startswith(_OPENS))
    return out


def _starts(text: str) -> tuple[dict, dict]:
    """Counts of the tokens that start a sentence (sentences.spans) or a line of `text`, and of
    the "1." marks that open numbered lines."""
    from .sentences import spans

    first = [text[a:a + 80].split(None, 1)[0] for a, _ in spans(text)]
    marks = []
    for line in text.splitlines():
        head = line.split(None, 2)
        if head:
            if len(head) > 1 and _LIST_MARK.fullmatch(head[0]):
                marks.append(head[0])
                first.append(head[1])
            else:
                first.append(head[0])
    return Counter(first), Counter(marks)


def _is_title(inside: str) -> bool:
    words = _WORD.findall(inside)
    return (0 < len(words) <= 8 and words[0][0].isupper()
            and all(w[0].isupper() for w in words if len(w) >= 4))


def keys_of(text: str) -> frozenset:
    """The key of every word, number and code of `text`: what a mention is found by."""
    return mentions(text).keys


@lru_cache(maxsize=256)
def recent(text: str) -> Mentions:
    """`mentions`, remembered for the last 256 texts: a source chunk is read once for its answers."""
    return mentions(text)


def found(k: str, keys: frozenset, other: Mentions | None = None) -> bool:
    """Is the mention with key `k` in the text whose keys are `keys` (a title: in `other`'s phrase)?"""
    if " " in k:
        return other is not None and f" {k} " in other.phrase
    return k in keys


def missing(a: Mentions, b: Mentions) -> tuple[list, list, list]:
    """The mentions of `a` that `b` lacks, as written in `a`: (numbers, names, words)."""
    return tuple([shown for k, shown in kind.items() if not found(k, b.keys, b)]
                 for kind in (a.numbers, a.names, a.words))
