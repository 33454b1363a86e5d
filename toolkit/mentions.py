"""What a text mentions: its numbers, names and content words, the units the content signals compare.

    m = mentions('Fitch sold me tips for 11 years at "The Blue Anchor" near Saltings.')
    m.numbers   # {'11': '11'}
    m.names     # {'the blue anchor': 'The Blue Anchor', 'salting': 'Saltings'}
    m.words     # {'fitch': 'Fitch', 'sold': 'sold', 'tip': 'tips', 'year': 'years', 'near': 'near'}
    missing(m, mentions("He sold tips near Saltings for years."))   # what the second text lacks

- number: digits, with thousands commas, a decimal point or a colon ("2,000", "1.5", "1:15");
  compared without thousands commas and trailing decimal zeros ("2,000" = "2000", "4.0" = "4").
  Digits glued to a unit or an ordinal ("5mm", "20th") are the number.
- name: a capitalised word that is not at a sentence start (`tk.sentences`' rule; the first word
  of a line and of a quotation count as starts too) and not a stop word; a code of letters and
  digits ("K3", "TW-S5"); a quoted title (1–8 words in quotes, every word of four or more letters
  capitalised, no sentence end inside, no comma ending it: "Found him," is dialogue).
- content word: any other word that is not in scikit-learn's English stop-word list
  (ENGLISH_STOP_WORDS) nor a contraction ("didn't", "he'd"), so a name at a sentence start is a
  content word; a hyphen splits words ("sea-wall": sea, wall; "2-year": 2, year).

Words compare lowercased, without a possessive 's and a plural s ("Fitch's" = "Fitch",
"cartridges" = "cartridge"). A mention is found in another text when its key is any word of that
text (a title: its words in that order). Each distinct white-space token is classified once and
remembered (up to MEMO tokens), which is what makes a column of rewrites cheap to read.

But: surface forms only. "six months" and "6 months", "bought" and "buy", a synonym, are different
words; scikit-learn's list has known oddities (it holds "fire", "front", "system", "six").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from itertools import chain
from operator import itemgetter

from .sentences import may_end, may_open

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
KINDS = ("numbers", "names", "words")  # a text's mentions by kind, as `missing` lists them
MEMO = 500_000  # entries of each memo before it is emptied
# The parts of a token's reading (_token) that `mentions` gathers over all of a text's tokens at once.
_CONTENT_OF, _SPECIAL_OF, _KEY_OF, _WORD_OF = itemgetter(1), itemgetter(2), itemgetter(11), itemgetter(12)


@cache
def stop_words() -> frozenset:
    """scikit-learn's English stop words (imported on first use: scikit-learn is slow to import)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return ENGLISH_STOP_WORDS


@dataclass(slots=True)
class Mentions:
    """A text's mentions by kind, each a dict key → the form written, in text order (names:
    quoted titles, then codes, then words); `keys` holds the key of every word, number and code
    of the text, stop words too. Not frozen: a frozen dataclass's __init__ costs ≈ 2 µs more, a
    few % of reading a text; nothing changes one after `mentions` made it."""

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
    names, numbers, more, whole = {}, {}, [], text  # whole: where another text's titles are looked for
    if "\"" in text or "“" in text:
        for m in _TITLE.finditer(text):
            if _is_title(m.group(1)):
                title = m.group(1).strip()
                names.setdefault(_NON_WORD.sub(" ", title.lower()).strip(), title)
                more += [key(w) for w in _WORD.findall(title)]
        if names:  # a title's words are the title's, not names or words of their own
            text = _TITLE.sub(lambda m: " " if _is_title(m.group(1)) else m.group(), text)
    tokens = text.split()
    distinct = dict.fromkeys(tokens)
    try:  # map and filter: loops in C, not per token here
        parsed = list(map(_TOKENS.__getitem__, distinct))
    except KeyError:
        parsed = [_TOKENS.get(t) or _token(t) for t in distinct]
    # Most tokens hold one key and at most one content word: read so, keys and words are one loop in
    # C each, with no iterator per token (the two: 9.4 → 5.2 µs a text in timeit); a token holding no
    # key, several keys or several content words is `odd`, so special, and the loop below mends them.
    keys = frozenset(map(_KEY_OF, parsed))
    words = dict(filter(None, map(_WORD_OF, parsed)))
    capitals, (lines, marks) = {}, _lines(text)
    for all_keys, content, _, number, code, first, rest, opens, _, opener, odd, _, _, token in filter(
            _SPECIAL_OF, parsed):
        if number and (not marks or any(i not in marks for i in _places(tokens, token))):
            numbers.setdefault(*number)
        elif code:
            names.setdefault(*code)
        if first and not opens:  # a name if it stands once off a sentence's or a line's start
            i = tokens.index(token)  # most stand off a start the first time: no count of the rest then
            start = not i or i in lines or opener and _ends(tokens[i - 1])
            for _ in range(tokens.count(token) - 1 if start else 0):
                i = tokens.index(token, i + 1)
                start = i in lines or opener and _ends(tokens[i - 1])
                if not start:
                    break
            if not start:
                capitals[first] = None
        if rest:
            capitals.update(dict.fromkeys(rest))
        if odd:
            more += all_keys[1:] if all_keys else (None,)
            if len(content) > 1:  # the words again, in the order a token's several content words give
                words = None
    if more:
        keys = keys.union(more).difference((None,))
    if words is None:
        words = dict(chain.from_iterable(map(_CONTENT_OF, parsed)))
    for k in capitals:
        if k not in names:
            names[k] = words.pop(k)
    return Mentions(numbers, names, words, keys, whole)


