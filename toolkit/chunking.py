"""Chunk documents into pieces of at most `max_tokens` tokens, with exact offsets and stable ids.

Chunks pack whole paragraphs. Only a piece that cannot fit alone is split finer: a paragraph at
sentence ends, a sentence at line breaks, a line at spaces, a run without spaces at token
boundaries, so no chunk exceeds the limit whatever the input. A chunk is `text[start:end]` of its
document exactly, and its id is made of source and offsets, so reruns, caches and resumes line up.

Speed: a piece is counted once, from the start of its line (indentation included), together with
the whitespace after it when the next piece starts a line (indented code too). tiktoken's
pre-tokenizer never joins a newline with the character after it (o200k's one exception is "/"), so
counts add up exactly across such a line start, and a chunk of whole paragraphs costs one more
encode: its last paragraph without the blank lines after it (and its first, if indented). Where counts
do not add up (sentences within a line, a counting function) a chunk is checked by encoding it.
tests/test_chunking.py checks the addition claim.

But: counts are a tiktoken encoding's (cl100k_base by default), not the target model's own
tokenizer; pass `tokenizer=` a function when the exact count matters.
"""

from __future__ import annotations

import functools
import importlib.util
import numbers
import os
import re
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from .sentences import CUT

COLUMNS = [
    "chunk_id", "source", "position", "start", "end", "text", "tokens", "tokenizer",
    "starts_mid_sentence", "ends_mid_sentence", "starts_mid_paragraph", "ends_mid_paragraph",
]
_DTYPES = {"position": "int64", "start": "int64", "end": "int64", "tokens": "int64",
           "starts_mid_sentence": "bool", "ends_mid_sentence": "bool",
           "starts_mid_paragraph": "bool", "ends_mid_paragraph": "bool"}

# The gaps (group 1) a piece is split at, coarse to fine: blank lines, sentence ends (where
# sentences.py says a cut may fall), line breaks (lists, tables, code), spaces.
_GAPS = [
    re.compile(r"(\n\s*\n)"),
    CUT,
    re.compile(r"(\s*\n\s*)"),
    re.compile(r"(\s+)"),
]
_CUT = len(_GAPS)  # the level of pieces cut from a run without spaces
_MAX_CHARS_PER_TOKEN = 64  # characters per allowed token looked at when cutting a run: more than any token holds
_LONG = 8  # a piece over max_tokens * _LONG characters is split before it is counted (see _presplit)
_TINY = 4  # a document's last chunk under max_tokens / _TINY takes pieces from the chunk before
_HUGE = 100_000  # a piece over this many characters is split into runs of parts, not parts (see _runs)
_LAST_GAPS = [re.compile(r".*" + gap.pattern, re.DOTALL) for gap in _GAPS]  # the last gap in a window
_SPACE = re.compile(r"\s*")
_TOKEN_BYTES = 128  # no token of cl100k_base or o200k_base spans more bytes (so more characters)


def chunk(
    df: pd.DataFrame, max_tokens: int = 1500, tokenizer: str | Callable[[str], int] = "cl100k_base"
) -> pd.DataFrame:
    """One row per chunk of each document in `df` (from `load_texts`: needs `source` and `text`).

    `tokenizer` is a tiktoken encoding name ("cl100k_base" and "o200k_base" work offline) or a
    function text -> token count; the `tokenizer` column names it. Columns: `chunk_id`
    ("<source>#<start>-<end>"), `source`, `position` (0-based in its document), `start`, `end`
    (`text[start:end]` of the document is the chunk), `text`, `tokens`, `tokenizer`,
    `starts_mid_sentence`, `ends_mid_sentence` (a paragraph end counts as a sentence end, a line
    break or space inside a paragraph does not), `starts_mid_paragraph`, `ends_mid_paragraph`
    (a chunk that begins or stops inside a paragraph reads abruptly: a cue for a "bookends" step).
    Documents without text give no chunks. `df` is not modified.
    """
    missing = [column for column in ("source", "text") if column not in df.columns]
    if missing:
        raise ValueError(
            f"chunk() needs columns 'source' and 'text' (as load_texts returns); "
            f"missing {missing}, have {list(df.columns)}."
        )
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, numbers.Integral) or max_tokens < 1:
        raise ValueError(f"max_tokens must be a positive int, got {max_tokens!r}.")
    duplicated = sorted(set(df["source"][df["source"].duplicated()]))
    if duplicated:
        raise ValueError(
            f"chunk ids are made from source and offsets, so sources must be unique; "
            f"repeated: {duplicated[:5]}."
        )
    counter = _Tiktoken(tokenizer) if isinstance(tokenizer, str) else _Function(tokenizer)
    rows = []
    for row, (source, text) in enumerate(zip(df["source"], df["text"])):
        if not isinstance(text, str):
            raise ValueError(f"row {row} (source {source!r}): text is {type(text).__name__}, expected str.")
        spans = _Packer(text, max_tokens, counter).chunks()
        for position, (start, end, tokens, clean_start, clean_end) in enumerate(spans):
            rows.append((f"{source}#{start}-{end}", source, position, start, end, text[start:end], tokens,
                         counter.name, not clean_start, not clean_end,
                         not _paragraph_edge(text, start, -1), not _paragraph_edge(text, end, 1)))
    return pd.DataFrame(rows, columns=COLUMNS).astype(_DTYPES)


