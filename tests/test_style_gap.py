"""tk.style_gap on planted pairs: near-copies come out as the most copy-like, rewrites that kept the
voice give an AUC whose interval holds 0.5, too few pairs give no number, and the figures are those
of the same scikit-learn pipeline written plainly."""

import numpy as np
import pandas as pd
import pytest

import toolkit as tk
from tests.planted import style_pairs
from toolkit.style_gap import MIN_PAIRS, classifier, features, folds


def test_rewrites_that_copy_the_original_are_the_most_copy_like(capsys):
    originals, rewrites, copied = style_pairs(150, copies=6, seed=2)
    out = tk.style_gap(pd.DataFrame({"text": originals, "generic": rewrites}))
    left = out["generic.style_left"]
    assert set(left.nlargest(6).index) == set(copied)
    assert (out["generic.style_flag"][copied].str.startswith("reads like the original")).all()
    gap = out.attrs["style_gap"]
    assert gap.pairs == 150 and gap.auc > 0.9 and gap.low <= gap.auc <= gap.high
    assert gap.flagged == int((left >= 0.5).sum()) >= 6
    assert f"ROC AUC {gap.auc:.2f}" in capsys.readouterr().out


def test_rewrites_in_the_same_voice_give_an_auc_near_half():
    originals, _, _ = style_pairs(120, seed=3)
    others, _, _ = style_pairs(120, seed=4)  # "rewrites" in the author's own voice
    gap = tk.style_gap(pd.DataFrame({"text": originals, "generic": others})).attrs["style_gap"]
    assert gap.low <= 0.5 <= gap.high
    assert "not removed" in str(gap)


def test_below_the_minimum_it_says_so_instead_of_a_number(capsys):
    originals, rewrites, _ = style_pairs(MIN_PAIRS, seed=5)
    rewrites[3] = None  # 19 pairs with both texts
    out = tk.style_gap(pd.DataFrame({"text": originals, "generic": rewrites}))
    gap = out.attrs["style_gap"]
    assert gap.pairs == MIN_PAIRS - 1 and gap.auc is None and gap.low is None
    assert f"{MIN_PAIRS - 1} pairs with both texts, {MIN_PAIRS} needed: no AUC" in capsys.readouterr().out
    assert out["generic.style_left"].isna().all() and out["generic.style_flag"].isna().all()


def test_the_same_figures_as_the_plain_scikit_learn_pipeline():
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import cross_val_predict
    from sklearn.pipeline import make_pipeline

    originals, rewrites, _ = style_pairs(80, copies=3, seed=6)
    df = pd.DataFrame({"text": originals + ["only an original"], "generic": rewrites + [None]})
    out = tk.style_gap(df)
    texts, y = originals + rewrites, np.r_[np.ones(80), np.zeros(80)]
    p = cross_val_predict(make_pipeline(features(), classifier()), texts, y, groups=np.r_[np.arange(80), np.arange(80)],
                          cv=folds(), method="predict_proba")[:, 1]
    assert out["generic.style_left"][:80].to_numpy() == pytest.approx(p[80:].round(4), abs=1e-9)
    assert out.attrs["style_gap"].auc == pytest.approx(roc_auc_score(y, p))
    assert np.isnan(out["generic.style_left"][80]) and out["generic.style_flag"][80] is None


def test_bad_arguments_are_named():
    df = pd.DataFrame({"text": ["a"], "generic": ["b"]})
    with pytest.raises(KeyError, match="no column 'rewrite'"):
        tk.style_gap(df, rewrite="rewrite")
    with pytest.raises(ValueError, match="flag_at=1.5"):
        tk.style_gap(df, flag_at=1.5)


def test_the_style_flag_is_measured_with_agreement(folder):
    from toolkit.decisions.store import Store
    from toolkit.frame import set_folder
    from toolkit.outputs import output_hash

    originals, rewrites, copied = style_pairs(60, copies=6, seed=8)
    df = set_folder(pd.DataFrame({"chunk_id": [f"c{i}" for i in range(60)], "text": originals,
                                  "generic": rewrites}), folder)
    out = tk.style_gap(df)
    flagged = out["generic.style_flag"].ne("").to_numpy()
    folder.mkdir()
    store = Store(folder)
    for i in range(0, 60, 2):  # the person labelled every other row: the copies bad
        store.label(f"c{i}", output_hash(rewrites[i]), "bad" if i in copied else "good")
    store.close()
    a = tk.agreement(out, "generic.style_flag")
    labelled = np.arange(0, 60, 2)
    bad = np.isin(labelled, copied)
    hit = flagged[labelled]
    assert a.n == 30 and bad.any()
    assert a.confusion["bad"] == {"fail": int((bad & hit).sum()), "pass": int((bad & ~hit).sum())}
    assert a.confusion["good"] == {"fail": int((~bad & hit).sum()), "pass": int((~bad & ~hit).sum())}
