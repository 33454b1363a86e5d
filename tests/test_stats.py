"""Win rates against values computed here by hand: the Wilson formula and the exact binomial sum."""

import math

import pytest

from toolkit.stats import describe, win_rate


def wilson(k, n, z=1.959963984540054):
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def sign_test(k, n):
    """Two-sided exact binomial p at p=0.5: twice the smaller tail, capped at 1."""
    tail = sum(math.comb(n, i) for i in range(0, min(k, n - k) + 1)) / 2 ** n
    return min(1.0, 2 * tail) if k != n - k else 1.0


@pytest.mark.parametrize("a,b", [(3, 7), (0, 5), (12, 12), (40, 60), (1, 0)])
def test_win_rate_matches_the_formulas(a, b):
    r = win_rate(["A"] * a + ["B"] * b + ["tie"] * 2 + ["", None])
    assert (r["n"], r["A"], r["B"], r["tie"]) == (a + b, a, b, 2)
    assert r["rate"] == pytest.approx(b / (a + b))
    low, high = wilson(b, a + b)
    assert (r["low"], r["high"]) == (pytest.approx(low, abs=1e-9), pytest.approx(high, abs=1e-9))
    assert r["p"] == pytest.approx(sign_test(b, a + b), rel=1e-9)


def test_no_decisions_and_other_outcomes():
    r = win_rate(["tie", "inconsistent", "inconsistent"])
    assert r["n"] == 0 and r["rate"] is None and r["other"] == {"inconsistent": 2}
    assert "no A/B decisions" in describe(r) and "2 inconsistent" in describe(r) and "1 tie" in describe(r)
    line = describe(win_rate(["B"] * 7 + ["A"] * 3))
    assert line.startswith("B better in 7 of 10 (70%, 95 % CI 40%\u201389%), sign test p = 0.34")


# -- ROC AUC and its DeLong interval, against independent computations ----------------------------

def planted_scores(m=40, n=50, seed=3):
    import numpy as np

    rng = np.random.default_rng(seed)
    pos, neg = rng.normal(1.0, 1, m).round(1), rng.normal(0, 1, n).round(1)  # rounded: ties too
    return np.r_[np.ones(m), np.zeros(n)], np.r_[pos, neg], pos, neg


def test_auc_interval_is_delong_computed_pair_by_pair():
    from toolkit.stats import auc

    labels, scores, pos, neg = planted_scores()
    m, n = len(pos), len(neg)
    psi = [[1.0 if x > y else 0.5 if x == y else 0.0 for y in neg] for x in pos]  # every pair, by hand
    value = sum(map(sum, psi)) / (m * n)
    v10 = [sum(row) / n for row in psi]
    v01 = [sum(psi[i][j] for i in range(m)) / m for j in range(n)]
    var = (sum((v - value) ** 2 for v in v10) / (m - 1) / m + sum((v - value) ** 2 for v in v01) / (n - 1) / n)
    got, low, high = auc(labels, scores)
    assert got == pytest.approx(value, abs=1e-12)
    assert low == pytest.approx(value - 1.959963984540054 * math.sqrt(var), abs=1e-12)
    assert high == pytest.approx(value + 1.959963984540054 * math.sqrt(var), abs=1e-12)


def test_auc_interval_agrees_with_hanley_mcneil_and_a_bootstrap():
    import numpy as np

    from toolkit.stats import auc

    labels, scores, pos, neg = planted_scores(m=60, n=80)
    value, low, high = auc(labels, scores)
    se = (high - low) / (2 * 1.959963984540054)
    q1, q2 = value / (2 - value), 2 * value ** 2 / (1 + value)  # Hanley & McNeil (1982)
    hm = math.sqrt((value * (1 - value) + (60 - 1) * (q1 - value ** 2) + (80 - 1) * (q2 - value ** 2)) / (60 * 80))
    rng = np.random.default_rng(0)
    boot = []
    for _ in range(2000):  # resample positives and negatives apart, as the AUC's two samples
        p, q = rng.choice(pos, len(pos)), rng.choice(neg, len(neg))
        boot.append(((p[:, None] > q[None, :]).sum() + 0.5 * (p[:, None] == q[None, :]).sum()) / (len(p) * len(q)))
    assert se == pytest.approx(hm, rel=0.15)
    assert se == pytest.approx(np.std(boot, ddof=1), rel=0.15)


def test_auc_needs_both_classes_and_clips_to_the_unit_interval():
    from toolkit.stats import auc

    assert auc([1, 1, 0, 0], [0.9, 0.8, 0.1, 0.2]) == (1.0, 1.0, 1.0)  # no overlap: width 0 (documented)
    with pytest.raises(ValueError, match="both classes"):
        auc([1, 1], [0.2, 0.3])