def _paragraph_edge(text: str, i: int, direction: int) -> bool:
    """Whether the whitespace before (direction -1) or after (+1) offset i holds a blank line or
    reaches the document's edge."""
    j = i
    while 0 < j if direction < 0 else j < len(text):
        if not text[j - 1 if direction < 0 else j].isspace():
            break
        j += direction
    gap = text[j:i] if direction < 0 else text[i:j]
    return j in (0, len(text)) or gap.count("\n") >= 2


@functools.cache
def _encoding(name: str):
    """A tiktoken encoding read from the copy inside litellm, so it loads offline; litellm itself
    is not imported (that takes seconds)."""
    spec = importlib.util.find_spec("litellm")
    if spec and spec.submodule_search_locations:
        tokenizers = os.path.join(spec.submodule_search_locations[0], "litellm_core_utils", "tokenizers")
        os.environ.setdefault("TIKTOKEN_CACHE_DIR", tokenizers)
    import tiktoken

    return tiktoken.get_encoding(name)


class _Tiktoken:
    """Counts with a tiktoken encoding; counts add up across line starts (see the module docstring)."""

    additive = True

    def __init__(self, name: str):
        self.name = name
        self._encoding = _encoding(name)

    def count(self, text: str) -> int:
        return len(self._encoding.encode_ordinary(text))

    def fit(self, text: str, limit: int) -> tuple[int, int]:
        """(characters, tokens) of the longest prefix of `text` ending at a token boundary that fits."""
        tokens = self._encoding.encode_ordinary(text)
        if len(tokens) <= limit:
            return len(text), len(tokens)
        for n in range(limit, 0, -1):  # a prefix can re-encode to more tokens: back off until it fits
            chars = len(self._encoding.decode_bytes(tokens[:n]).decode("utf-8", "ignore"))
            if chars and (count := self.count(text[:chars])) <= limit:
                return chars, count
        return 0, 0


class _Function:
    """Counts with the user's function text -> int, named by its __name__."""

    additive = False

    def __init__(self, function: Callable[[str], int]):
        if not callable(function):
            raise TypeError(
                f"tokenizer must be a tiktoken encoding name or a function text -> int, got {function!r}."
            )
        self.name = getattr(function, "__name__", type(function).__name__)
        self._function = function

    def count(self, text: str) -> int:
        return int(self._function(text))

    def fit(self, text: str, limit: int) -> tuple[int, int]:
        """(characters, tokens) of the longest prefix that fits, by bisection (counts grow with length)."""
        fits, fits_count, over = 0, 0, len(text) + 1
        while over - fits > 1:
            middle = (fits + over) // 2
            if (count := self.count(text[:middle])) <= limit:
                fits, fits_count = middle, count
            else:
                over = middle
        return fits, fits_count


@dataclass
class _Piece:
    """A span of the document that is never split unless it cannot fit in a chunk alone."""

    start: int
    end: int
    level: int  # index into _GAPS of the split that made it, or _CUT
    clean_start: bool  # begins at a sentence start
    clean_end: bool  # ends at a sentence end
    tokens: int | None = None  # tokens in text[start:end], counted when first needed
    through: int | None = None  # tokens from start to the next piece's start, when they add up exactly


def _split(
    text: str, start: int, end: int, level: int, clean_start: bool, clean_end: bool
) -> list[_Piece]:
    """The non-blank spans of text[start:end] between the gaps of `level`, trimmed of whitespace."""
    spans, position = [], start
    for gap in _GAPS[level].finditer(text, start, end):
        spans.append((position, gap.start(1)))
        position = gap.end(1)
    spans.append((position, end))
    clean = level < 2  # paragraph and sentence gaps are sentence boundaries, lines and spaces not
    pieces = []
    for span_start, span_end in spans:
        span = text[span_start:span_end]
        body = span.strip()
        if body:
            piece_start = span_start + len(span) - len(span.lstrip())
            pieces.append(_Piece(piece_start, piece_start + len(body), level, clean, clean))
    pieces[0].clean_start, pieces[-1].clean_end = clean_start, clean_end
    return pieces


