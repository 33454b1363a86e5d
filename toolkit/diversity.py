"""How varied a column's texts are: cheap enough to look at after every step.

    tk.diversity(out, "generic")                          # one frame
    table = tk.diversity({"v1": out1, "v2": out2}, "generic")   # side by side
    tk.diversity_plot(table)

distinct-n: distinct word n-grams / all word n-grams, over all texts (words: lowercased,
whitespace-split; n-grams do not cross texts). compression: bytes of the texts joined by
newlines / their zlib-compressed bytes (level 6; past 1 MB, a seeded sample of texts, which
deflate's 32 KB window barely notices): higher is more repetitive. nn_similarity: the
mean, over texts, of the highest word-3-gram Jaccard similarity to another text among its MinHash
LSH candidates (32 permutations in 16 bands of 2: a pair at 0.5 is found with probability
0.99, at 0.3 with 0.79; a text with no candidate counts 0). words_*: words per text.

But: surface statistics. Two sets of paraphrases of one answer score as diverse; a model that
repeats one idea in new words is not caught.
"""

from __future__ import annotations

import random
import zlib

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .minhash import _M1, Shingles, _mix, candidate_pairs

COMPRESS_SAMPLE = 1_000_000  # bytes: past this, a seeded sample of texts (deflate's window is 32 KB)
RATIOS = ["distinct_1", "distinct_2", "distinct_3", "nn_similarity"]


def diversity(frames: pd.DataFrame | dict[str, pd.DataFrame], columns: str | list[str]) -> pd.DataFrame:
    """A table with one row per figure and one column per text column (per (frame, column) when
    given a dict of named frames, e.g. {"v1": before, "v2": after}). Missing or empty texts are
    left out; `texts` says how many were measured."""
    columns = [columns] if isinstance(columns, str) else list(columns)
    named = frames if isinstance(frames, dict) else {None: frames}
    table = {}
    for name, df in named.items():
        for c in columns:
            if c not in df:
                raise ValueError(f"diversity: no column {c!r}{f' in frame {name!r}' if name else ''}; the "
                                 f"frame has {', '.join(map(str, df.columns))}")
            texts = [t for t in df[c] if isinstance(t, str) and t.strip()]
            table[c if name is None else (name, c)] = figures(texts)
    return pd.DataFrame(table)


def figures(texts: list[str]) -> dict:
    sh = Shingles(texts)
    out = {"texts": len(texts)}
    starts = np.concatenate([[0], np.cumsum(sh.lengths)])
    for n in (1, 2, 3):
        out[f"distinct_{n}"] = _distinct(sh.codes, starts, sh.lengths, n)
    out["compression"] = _compression(texts)
    out["nn_similarity"] = _nn(sh)
    words = sh.lengths.astype(float)
    for name, value in (("mean", np.mean), ("std", np.std)):
        out[f"words_{name}"] = round(float(value(words)), 2) if len(words) else np.nan
    for q in (10, 50, 90):
        out[f"words_p{q}"] = float(np.percentile(words, q)) if len(words) else np.nan
    return out


def _distinct(codes, starts, lengths, n) -> float:
    """Distinct n-grams / n-grams; the n-grams of a text start at its first len - n + 1 words."""
    if len(codes) == 0:
        return np.nan
    row = np.repeat(np.arange(len(lengths)), lengths)
    pos = np.arange(len(codes)) - starts[row]
    first = pos <= lengths[row] - n
    if not first.any():
        return np.nan
    at = np.flatnonzero(first)
    vocab = np.uint64(codes.max() + 1)
    key = codes[at]
    with np.errstate(over="ignore"):
        for k in range(1, n):  # exact while vocab ** n fits in 64 bits, a 64-bit hash past that
            key = key * vocab + codes[at + k] if int(vocab) ** n < 2 ** 64 else _mix(key * _M1 + codes[at + k])
    key = np.sort(key)
    return round(float((1 + np.count_nonzero(key[1:] != key[:-1])) / len(key)), 4)


def _compression(texts) -> float:
    data = "\n".join(texts).encode()
    if len(data) > COMPRESS_SAMPLE:
        picked, size = [], 0
        for t in random.Random(0).sample(texts, len(texts)):
            picked.append(t)
            size += len(t.encode()) + 1
            if size >= COMPRESS_SAMPLE:
                break
        data = "\n".join(picked).encode()
    return round(len(data) / len(zlib.compress(data, 6)), 3) if data else np.nan


def _nn(sh: Shingles) -> float:
    n = len(sh.sizes)
    if n < 2:
        return np.nan
    pairs = candidate_pairs(sh, np.arange(n), 0.5, num_perm=32, sure=0.95)
    best = np.zeros(n)
    if len(pairs):
        s = sh.jaccard(pairs)
        np.maximum.at(best, pairs[:, 0], s)
        np.maximum.at(best, pairs[:, 1], s)
    return round(float(best.mean()), 4)


def diversity_plot(table: pd.DataFrame):
    """The ratios (distinct-1/2/3, nn_similarity) as grouped bars, compression and words per text
    (p10–p90 with the median) beside them; one colour per table column, values on the bars."""
    names = [(" ".join(map(str, c)) if isinstance(c, tuple) else str(c)) + f" (n={int(table.loc['texts', c])})"
             for c in table.columns]
    fig, (left, mid, right) = plt.subplots(1, 3, figsize=(12, 3.6), gridspec_kw={"width_ratios": [3, 1.2, 1.6]})
    height = 0.8 / max(len(names), 1)
    y = np.arange(len(RATIOS))
    for k, (column, name) in enumerate(zip(table.columns, names)):
        bars = left.barh(y + k * height, table.loc[RATIOS, column].astype(float), height, label=name)
        left.bar_label(bars, fmt="%.3f", fontsize="small", padding=2)
        bars = mid.barh([k], [float(table.loc["compression", column])], color=bars.patches[0].get_facecolor())
        mid.bar_label(bars, fmt="%.2f", fontsize="small", padding=2)
        p10, p50, p90 = (float(table.loc[f"words_p{q}", column]) for q in (10, 50, 90))
        right.plot([p10, p90], [k, k], lw=6, alpha=0.5, color=bars.patches[0].get_facecolor())
        right.plot([p50], [k], "k|", ms=14)
    left.set_yticks(y + height * (len(names) - 1) / 2, RATIOS)
    left.set_ylim(len(RATIOS) - 0.2, -0.6)
    left.set_xlim(0, 1.15)
    left.set_title("distinct: higher is more varied; nn_similarity: higher is more repeats", fontsize="small",
                   loc="left")
    if len(names) > 1:
        left.legend(loc="lower right", bbox_to_anchor=(1, 1.08), ncols=len(names), frameon=False, fontsize="small")
    for ax in (mid, right):
        ax.set_yticks(range(len(names)), names)
        ax.set_ylim(len(names) - 0.5, -0.5)
    mid.set_title("compression ratio", fontsize="small")
    mid.set_xlim(0, max(1.0, float(table.loc["compression"].astype(float).max()) * 1.3))
    right.set_title("words per text (p10–p90, median)", fontsize="small")
    fig.tight_layout()
    plt.close(fig)
    return fig
