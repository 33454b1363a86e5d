"""Did the rewrites lose the author's voice? A classifier that tells originals from rewrites, no model needed.

    out = tk.style_gap(v2, original="text", rewrite="generic")
    # style gap 'text' → 'generic' on 500 pairs: ROC AUC 0.97 (95 % CI 0.96–0.98, DeLong) ...
    out.sort_values("generic.style_left", ascending=False).head()   # the near-copies first

Style cloning trains a model to turn the generic rewrite back into the original. If a rewrite still
reads like the original, the pair teaches the model to copy. Each text becomes character 3–5-grams
(within words, punctuation kept) and word 1–2-grams (punctuation marks as words), hashed
(scikit-learn's HashingVectorizer: no vocabulary is learnt, so the texts are vectorised once);
a logistic regression (SGDClassifier, log loss) learns originals from rewrites in 5 folds that keep
each original with its rewrite, so no pair is judged by a model that saw it.

- `<rewrite>.style_left`: the out-of-fold probability that the rewrite is an original: near 0 the
  voice is gone, near 1 the rewrite reads like the author (look at these first).
- `<rewrite>.style_flag`: "reads like the original (style_left 0.93)" at or above `flag_at`, "" below,
  None where the row has no two texts (see flags.py: `tk.agreement(out, "generic.style_flag")`).
- the ROC AUC of the out-of-fold probabilities (originals against rewrites) with DeLong's 95 %
  interval (stats.auc): near 0.5 the rewrites kept the style, near 1 they changed it. Printed, and
  in `out.attrs["style_gap"]` (a StyleGap); the line reads "not removed" when the interval reaches
  0.5, "removed" when its low end is 0.8 or more, "partly removed" between.

Below MIN_PAIRS rows with both texts nothing is fitted: the line says how many are needed and the
columns are empty.

But: n-grams see wording, not voice in full: a rewrite that keeps the author's rare words reads as
the author. The interval treats the 2 × n texts as independent (an original and its rewrite are
not) and holds the fitted models fixed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from . import flags
from .frame import blank, column, need_column

MIN_PAIRS = 20  # below this, 5 folds train on too few pairs for the AUC to mean anything
FOLDS = 5


@dataclass(frozen=True)
class StyleGap:
    """The result of `style_gap`: pairs measured, the AUC with its 95 % interval (None below
    `needed` pairs), and how many rewrites were flagged at `flag_at`."""

    original: str
    rewrite: str
    pairs: int
    auc: float | None
    low: float | None
    high: float | None
    flagged: int
    flag_at: float
    needed: int = MIN_PAIRS

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        head = f"style gap {self.original!r} → {self.rewrite!r}"
        if self.auc is None:
            return (f"{head}: {self.pairs} pairs with both texts, {self.needed} needed: no AUC (run more "
                    "rows, or read the rewrites yourself)")
        verdict = ("the rewrites read like the originals: the voice was not removed" if self.low <= 0.5 else
                   "a classifier tells the rewrites from the originals: the voice was removed" if self.low >= 0.8
                   else "the voice was partly removed")
        return (f"{head} on {self.pairs} pairs: ROC AUC {self.auc:.2f} (95 % CI {self.low:.2f}\u2013"
                f"{self.high:.2f}, DeLong): {verdict}; {self.flagged} rewrite{'s' * (self.flagged != 1)} "
                f"read like {'their' if self.flagged != 1 else 'its'} original (style_left \u2265 {self.flag_at})")

    __repr__ = __str__


def features():
    """The text features: character 3–5-grams within words and word 1–2-grams, hashed."""
    from sklearn.feature_extraction.text import HashingVectorizer
    from sklearn.pipeline import make_union

    common = {"alternate_sign": False, "n_features": 2 ** 20, "dtype": np.float32}
    return make_union(HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), lowercase=False, **common),
                      HashingVectorizer(ngram_range=(1, 2), token_pattern=r"(?u)\b\w+\b|[^\w\s]", **common))


def classifier(seed: int = 0):
    """Logistic regression fitted by stochastic gradient descent (≈ 10 × liblinear's speed here)."""
    from sklearn.linear_model import SGDClassifier

    return SGDClassifier(loss="log_loss", random_state=seed)


def folds(seed: int = 0):
    """5 folds that keep each original with its rewrite (the groups are the pairs)."""
    from sklearn.model_selection import GroupKFold

    return GroupKFold(n_splits=FOLDS, shuffle=True, random_state=seed)


def style_gap(df: pd.DataFrame, original: str = "text", rewrite: str = "generic", *, flag_at: float = 0.5,
              seed: int = 0) -> pd.DataFrame:
    """A new frame with `<rewrite>.style_left` and `<rewrite>.style_flag` (see the module), the
    result printed and kept in `.attrs["style_gap"]`. Rows without both texts are not measured."""
    from sklearn.model_selection import cross_val_predict

    need_column(df, original), need_column(df, rewrite)
    if not 0 < flag_at < 1:
        raise ValueError(f"style_gap: flag_at={flag_at!r} must be between 0 and 1; 0.5 is where the "
                         "classifier takes a rewrite for an original")
    a, b = df[original].to_numpy(dtype=object), df[rewrite].to_numpy(dtype=object)
    both = np.array([not blank(x) and not blank(y) for x, y in zip(a, b)], dtype=bool)
    rows = np.flatnonzero(both)
    left = np.full(len(df), np.nan)
    gap = dict(original=original, rewrite=rewrite, pairs=len(rows), auc=None, low=None, high=None,
               flagged=0, flag_at=flag_at)
    if len(rows) >= MIN_PAIRS:
        from .stats import auc

        n = len(rows)
        texts = [str(t) for t in a[rows]] + [str(t) for t in b[rows]]
        is_original = np.r_[np.ones(n, dtype=int), np.zeros(n, dtype=int)]
        pairs = np.r_[np.arange(n), np.arange(n)]
        x = features().transform(texts)
        p = cross_val_predict(classifier(seed), x, is_original, groups=pairs, cv=folds(seed),
                              method="predict_proba")[:, 1]
        left[rows] = p[n:]
        value, low, high = auc(is_original, p)
        gap.update(auc=value, low=low, high=high, flagged=int((p[n:] >= flag_at).sum()))
    out = df.copy()
    out[column(rewrite, "style_left")] = left.round(4)
    measured = both & ~np.isnan(left)
    reasons = [f"reads like the original (style_left {p:.2f})" if p >= flag_at else "" for p in left[measured]]
    out[flags.column(rewrite, "style")] = flags.values(len(df), measured, reasons, df.index)
    out.attrs["style_gap"] = result = StyleGap(**gap)
    print(result)
    return out
