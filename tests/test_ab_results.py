"""Compare as a preference-data tool: blind sides, pairs only from usable chosen answers, and A/B
results with their uncertainty, checked against values computed here by hand."""

import math

import pandas as pd
import pytest

import toolkit as tk
from tests.test_viewer import runs
from toolkit.decisions import Store
from toolkit.outputs import output_hash
from toolkit.review.compare import flips

Z = 1.959963984540054  # the 97.5 % normal quantile


def wilson(b, n):
    p = b / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return centre - half, centre + half


def sign_test(b, n):
    tail = sum(math.comb(n, k) for k in range(max(b, n - b), n + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def test_blind_compare_hides_the_runs_and_records_the_underlying_pick(tmp_path):
    a, b = runs()
    c = tk.compare(a, b, folder=tmp_path, blind=True, seed=7)
    assert c.view["blind"] and c.view["marks"] == [["left", "a"], ["right", "b"], ["tie", "t"], ["unpicked", "u"]]
    assert "newly ok" not in c.view["summary"] and ".results()" in c.view["summary"]
    assert all(not s.startswith("newly") for s, _ in c.view["filters"][0][1])
    sides = {}
    for sid in ("same", "edited", "fixed", "broke", "raw-only", "failed-diff"):
        c.jump(sid)
        left, right = c.sample["panes"]
        assert left["title"].startswith("left: ") and right["title"].startswith("right: ")
        assert not any(name.startswith(("A ", "B ")) for name, _ in c.sample["head"]) and c.sample["sections"] == []
        sides[sid] = "B" if flips([sid], 7)[0] else "A"  # who is on the left
        c.pick("left")
        assert c.sample["mark"] == "left"
    assert set(sides.values()) == {"A", "B"}  # both orders occur
    a_out, b_out = a.set_index("chunk_id")["gen"], b.set_index("chunk_id")["gen"]
    for sid, left_run in sides.items():
        pair = (output_hash(a_out[sid]), output_hash(b_out[sid]))
        assert Store(tmp_path).pick_of(sid, *pair) == left_run
    c.jump("broke")  # A ok, B failed: the list shows the right-hand run's status
    entry = next(e for e in c.view["list"] if e[1] == "broke")
    assert entry[2] == ("failed" if sides["broke"] == "A" else "ok") and entry[3] == "left"
    c.jump("edited")  # A "x", B "y": the left pane shows the left run's output
    assert "".join(t for _, t in c.sample["panes"][0]["segments"]) == ("y" if sides["edited"] == "B" else "x")
    same = tk.compare(a, b, folder=tmp_path, blind=True, seed=7)
    same.jump("edited")
    assert same.sample["mark"] == "left"  # the same seed, the same sides
    result = c.results()  # the reveal: in A / B
    wins_b = sum(v == "B" for v in sides.values())
    assert result.loc[0, "B"] == wins_b and result.loc[0, "A"] == len(sides) - wins_b


def test_preference_pairs_leave_out_a_failed_chosen_side_and_say_so(tmp_path):
    a, b = runs()
    c = tk.compare(a, b, folder=tmp_path)
    for sid, value in (("edited", "B"), ("fixed", "A"), ("broke", "B"), ("same", "tie")):
        c.jump(sid)
        c.pick(value)  # fixed: A failed; broke: B failed
    with pytest.warns(UserWarning, match="left out 3 picks.*2 chosen output failed, 1 ties.*allow_failed=True"):
        pairs = tk.preference_pairs(a, b, folder=tmp_path)
    assert list(pairs["id"]) == ["edited"] and pairs.attrs["left_out"] == {"chosen output failed": 2, "ties": 1}
    with pytest.warns(UserWarning, match="left out 1 picks"):
        kept = tk.preference_pairs(a, b, folder=tmp_path, allow_failed=True)
    assert list(kept["id"]) == ["edited", "fixed", "broke"]
    assert kept.set_index("id").loc["fixed", "chosen"] == "bad"  # A's raw answer, kept as asked


def test_preference_pairs_and_results_take_one_source(tmp_path):
    a, b = runs()
    pair = tuple(output_hash(df.set_index("chunk_id").at["edited", "gen"]) for df in (a, b))
    store = Store(tmp_path)
    store.pick("edited", *pair, "A", source="judge:small")
    assert tk.preference_pairs(a, b, folder=tmp_path).empty  # the person made no pick
    assert list(tk.preference_pairs(a, b, folder=tmp_path, source="judge")["chosen"]) == ["x"]
    c = tk.compare(a, b, folder=tmp_path)
    assert c.results(source="judge:small").loc[0, "A"] == 1 and c.results().loc[0, "n"] == 0
    store.pick("edited", *pair, "B", source="judge:big")
    with pytest.raises(ValueError, match="several judges.*judge:big"):
        tk.preference_pairs(a, b, folder=tmp_path, source="judge")
    with pytest.raises(ValueError, match="source must be"):
        store.pick("edited", *pair, "B", source="robot")


def slices(n_per):
    """Frames of two runs whose every row differs, with a `voice` column to slice by."""
    rows = sum(n_per.values())
    ids = [f"s{i:03d}" for i in range(rows)]
    voices = [v for v, n in n_per.items() for _ in range(n)]
    a = pd.DataFrame({"chunk_id": ids, "text": ids, "voice": voices, "gen": [f"a {i}" for i in ids],
                      "gen.status": "ok"})
    b = a.assign(gen=[f"b {i}" for i in ids])
    return a, b


def test_results_give_the_win_rate_with_its_interval_overall_and_per_slice(tmp_path):
    a, b = slices({"austen": 20, "dickens": 10})
    c = tk.compare(a, b, folder=tmp_path)
    picks = ["B"] * 14 + ["A"] * 4 + ["tie"] * 2 + ["A"] * 7 + ["B"] * 2 + [None]
    for k, value in enumerate(picks):
        c.go(k)
        if value:
            c.pick(value)
    overall = c.results().iloc[0]
    assert (overall["n"], overall["B"], overall["A"], overall["tie"]) == (27, 16, 11, 2)
    low, high = wilson(16, 27)
    assert overall["rate"] == pytest.approx(16 / 27) and overall["low"] == pytest.approx(low)
    assert overall["high"] == pytest.approx(high) and overall["p"] == pytest.approx(sign_test(16, 27))
    per = c.results(by="voice").set_index("voice")
    assert list(per.index) == ["austen", "dickens"]
    assert (per.loc["austen", "n"], per.loc["austen", "B"], per.loc["austen", "tie"]) == (18, 14, 2)
    assert per.loc["austen", "low"] == pytest.approx(wilson(14, 18)[0])
    assert per.loc["dickens", "p"] == pytest.approx(sign_test(2, 9))
    low, high = wilson(16, 27)
    assert f"B better in 16 of 27 (59%, 95 % CI {low:.0%}\u2013{high:.0%})" in c.view["summary"]
    assert "2 ties" in c.view["summary"]
    with pytest.raises(KeyError, match="nope"):
        c.results(by="nope")


def test_results_with_no_picks_and_no_rows(tmp_path):
    a, b = slices({"austen": 3})
    empty = tk.compare(a, b, folder=tmp_path).results()
    assert empty.loc[0, "n"] == 0 and empty.loc[0, "rate"] is None
    assert len(tk.compare(a.iloc[:0], b.iloc[:0], folder=tmp_path).results(by="voice")) == 0
