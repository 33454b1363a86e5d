"""The signals at scale, each against its baseline in the same run.

    nice -n 5 .venv/bin/python benchmarks/bench_signals.py [pairs=100000] [--only style|content]

(1) tk.style_gap over `pairs` planted original/rewrite pairs ÷ the same scikit-learn pipeline
    written plainly (make_pipeline(features, classifier) in cross_val_predict with the same folds,
    then roc_auc_score): the speed ratio (goal ≥ 0.9) and whether the out-of-fold probabilities
    are the same.
(2) tk.content_kept over `pairs` rows: rows per second wall (goal ≥ 20,000 on this machine's 2
    cores) and per CPU second (its workers' CPU counted), each with the load average beside it,
    for the code before (tests/kept_before.py) and the new one on one process, and the new one on
    all cores (first call, which starts the workers, and the next); their CPU time ÷ a plain pass
    of lowercased whitespace-word set differences both ways. A loaded machine (other jobs on the
    2 cores) disturbs CPU time less than the clock; compare the lines of one run, not of two.

The rows are tests/planted.py's: an ornate original and its plain rewrite, every 1,000th rewrite a
near-copy; for (1) of one sentence each (≈ 30 and 20 words: 200 k texts through character n-grams
five times over in the plain pipeline), for (2) of three (≈ 90 and 60 words).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.planted, run from anywhere

from tests.planted import style_pairs  # noqa: E402


def plain_style_gap(originals, rewrites):
    """What a user writes with scikit-learn: the pipeline in cross_val_predict, then the AUC."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import cross_val_predict
    from sklearn.pipeline import make_pipeline

    from toolkit.style_gap import classifier, features, folds

    n = len(originals)
    y, groups = np.r_[np.ones(n), np.zeros(n)], np.r_[np.arange(n), np.arange(n)]
    p = cross_val_predict(make_pipeline(features(), classifier()), originals + rewrites, y, groups=groups,
                          cv=folds(), method="predict_proba")[:, 1]
    return p[n:], roc_auc_score(y, p)


def bench_style(originals, rewrites) -> None:
    import toolkit as tk

    df = pd.DataFrame({"text": originals, "generic": rewrites})
    t = time.perf_counter()
    out = tk.style_gap(df)
    ours = time.perf_counter() - t
    t = time.perf_counter()
    p, auc = plain_style_gap(originals, rewrites)
    plain = time.perf_counter() - t
    same = np.allclose(out["generic.style_left"].to_numpy(), p.round(4), atol=1e-9)
    print(f"style_gap {len(df)} pairs: {ours:.1f} s; the plain pipeline {plain:.1f} s (AUC {auc:.4f}); "
          f"ratio {plain / ours:.2f} × its speed (goal ≥ 0.9); same probabilities: {same}")


def _cpu() -> float:
    """CPU seconds of this process and its children, the loky workers (alive between calls) too."""
    import psutil

    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    for child in me.children(recursive=True):
        try:
            total += sum(child.cpu_times()[:2])
        except psutil.NoSuchProcess:
            pass
    return total


def _timed(label: str, n: int, run, settle=None) -> tuple:
    """Run, print wall and CPU figures with the load average beside them, return (result, cpu s).
    `settle` runs after the clock stops and before the CPU is read: what the workers still do for
    this call (start, chunks the caller did itself meanwhile) is counted in it, not in the next."""
    load = os.getloadavg()[0]
    t, c = time.perf_counter(), _cpu()
    out = run()
    wall = time.perf_counter() - t
    if settle:
        settle()
    cpu = _cpu() - c
    print(f"  {label:<44} {wall:6.2f} s = {n / wall:7,.0f} rows/s wall; CPU {cpu:6.2f} s = "
          f"{n / cpu:7,.0f} rows per CPU second (load {load:.1f} → {os.getloadavg()[0]:.1f})", flush=True)
    return out, cpu


def bench_content(originals, rewrites) -> None:
    """Side by side in one run: the code before (tests/kept_before.py) and the new one on one
    process, the new one as a user gets it (its first call starts the workers), and the plain pass."""
    import toolkit as tk
    from tests import kept_before
    from toolkit import cores

    df, n = pd.DataFrame({"text": originals, "generic": rewrites}), len(originals)
    kept_before.content_kept(df.head(1000)), tk.content_kept(df.head(1000))  # stop words imported, memos warm
    print(f"content_kept over {n:,} rows ({os.cpu_count()} cores):")
    before, old = _timed("the code before, one process", n, lambda: kept_before.content_kept(df))
    at_least, cores.AT_LEAST = cores.AT_LEAST, n + 1
    _, one = _timed("new, one process", n, lambda: tk.content_kept(df))
    cores.AT_LEAST = at_least
    def settle():  # a job queued behind this call's chunks: its answer means the workers are idle
        cores.pool().submit(int).result()

    first, _ = _timed("new, all cores, first call (workers start)", n, lambda: tk.content_kept(df), settle)
    out, warm = _timed("new, all cores, next call", n, lambda: tk.content_kept(df), settle)

    def plain():
        for a, b in zip(originals, rewrites):
            wa, wb = set(a.lower().split()), set(b.lower().split())
            wa - wb, wb - wa

    _, base = _timed("plain word-set differences, one process", n, plain)
    same = out.equals(before) and first.equals(before)
    print(f"  CPU time ÷ the plain pass's: before {old / base:.1f} ×, new one process {one / base:.1f} ×, "
          f"new all cores {warm / base:.1f} ×; the code before ÷ new, one process: {old / one:.2f} × "
          f"(goal ≥ 20,000 rows/s wall); same frame as before: {same}")


def main() -> None:
    args = sys.argv[1:]
    n = int(args[0]) if args and args[0].isdigit() else 100_000
    only = args[args.index("--only") + 1] if "--only" in args else None
    import toolkit  # noqa: F401  (imported outside the timed parts)

    print(f"{n} pairs, load average {os.getloadavg()[0]:.1f}")
    if only in (None, "content"):
        bench_content(*style_pairs(n, copies=n // 1000, seed=0, sentences=3)[:2])
    if only in (None, "style"):
        bench_style(*style_pairs(n, copies=n // 1000, seed=0, sentences=1)[:2])


if __name__ == "__main__":
    main()