class _Packer:
    """Greedy packing of one document's pieces into chunks, splitting a piece only when it must."""

    def __init__(self, text: str, limit: int, counter: _Tiktoken | _Function):
        self.text, self.limit, self.counter = text, limit, counter
        paragraphs = _split(text, 0, len(text), 0, True, True) if text.strip() else []
        self.pieces = [part for paragraph in paragraphs for part in self._presplit(paragraph)]
        self._link(0, len(self.pieces))

    def chunks(self) -> list[tuple[int, int, int, bool, bool]]:
        """(start, end, tokens, clean_start, clean_end) of each chunk, in document order."""
        chunks = []
        for i, j, tokens in self._even_out(self._pack()):
            first, last = self.pieces[i], self.pieces[j]
            chunks.append((first.start, last.end, tokens, first.clean_start, last.clean_end))
        return chunks

    def _pack(self) -> list[tuple[int, int, int]]:
        """(first piece, last piece, tokens) of each chunk: as many pieces as fit, checked exactly."""
        groups, pieces, i = [], self.pieces, 0
        while i < len(pieces):
            j, total = i, self._estimate(pieces[i])
            while j + 1 < len(pieces) and total + (step := self._estimate(pieces[j + 1])) <= self.limit:
                j, total = j + 1, total + step
            # A single piece over the limit by its estimate is split finer without an exact count,
            # unless it was cut from a run: those fit by construction (their estimate may add a gap).
            tokens = self._exact(i, j) if total <= self.limit or pieces[i].level == _CUT else total
            while tokens > self.limit and j > i:  # the estimate was low: drop pieces worth the excess
                excess = tokens - self.limit
                while j > i and excess > 0:
                    excess, j = excess - self._estimate(pieces[j]), j - 1
                tokens = self._exact(i, j)
            if tokens > self.limit:  # one piece that does not fit alone: split it finer, pack again
                children = self._split_finer(pieces[i])
                pieces[i : i + 1] = children
                self._link(i, i + len(children))
                continue
            groups.append((i, j, tokens))
            i = j + 1
        return groups

    def _even_out(self, groups: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
        """A tiny last chunk is merged into the chunk before when that fits (packing leaves this rare),
        else takes pieces from it until the two are about even."""
        if len(groups) < 2 or groups[-1][2] * _TINY >= self.limit:
            return groups
        (first, _, _), (boundary, last, _) = groups[-2:]
        if (merged := self._exact(first, last)) <= self.limit:
            return groups[:-2] + [(first, last, merged)]
        head = sum(self._estimate(piece) for piece in self.pieces[first:boundary])
        tail = sum(self._estimate(piece) for piece in self.pieces[boundary : last + 1])
        while boundary - 1 > first:
            moved = self._estimate(self.pieces[boundary - 1])
            if tail + moved > head - moved:
                break
            boundary, head, tail = boundary - 1, head - moved, tail + moved
        if boundary == groups[-1][0]:
            return groups
        head, tail = self._exact(first, boundary - 1), self._exact(boundary, last)
        if max(head, tail) > self.limit:
            return groups
        return groups[:-2] + [(first, boundary - 1, head), (boundary, last, tail)]

    def _link(self, first: int, stop: int) -> None:
        """Count pieces[first:stop] through to the next piece where counts add up across the join:
        from the start of the piece's line (its indentation included) to the next piece's line."""
        if not self.counter.additive:
            return
        for piece, after in zip(self.pieces[first:stop], self.pieces[first + 1 : stop + 1]):
            line = self._line(after)
            if (piece.through is None and line > piece.end and self.text[line - 1] == "\n"
                    and self.text[line] != "/" and not self._surely_over(piece)):
                piece.through = self.counter.count(self.text[self._line(piece) : line])

    def _line(self, piece: _Piece) -> int:
        """Where the piece's line starts when only spaces or tabs come before it there (indented
        code), else where the piece starts."""
        i = piece.start
        while i > 0 and self.text[i - 1] in " \t":
            i -= 1
        return i if i < piece.start and (i == 0 or self.text[i - 1] == "\n") else piece.start

    def _surely_over(self, piece: _Piece) -> bool:
        """Too many characters to be within the limit: counting, say, 50 MB without a space (one
        pre-token to tiktoken) would take minutes only to learn it must be split."""
        return isinstance(self.counter, _Tiktoken) and piece.end - piece.start > self.limit * _TOKEN_BYTES

    def _tokens(self, piece: _Piece) -> int:
        if piece.tokens is None and self._surely_over(piece):
            return self.limit + 1  # not stored: only ever compared with the limit, then split
        if piece.tokens is None:
            piece.tokens = self.counter.count(self.text[piece.start : piece.end])
        return piece.tokens

    def _estimate(self, piece: _Piece) -> int:
        """What the piece adds to a chunk it does not end: exact when the next piece starts a line."""
        return self._tokens(piece) if piece.through is None else piece.through

    def _exact(self, i: int, j: int) -> int:
        """Tokens in the text from piece i to piece j: added up when every join allows it, else encoded.
        Counts run from line starts, so an indented first piece is counted without its indentation
        (the chunk starts at the piece) and an indented last piece with it."""
        first, last, inner = self.pieces[i], self.pieces[j], self.pieces[i:j]
        if i == j or not all(piece.through is not None for piece in inner):
            return self._tokens(first) if i == j else self.counter.count(self.text[first.start : last.end])
        head = (first.through if self._line(first) == first.start
                else self.counter.count(self.text[first.start : self._line(self.pieces[i + 1])]))
        tail = self._tokens(last) if self._line(last) == last.start else \
            self.counter.count(self.text[self._line(last) : last.end])
        return head + sum(piece.through for piece in inner[1:]) + tail

    def _split_finer(self, piece: _Piece) -> list[_Piece]:
        """The piece's parts one level finer (and finer still where a part is far too long)."""
        if piece.level == _CUT - 1:
            return self._cut(piece)
        level = piece.level + 1
        if piece.end - piece.start > max(self.limit * _LONG, _HUGE):
            return [part for run in self._runs(piece, level) for part in self._presplit(run)]
        children = _split(self.text, piece.start, piece.end, level, piece.clean_start, piece.clean_end)
        if len(children) == 1:  # e.g. a paragraph of one sentence: same span, same counts
            children[0].tokens, children[0].through = piece.tokens, piece.through
        return [part for child in children for part in self._presplit(child)]

    def _presplit(self, piece: _Piece) -> list[_Piece]:
        """Split a piece too long to fit before counting it: text averages far fewer than _LONG
        characters a token, and splitting one that would have fit only moves a chunk boundary."""
        if piece.level < _CUT - 1 and piece.end - piece.start > self.limit * _LONG:
            return self._split_finer(piece)
        return [piece]

    def _runs(self, piece: _Piece, level: int) -> list[_Piece]:
        """A huge piece (say a 50 MB file without a line break) cut at the gaps of `level` into runs
        of whole parts of at most max_tokens / 2 characters (a longer part alone): tens of
        thousands of pieces to count instead of millions. A run of several parts is split into
        them only if it does not fit alone, so a chunk ends at most half a run short of full."""
        text, size, runs, start = self.text, max(self.limit // 2, 1), [], piece.start
        while start < piece.end:
            stop = start + size
            gap = _LAST_GAPS[level].match(text, start, stop + 1) if stop < piece.end else None
            if gap is None and stop < piece.end:  # one part longer than a run: it goes alone
                gap = _GAPS[level].search(text, start, piece.end)
            end = start + len(text[start : gap.start(1)].rstrip()) if gap else piece.end
            after = _SPACE.match(text, gap.end(1)).end() if gap else piece.end
            several = _GAPS[level].search(text, start, end) is not None
            clean = level < 2  # as in _split: paragraph and sentence gaps are sentence boundaries
            runs.append(_Piece(start, end, level - 1 if several else level,
                               piece.clean_start if start == piece.start else clean,
                               piece.clean_end if end == piece.end else clean))
            start = after
        return runs

    def _cut(self, piece: _Piece) -> list[_Piece]:
        """A run without spaces, cut into the longest prefixes that fit. The window starts a quarter
        longer than the last cut and doubles while all of it fits (encoding limit * _MAX_CHARS_PER_TOKEN
        characters for each cut made a long run slow)."""
        pieces, start, size = [], piece.start, self.limit * _LONG
        while start < piece.end:
            stop = min(piece.end, start + size)
            window = self.text[start:stop]
            chars, tokens = self.counter.fit(window, self.limit)
            if chars == len(window) and stop < piece.end and size < self.limit * _MAX_CHARS_PER_TOKEN:
                size = min(size * 2, self.limit * _MAX_CHARS_PER_TOKEN)  # all of it fits: a longer prefix may too
                continue
            if not chars:
                raise ValueError(
                    f"max_tokens={self.limit} is less than the tokens of the single character "
                    f"{window[0]!r}; raise it."
                )
            end = start + chars
            clean_start = start == piece.start and piece.clean_start
            pieces.append(_Piece(start, end, _CUT, clean_start, end == piece.end and piece.clean_end, tokens))
            start, size = end, max(chars + chars // 4, 16)
        return pieces
