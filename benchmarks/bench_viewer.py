"""Next/prev in toolkit.show() on a 100k-row frame: target under 50 ms per click.

Rows hold chunk-sized texts (~1,100 words, about 1,500 model tokens, in paragraphs, Zipf-like
words) and an edited copy as the step output, so each click pays for a real word diff. The
baseline, measured in the same run, is the least a click can cost: diffing the same samples'
panes without any widget, plus assigning the result to two ipywidgets.HTML. Outside a kernel
widget updates are not sent anywhere, so this measures the Python side of a click.
"""

import random
import sys
import time

import ipywidgets as W
import numpy as np
import pandas as pd

from toolkit.review.diff import diff
from toolkit.review.viewer import show

ROWS, DISTINCT, CLICKS, TARGET_MS = 100_000, 400, 200, 50
rng = random.Random(0)
COMMON = "the of and to a in is was that for it with as on by his at from this be".split()
WORDS = COMMON + [f"w{i}" for i in range(4000)]
WEIGHTS = [1 / (rank + 1) for rank in range(len(WORDS))]


def chunk():
    """Eight paragraphs of ten sentences: about 1,100 words."""
    def sentence():
        return " ".join(rng.choices(WORDS, WEIGHTS, k=rng.randint(8, 20))).capitalize() + "."
    return "\n\n".join(" ".join(sentence() for _ in range(10)) for _ in range(8))


def rewrite(text):
    """The kind of output a rewriting step gives: ~10% of words changed, the layout kept."""
    words = text.split(" ")
    for i in rng.sample(range(len(words)), len(words) // 10):
        words[i] = rng.choice(WORDS)
    return " ".join(words)


def frame():
    texts = [chunk() for _ in range(DISTINCT)]
    outputs = [rewrite(t) for t in texts]
    pick = np.arange(ROWS) % DISTINCT
    # object columns share the pooled strings, so 100k rows stay small in memory
    return pd.DataFrame({
        "chunk_id": [f"doc-{i:06d}" for i in range(ROWS)],
        "source": "corpus.txt",
        "tokens": 1500,
        "text": pd.Series(texts, dtype=object)[pick].to_numpy(),
        "generic": pd.Series(outputs, dtype=object)[pick].to_numpy(),
        "generic.status": np.where(pick % 10 == 0, "failed", "ok"),
        "generic.attempts": 1,
        "generic.prompt_version": "v1",
    })


def per_click_ms(step, clicks=CLICKS):
    start = time.perf_counter()
    for _ in range(clicks):
        step()
    return (time.perf_counter() - start) / clicks * 1000


def main():
    df = frame()
    start = time.perf_counter()
    v = show(df, right="generic")
    build_ms = (time.perf_counter() - start) * 1000
    v.go(ROWS // 2)
    next_ms = per_click_ms(v.next)
    prev_ms = per_click_ms(v.prev)

    panes = [W.HTML(), W.HTML()]
    samples = iter(range(ROWS // 2, ROWS // 2 + CLICKS))

    def bare():
        i = next(samples)
        panes[0].value, panes[1].value = diff(df["text"].iat[i], df["generic"].iat[i])

    base_ms = per_click_ms(bare)
    start = time.perf_counter()
    v.set_filter(status="failed")
    filter_ms, filtered = (time.perf_counter() - start) * 1000, v.counter
    start = time.perf_counter()
    v.set_filter(search="W17 w3")
    search_ms, searched = (time.perf_counter() - start) * 1000, v.counter

    print(f"viewer on {ROWS:,} rows (~1,100-word chunks, ~10% of words rewritten)")
    print(f"  build show():            {build_ms:8.1f} ms")
    print(f"  next:                    {next_ms:8.2f} ms/click (avg of {CLICKS})")
    print(f"  prev:                    {prev_ms:8.2f} ms/click (avg of {CLICKS})")
    print(f"  baseline, bare diff+set: {base_ms:8.2f} ms/click")
    print(f"  ratio next/baseline:     {next_ms / base_ms:8.2f}x")
    print(f"  status filter change:    {filter_ms:8.1f} ms ({filtered})")
    print(f"  search filter change:    {search_ms:8.1f} ms ({searched})")
    worst = max(next_ms, prev_ms)
    print(f"target < {TARGET_MS} ms per click: {'OK' if worst < TARGET_MS else 'MISSED'} ({worst:.2f} ms)")
    return 0 if worst < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
