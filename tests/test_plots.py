"""overview: whole-number axes, counts written on the bars, no legend over them, any row count."""

import matplotlib
import pandas as pd
import pytest

import toolkit as tk

matplotlib.use("Agg")


def frame():
    return pd.DataFrame({"text": ["a b c", "a b", "x y z w", "q"], "s": ["ok ok", None, "a", "b"],
                         "s.status": ["ok", "failed", "ok", "skipped"], "t.status": ["ok"] * 4})


def ticks(axis):
    lo, hi = axis.get_view_interval()
    return [t for t in axis.get_majorticklocs() if lo <= t <= hi]


def test_counts_are_whole_numbers_written_on_the_bars_and_no_legend_covers_them():
    fig = tk.overview(frame(), ["text", "s"], ["s", "t"])
    left, right = fig.axes
    labels = sorted(t.get_text() for t in right.texts if t.get_text())
    assert labels == ["1 failed", "1 skipped", "2 ok", "4 ok"]
    assert right.get_legend() is None
    assert [t.get_text() for t in right.get_yticklabels()] == ["s", "t"]
    for axis in (left.xaxis, left.yaxis, right.xaxis):
        assert ticks(axis) and all(float(t).is_integer() for t in ticks(axis))
    legend = left.get_legend()  # above the histogram, outside the axes, so no bar is covered
    assert [t.get_text() for t in legend.get_texts()] == ["text", "s"]
    fig.canvas.draw()
    box, axes_box = legend.get_window_extent(), left.get_window_extent()
    assert box.y0 >= axes_box.y1 - 1


@pytest.mark.parametrize("n", [0, 1])
def test_zero_and_one_row(n):
    fig = tk.overview(frame().iloc[:n], ["text", "s"], ["s", "t"])
    left, right = fig.axes
    texts = [t.get_text() for t in right.texts]
    assert texts == (["no rows"] if n == 0 else ["1 ok", "1 ok"])
    assert ("no rows" in [t.get_text() for t in left.texts]) == (n == 0)


def test_a_missing_column_is_named():
    with pytest.raises(ValueError, match="no column 'x.status'"):
        tk.overview(frame(), ["text"], ["x"])
