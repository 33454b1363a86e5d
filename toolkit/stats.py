"""Figures a user acts on, each with its n and its uncertainty: A/B win rates from picks, and a
ROC AUC with its interval.

A win rate from 12 picks and one from 1,200 read the same as a bare percentage; with a Wilson 95 %
interval and a sign test beside it, "B is better" means what it says. scipy does the statistics.

But: picks are treated as independent samples; picks of several reviewers on one row are not
pooled or weighed here.
"""

from collections import Counter

import numpy as np

Z95 = 1.959963984540054  # the standard normal's 97.5 % point: a two-sided 95 % interval
PICKS = ("A", "B", "tie")  # what an A/B pick may be: the store, the widgets and agreement all use these


def win_rate(picks) -> dict:
    """B-over-A win rate of `picks` (an iterable of "A", "B", "tie"; "" or None = not picked, any
    other value, such as a judge's "inconsistent", is counted apart under its own name).

    Ties are reported, not counted: `n` = A wins + B wins, `rate` = B wins / n, `low`/`high` the
    Wilson 95 % interval, `p` the two-sided sign test (exact binomial, p = 0.5). With n = 0 the
    rate, interval and p are None.
    """
    counts = Counter(p for p in picks if isinstance(p, str) and p)
    a, b, ties = counts.pop("A", 0), counts.pop("B", 0), counts.pop("tie", 0)
    out = {"n": a + b, "B": b, "A": a, "tie": ties, "other": dict(counts),
           "rate": None, "low": None, "high": None, "p": None}
    if a + b:
        rate, low, high, p = proportion(b, a + b)
        out.update(rate=rate, low=low, high=high, p=p)
    return out


def proportion(k: int, n: int) -> tuple[float, float, float, float]:
    """k of n as (share, Wilson 95 % low, high, two-sided exact binomial p against 0.5); n > 0.

    scipy is imported here, not with the toolkit: scipy.stats alone takes about a second to import."""
    from scipy.stats import binomtest

    test = binomtest(k, n, 0.5)
    ci = test.proportion_ci(confidence_level=0.95, method="wilson")
    return k / n, float(ci.low), float(ci.high), float(test.pvalue)


def describe(result: dict) -> str:
    """One line for a `win_rate` result: "B better in 7 of 10 (70%, 95 % CI 40%–89%), sign test
    p = 0.34 · 2 ties"."""
    if not result["n"]:
        line = "no A/B decisions yet (ties and unpicked rows do not count)"
    else:
        line = (f"B better in {result['B']} of {result['n']} ({result['rate']:.0%}, 95 % CI "
                f"{result['low']:.0%}\u2013{result['high']:.0%}), sign test p = {result['p']:.2g}")
    extra = [f"{result['tie']} tie{'s' * (result['tie'] != 1)}"] if result["tie"] else []
    extra += [f"{n} {name}" for name, n in sorted(result["other"].items())]
    return " \u00B7 ".join([line, *extra])


def auc(labels, scores) -> tuple[float, float, float]:
    """ROC AUC of `scores` for the binary `labels` (1 = positive) as (auc, low, high): scikit-learn's
    AUC with DeLong's 95 % interval, AUC ± 1.96 · SE clipped to [0, 1].

    DeLong, DeLong & Clarke-Pearson (1988): SE² = s₁₀²/m + s₀₁²/n, with s₁₀² the sample variance
    over the m positives of the share of negatives each one outscores (ties count half) and s₀₁²
    the same over the n negatives; computed from midranks (Sun & Xu 2014). Both classes needed.

    But: the scores are taken as independent samples, and when no positive and negative overlap
    (AUC 0 or 1) the interval has width 0."""
    from scipy.stats import rankdata
    from sklearn.metrics import roc_auc_score

    labels, scores = np.asarray(labels).astype(bool), np.asarray(scores, dtype=float)
    pos, neg = scores[labels], scores[~labels]
    m, n = len(pos), len(neg)
    if not m or not n:
        raise ValueError(f"auc: needs both classes; got {m} positive and {n} negative")
    value = float(roc_auc_score(labels, scores))
    every = rankdata(np.concatenate([pos, neg]))
    v10 = (every[:m] - rankdata(pos)) / n  # per positive: negatives below it
    v01 = 1 - (every[m:] - rankdata(neg)) / m  # per negative: positives above it
    se = float(np.sqrt((v10.var(ddof=1) / m if m > 1 else 0) + (v01.var(ddof=1) / n if n > 1 else 0)))
    return value, max(0.0, value - Z95 * se), min(1.0, value + Z95 * se)
