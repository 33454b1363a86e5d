"""tk.content_kept on planted rewrites: a dropped number is listed as lost, an added name as invented,
the kept share is the count by hand, and the flag is measured against a person's labels as a judge is."""

import math

import numpy as np
import pandas as pd
import pytest

import toolkit as tk
from tests.planted import style_pairs
from toolkit.decisions.store import Store
from toolkit.frame import set_folder
from toolkit.outputs import output_hash


def test_a_rewrite_that_drops_a_number_lists_it_as_lost():
    originals, rewrites, _ = style_pairs(60, seed=4)
    dropped = {}
    for i in range(0, 60, 7):  # planted: these rewrites lose their first number
        number = next(w for w in rewrites[i].split() if w.strip(".").isdigit()).strip(".")
        rewrites[i] = rewrites[i].replace(f" {number} ", " several ", 1)
        dropped[i] = number
    out = tk.content_kept(pd.DataFrame({"text": originals, "generic": rewrites}))
    lost = out["generic.lost_numbers"]
    assert {i for i, v in enumerate(lost) if v} == set(dropped)
    for i, number in dropped.items():
        assert [n.removesuffix("th") for n in lost[i]] == [number]  # as the original writes it: "21th"
        assert out["generic.content_flag"][i].startswith(f"lost number {lost[i][0]}")
    assert (out["generic.content_flag"].drop(index=list(dropped)) == "").all()


def test_lists_and_the_kept_share_by_hand():
    df = pd.DataFrame({"text": ["In 1938 Fitch pawned the watch at the Blue Anchor."],
                       "generic": ["Fitch sold his watch in 1938 to Marge at the Anchor."]})
    out = tk.content_kept(df).iloc[0]
    # the original's mentions: 1938 | Blue, Anchor | fitch, pawned, watch (Fitch opens it: a word)
    assert out["generic.lost_numbers"] == [] and out["generic.lost_names"] == ["Blue"]
    assert out["generic.lost_words"] == ["pawned"]
    assert out["generic.invented_names"] == ["Marge"] and out["generic.invented_words"] == ["sold"]
    assert out["generic.kept"] == pytest.approx(1 - 2 / 6, abs=1e-4)
    assert out["generic.content_flag"] == "lost name Blue; invented name Marge"


def test_rows_without_both_texts_are_not_measured_and_nothing_else_moves():
    df = pd.DataFrame({"text": ["Pay 5 pounds.", "Pay 5 pounds.", None], "generic": [None, "  ", "Pay 6."],
                       "other": [1, 2, 3]}, index=[7, 7, 9])
    out = tk.content_kept(df)
    assert out.index.tolist() == [7, 7, 9] and out["other"].tolist() == [1, 2, 3]
    assert out["generic.content_flag"].tolist() == [None, None, None]
    assert out["generic.kept"].isna().all() and out["generic.lost_numbers"].map(len).eq(0).all()
    assert "generic.kept" not in df  # a new frame


def test_the_flag_is_measured_with_agreement_as_a_judge_is(folder):
    originals, rewrites, _ = style_pairs(40, seed=5)
    for i in range(0, 40, 3):  # planted: an invented name
        rewrites[i] += " Ask Bellweather."
    df = set_folder(pd.DataFrame({"chunk_id": [f"c{i}" for i in range(40)], "text": originals,
                                  "generic": rewrites}), folder)
    out = tk.content_kept(df)
    flagged = out["generic.content_flag"].ne("").to_numpy()
    assert flagged.tolist() == [i % 3 == 0 for i in range(40)]  # the planted invented names, only them
    person = np.array([i % 3 == 0 or i in (1, 2) for i in range(40)])  # the person also dislikes two more
    folder.mkdir()
    store = Store(folder)
    for sid, text, bad in zip(df["chunk_id"], df["generic"], person):
        store.label(sid, output_hash(text), "bad" if bad else "good")
    store.close()
    a = tk.agreement(out, "generic.content_flag")
    tp, fp = int((person & flagged).sum()), int((~person & flagged).sum())
    fn, tn = int((person & ~flagged).sum()), int((~person & ~flagged).sum())
    po = (tp + tn) / 40
    pe = ((tp + fn) * (tp + fp) + (tn + fp) * (tn + fn)) / 40 ** 2
    assert a.n == 40 and a.confusion == {"good": {"pass": tn, "fail": fp}, "bad": {"pass": fn, "fail": tp}}
    assert a.kappa == pytest.approx((po - pe) / (1 - pe))
    half = 1.959963984540054 * math.sqrt(po * (1 - po) / (40 * (1 - pe) ** 2))
    assert (a.low, a.high) == (pytest.approx(max(-1, a.kappa - half)), pytest.approx(min(1, a.kappa + half)))
    assert "generic.content_flag" in str(a) and "40 samples" in str(a)


def test_agreement_on_a_flag_needs_a_run_folder_and_a_flag_column():
    df = tk.content_kept(pd.DataFrame({"text": ["a 1"], "generic": ["a 2"]}))
    with pytest.raises(ValueError, match="run folder"):
        tk.agreement(df, "generic.content_flag")
    with pytest.raises(ValueError, match="not a signal's flag"):
        tk.agreement(df, "generic.kept")



def test_the_viewer_opens_worst_first_on_a_signal_and_filters_on_its_flag():
    """No viewer change is needed: the frame sorted by a signal is the review order, and the frame
    filtered on a flag is the viewer's set (ids follow the rows)."""
    originals, rewrites, _ = style_pairs(12, seed=5)
    rewrites[7] = "Nothing of it is left."
    df = pd.DataFrame({"chunk_id": [f"c{i}" for i in range(12)], "text": originals, "generic": rewrites})
    out = tk.content_kept(df)
    v = tk.show(out.sort_values("generic.kept"), right="generic", folder=None)
    assert v.current == "c7"
    flagged = out[out["generic.content_flag"] != ""]
    assert 0 < len(flagged) < len(out) and tk.show(flagged, right="generic", folder=None).view["n"] == len(flagged)
