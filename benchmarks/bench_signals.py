"""The signals at scale, each against its baseline in the same run.

    nice -n 5 .venv/bin/python benchmarks/bench_signals.py [pairs=100000] [--only style|content]

(1) tk.style_gap over `pairs` planted original/rewrite pairs ÷ the same scikit-learn pipeline
    written plainly (make_pipeline(features, classifier) in cross_val_predict with the same folds,
    then roc_auc_score): the speed ratio (goal ≥ 0.9) and whether the out-of-fold probabilities
    are the same.
(2) tk.content_kept over `pairs` rows: rows per second (goal ≥ 20,000 on this machine's 2 cores),
    and its time ÷ a plain pass of lowercased whitespace-word set differences both ways; both also
    in CPU time, which a loaded machine (other jobs on the 2 cores) disturbs less than the clock.

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


def bench_content(originals, rewrites) -> None:
    import toolkit as tk

    df = pd.DataFrame({"text": originals, "generic": rewrites})
    tk.content_kept(df.head(1000))  # scikit-learn's stop-word list imported outside the timed part
    t, c = time.perf_counter(), time.process_time()
    out = tk.content_kept(df)
    ours, ours_cpu = time.perf_counter() - t, time.process_time() - c
    t, c = time.perf_counter(), time.process_time()
    for a, b in zip(originals, rewrites):
        wa, wb = set(a.lower().split()), set(b.lower().split())
        wa - wb, wb - wa
    plain, plain_cpu = time.perf_counter() - t, time.process_time() - c
    lost = int(out["generic.lost_numbers"].map(len).gt(0).sum())
    print(f"content_kept {len(df)} rows: {ours:.2f} s = {len(df) / ours:,.0f} rows/s (goal ≥ 20,000); "
          f"CPU {ours_cpu:.2f} s = {len(df) / ours_cpu:,.0f} rows per CPU second; "
          f"{ours / plain:.1f} × a plain word-set difference ({plain:.2f} s; CPU {ours_cpu / plain_cpu:.1f} ×, "
          f"{len(df) / plain_cpu:,.0f} rows per CPU second); {lost} rows lost a number")


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
