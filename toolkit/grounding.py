"""Is each answer in its source? The share of its numbers, names and words the source holds, and the
sentence that supports it best.

    g = tk.grounding(checked, answer="answer", source="text")
    g[g["answer.grounding_flag"] != ""][["answer", "answer.support", "answer.grounding_flag"]]

Per row, the answer's mentions (mentions.py: numbers, names, content words) are looked up in its
source chunk:

- `<answer>.grounded`: the share of the answer's mentions found in the source (NaN when the
  answer mentions nothing);
- `<answer>.unsupported_numbers`, `.unsupported_names`, `.unsupported_words`: those not found, as
  the answer writes them;
- `<answer>.support`: the source sentence (`source_sentences`) that holds most of the answer's
  mentions, a number or a name counting twice, the first of equals; None when no sentence holds any;
- `<answer>.grounding_flag`: "unsupported number: 1998" when a number of the answer is not in the
  source, "" otherwise, None where the row lacks an answer or a source (flags.py).

But: found words are not a supported claim: "the filter lasts 6 months" and "the filter does not
last 6 months" hold the same words. A number is the one thing a paraphrase must copy, so only
numbers flag.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pandas as pd

from . import flags
from .frame import blank, column, need_column
from .mentions import KINDS, mentions, missing, recent
from .sentences import sentences

_BLOCK = re.compile(r"\n\s*\n|\n(?=[ \t]*(?:[-*+•]|\d+[.)]|#+)\s)")  # a blank line, or a list item or heading next


def grounding(df: pd.DataFrame, answer: str = "answer", source: str = "text") -> pd.DataFrame:
    """A new frame with `<answer>.grounded`, the unsupported lists, `<answer>.support` and
    `<answer>.grounding_flag` (see the module)."""
    need_column(df, answer), need_column(df, source)
    a, s = df[answer].to_numpy(dtype=object), df[source].to_numpy(dtype=object)
    unsupported = {k: [[] for _ in range(len(df))] for k in KINDS}
    grounded = np.full(len(df), np.nan)
    support = np.full(len(df), None, dtype=object)
    measured = np.zeros(len(df), dtype=bool)
    reasons = []
    for i, (text, src) in enumerate(zip(a, s)):
        if blank(text) or blank(src):
            continue
        ma, ms = recent(str(text)), recent(str(src))
        absent = missing(ma, ms)
        for k, items in zip(KINDS, absent):
            unsupported[k][i] = items
        if len(ma):
            grounded[i] = 1 - sum(map(len, absent)) / len(ma)
        support[i] = best_sentence(ma, str(src))
        measured[i] = True
        reasons.append(f"unsupported number: {', '.join(absent[0])}" if absent[0] else "")
    out = df.copy()
    out[column(answer, "grounded")] = grounded.round(4)
    for k in KINDS:
        out[column(answer, f"unsupported_{k}")] = pd.Series(unsupported[k], index=df.index, dtype=object)
    out[column(answer, "support")] = pd.Series(support, index=df.index, dtype=object)
    out[flags.column(answer, "grounding")] = flags.values(len(df), measured, reasons, df.index)
    return out


def best_sentence(m, source: str) -> str | None:
    """The sentence of `source` holding most of the mentions `m` (numbers and names count twice)."""
    weights = {**dict.fromkeys(m.words, 1), **dict.fromkeys(m.names, 2), **dict.fromkeys(m.numbers, 2)}
    best, score = None, 0
    for sentence, keys in _sentences(source):
        s = sum(w for k, w in weights.items() if k in keys)
        if s > score:
            best, score = sentence, s
    return best


def source_sentences(text: str) -> list[str]:
    """The sentences of a source: `tk.sentences` within each paragraph, list item and heading (a
    list item without a full stop is not run into the next one)."""
    return [s for block in _BLOCK.split(text) for s in sentences(block)]


@lru_cache(maxsize=256)
def _sentences(source: str) -> tuple:
    """(sentence, the keys of its words) for each sentence of a source chunk, remembered."""
    return tuple((s, mentions(s).keys) for s in source_sentences(source))
