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