def _token(token: str) -> tuple:
    """What one white-space token holds, memoised: (keys, content words as (key, word), special?,
    number, code, the key of a capitalised first word, of capitalised later words, opens a
    quotation?, may a sentence end after it?, may it open one?, odd: no key, several, or several
    content words?, its first key and its first content word (None for none), the token itself)."""
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
    odd = len(keys) != 1 or len(content) > 1
    special = bool(number or code or first or rest or odd)
    out = (tuple(keys), tuple(content), special, number, code, first, tuple(rest), token.startswith(_OPENS),
           may_end(token), may_open(token), odd, keys[0] if keys else None, content[0] if content else None, token)
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


def _ends(token: str) -> bool:
    """May a sentence end after `token` (sentences.may_end, memoised with the token's reading)?"""
    return (_TOKENS.get(token) or _token(token))[8]


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
    """Quoted words read as a title; a quotation that ends in a comma is a line of dialogue
    ("Fifty a day," he said), which fiction is full of, not a title."""
    words = _WORD.findall(inside)
    return (0 < len(words) <= 8 and words[0][0].isupper() and not inside.rstrip().endswith(",")
            and all(w[0].isupper() for w in words if len(w) >= 4))


@lru_cache(maxsize=256)
def recent(text: str) -> Mentions:
    """`mentions`, remembered for the last 256 texts: a source chunk is read once for its answers."""
    return mentions(text)


def places(text: str, listed) -> list[tuple[int, int]]:
    """Where the mentions `listed` stand in `text`: (start, end) of every word, number, code and
    quoted title that `mentions(text)` read as one of them, in text order. `listed` is (numbers,
    names, words) as written, as content_kept and grounding list a text's lost, invented or
    unsupported mentions; a listed form stands for its key, so every form of it is found ("tips"
    for "tip"), while a list mark ("1." opening a line) and a title's words (a title counts whole)
    are not numbers and words of their own. What the viewer marks."""
    if not any(listed):
        return []
    m = recent(text)
    keys = {k for kind, items in zip((m.numbers, m.names, m.words), listed) for k, shown in kind.items()
            if shown in items}
    if not keys:
        return []
    out, blanked = [], text
    if "\"" in text or "“" in text:
        found = [t for t in _TITLE.finditer(text) if _is_title(t.group(1))]
        for t in found:
            inside = t.group(1).strip()
            if _NON_WORD.sub(" ", inside.lower()).strip() in keys:
                start = t.start(1) + t.group(1).index(inside)
                out.append((start, start + len(inside)))
        for t in found:  # mentions() reads the text without its titles: the same tokens here, in place
            blanked = blanked[:t.start()] + " " * (t.end() - t.start()) + blanked[t.end():]
    marks, hits = _lines(blanked)[1], {}
    for token in dict.fromkeys(blanked.split()):  # each distinct token once: most hold no listed key
        parsed = _TOKENS.get(token) or _token(token)
        if not keys.isdisjoint(parsed[0]):
            hits[token] = parsed
    for i, t in enumerate(re.finditer(r"\S+", blanked)):
        token = t.group()
        parsed = hits.get(token)
        if parsed is None:
            continue
        core = token.strip(_EDGES)
        at = t.start() + len(token) - len(token.lstrip(_EDGES))
        words = _WORD.finditer(core)
        if parsed[4]:  # a code: the whole of it
            out.append((at, at + len(core)))
            continue
        if parsed[3]:  # a number as written ("5mm", not a list mark), then the words after a hyphen
            if parsed[3][0] in keys and i not in marks:
                out.append((at, at + len(core.split("-")[0])))
            words = [w for part in re.finditer(r"-([^-]*)", core) if not any(c.isdigit() for c in part.group(1))
                     for w in _WORD.finditer(core, part.start(1), part.end(1))]
        elif any(c.isdigit() for c in core):
            continue
        out.extend((at + w.start(), at + w.end()) for w in words if key(w.group()) in keys)
    return sorted(out)


def missing(a: Mentions, b: Mentions) -> tuple[list, list, list]:
    """The mentions of `a` that `b` lacks, as written in `a`: (numbers, names, words). A word,
    number or code is found by its key among `b.keys`, a title by its words in `b.phrase`."""
    keys = b.keys  # most of a kind is often found: issuperset (in C) says all is, before a list is built
    return ([] if keys.issuperset(a.numbers) else [shown for k, shown in a.numbers.items() if k not in keys],
            [] if keys.issuperset(a.names) else  # only a title's key holds a space
            [shown for k, shown in a.names.items() if k not in keys and (" " not in k or f" {k} " not in b.phrase)],
            [] if keys.issuperset(a.words) else [shown for k, shown in a.words.items() if k not in keys])
