"""tk.copy_ratio and tk.closeness: how much of its source an output repeats, against figures
worked out by hand here."""

import math
from pathlib import Path

import pandas as pd
import pytest

import toolkit as tk


@pytest.mark.parametrize("source, output, ratio", [
    ("the cat sat down", "the cat sat down", 1.0),
    ("the cat sat down", "  the   cat sat\ndown ", 1.0),        # white space aside
    ("the cat sat down", "the dog sat down", 2 * 3 / 8),        # 3 of 4 words matched, in order
    ("a b c d", "d c b a", 2 * 1 / 8),                           # the same words, order reversed
    ("a b c", "x y", 0.0),
    ("", "", 1.0),
])
def test_copy_ratio_by_hand(source, output, ratio):
    assert tk.copy_ratio(source, output) == pytest.approx(ratio)


def test_closeness_per_row_and_by_group():
    df = pd.DataFrame({"text": ["one two three four", "one two three four", "abcd", "x"],
                       "out": ["one two three four ", "one two", None, "x y z"],
                       "voice": ["a", "a", "b", "b"]}, index=[10, 11, 12, 13])
    per_row = tk.closeness(df, "out")
    assert per_row.index.tolist() == [10, 11, 12, 13]
    assert per_row["copy"].tolist() == [True, False, False, False]
    assert per_row["length_ratio"].tolist()[:2] == [19 / 18, 7 / 18] and math.isnan(per_row["length_ratio"][12])
    assert per_row["copy_ratio"][11] == pytest.approx(2 * 2 / 6) and math.isnan(per_row["copy_ratio"][12])
    grouped = tk.closeness(df, "out", by=["voice"])
    assert grouped["rows"].tolist() == [2, 2] and grouped["copies"].tolist() == [1, 0]
    assert grouped.loc["a", "copy_ratio"] == pytest.approx((1 + 4 / 6) / 2)
    assert grouped.loc["b", "copy_ratio"] == pytest.approx(2 * 1 / 4)  # the row without output left out
    with pytest.raises(KeyError, match="no column 'nope'"):
        tk.closeness(df, "nope")


def test_a_prompts_worked_examples():
    prompt = tk.load_prompt(Path(__file__).parents[1] / "prompts/style_clone/generic_v1.yaml")
    assert prompt.examples and all(isinstance(e, str) for e in prompt.examples)
    assert prompt.examples == [m["content"] for m in prompt.render({"text": "x"})[:-1] if m["role"] == "assistant"]
