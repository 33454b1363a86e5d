"""tk.dedupe against planted duplicates, and against a plain datasketch MinHashLSH script in the same run.

    nice -n 5 .venv/bin/python benchmarks/bench_dedupe.py [rows=100000] [--memory 1000000]

Prints recall and precision against the planted truth for both, the time ratio (goal ≥ 2 × faster),
then (with --memory N) the peak RSS of a child process deduping N short passages (goal < 4 GB).
"""

from __future__ import annotations

import itertools
import random
import resource
import subprocess
import sys
import time

import pandas as pd

THRESHOLD = 0.8


def corpus(n: int, words: int = 60, seed: int = 0):
    """n passages: ≈ 85 % originals, the rest planted copies of an earlier one (a few words
    edited, two sentences swapped, whitespace and case changed), plus near misses (a third of the
    words changed) that must not be caught. Returns (texts, truth: copy → original)."""
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(30_000)]
    cum = list(itertools.accumulate(1 / (i + 1) ** 0.8 for i in range(len(vocab))))  # Zipf-like, as words are
    texts, truth = [], {}
    for k in range(n):
        if k > 10 and rng.random() < 0.15:
            src = rng.randrange(k)
            while src in truth:
                src = truth[src]
            w = texts[src].split()
            kind = rng.choice(["edit", "swap", "space", "miss"])
            if kind == "edit":
                for _ in range(rng.randint(1, 2)):
                    w[rng.randrange(len(w))] = rng.choice(vocab)
                texts.append(" ".join(w))
            elif kind == "swap":
                cut = len(w) // 2
                texts.append(" ".join(w[cut:] + w[:cut]))
            elif kind == "space":
                texts.append("  ".join(w).upper() + " \n")
            else:
                for i in rng.sample(range(len(w)), len(w) // 3):
                    w[i] = rng.choice(vocab)
                texts.append(" ".join(w))
                continue  # a near miss: not a duplicate
            truth[k] = src
        else:
            texts.append(" ".join(rng.choices(vocab, cum_weights=cum, k=words)))
    return texts, truth


def score(found: dict, truth: dict) -> tuple[float, float]:
    """Recall and precision: a found pair is right when both sides are copies of one original."""
    def root(k):
        while k in truth:
            k = truth[k]
        return k
    right = sum(1 for j, i in found.items() if j in truth and root(i) == root(j))
    return right / max(len(truth), 1), right / max(len(found), 1)


def datasketch_script(texts: list[str]) -> dict:
    """What a user writes with datasketch: MinHash each text's word 3-grams, query before insert."""
    from datasketch import MinHash, MinHashLSH

    shingles = []
    for t in texts:
        w = t.lower().split()
        shingles.append({" ".join(w[i:i + 3]).encode() for i in range(max(1, len(w) - 2))})
    lsh, found, kept = MinHashLSH(threshold=THRESHOLD, num_perm=128), {}, {}
    for k, m in enumerate(MinHash.bulk(shingles, num_perm=128)):
        hits = [i for i in lsh.query(m) if m.jaccard(kept[i]) >= THRESHOLD]
        if hits:
            found[k] = min(hits)
        else:
            kept[k] = m
            lsh.insert(k, m)
    return found


def toolkit_dedupe(texts: list[str]) -> dict:
    import toolkit as tk

    out = tk.dedupe(pd.DataFrame({"text": texts}), "text", threshold=THRESHOLD)
    marked = out["text.dup_of"].dropna()
    return dict(zip(marked.index, marked.astype(int)))


def memory_child(n: int) -> None:
    texts, _ = corpus(n, words=12, seed=1)
    frame = pd.DataFrame({"text": texts})
    del texts
    import toolkit as tk

    start = time.perf_counter()
    out = tk.dedupe(frame, "text")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2  # KB → GB
    print(f"{n} short passages: {out['text.dup_of'].notna().sum()} marked in "
          f"{time.perf_counter() - start:.1f} s, peak RSS {peak:.2f} GB (goal < 4 GB)")


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--child"]:
        return memory_child(int(args[1]))
    n = int(args[0]) if args and args[0].isdigit() else 100_000
    texts, truth = corpus(n)
    import datasketch  # noqa: F401

    import toolkit  # noqa: F401  (imports outside the timed part, for both)

    t = time.perf_counter()
    ours = toolkit_dedupe(texts)
    ours_s = time.perf_counter() - t
    t = time.perf_counter()
    theirs = datasketch_script(texts)
    theirs_s = time.perf_counter() - t
    for name, found, s in (("tk.dedupe", ours, ours_s), ("datasketch script", theirs, theirs_s)):
        recall, precision = score(found, truth)
        print(f"{name:18} {n} passages, {len(truth)} planted: recall {recall:.4f}, precision "
              f"{precision:.4f}, {s:.1f} s")
    print(f"tk.dedupe is {theirs_s / ours_s:.1f} × faster than the datasketch script (goal ≥ 2 ×)")
    if "--memory" in args:
        m = args[args.index("--memory") + 1]
        subprocess.run([sys.executable, __file__, "--child", m], check=True)


if __name__ == "__main__":
    main()
