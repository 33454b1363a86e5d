"""The review diff: segments rebuild both texts, identical texts carry no marks, a one-word
substitution marks exactly that word on each side (texts with repeated words included), and on
the repo's own passages the marked words match the changed ones."""

import random
import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.review.diff import TOKEN, segments

ROOT = Path(__file__).resolve().parents[1]
WORD = re.compile(r"\w+")
# a small vocabulary, so words, spaces and commas repeat the way they do in prose
words = st.sampled_from(["the", "cat", "dog", "mat", "on", "and", "sat", "a", "é", "42"])
gaps = st.sampled_from([" ", " ", " ", ", ", ". ", "\n", "\n\n", "  ", " - ", "! "])


@st.composite
def prose(draw, min_words=1):
    n = draw(st.integers(min_words, 40))
    return "".join(draw(words) + draw(gaps) for _ in range(n)) + draw(words)


def text_of(segs):
    return "".join(t for _, t in segs)


def marked(segs, kind):
    return [t for k, t in segs if k == kind]


def offset_of(segs, kind):
    """Character offset of the first `kind` segment within its pane."""
    at = 0
    for k, t in segs:
        if k == kind:
            return at
        at += len(t)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), prose()), st.one_of(st.text(), prose()))
def test_segments_rebuild_both_texts(a, b):
    left, right, note = segments(a, b)
    assert note is None
    assert text_of(left) == a and text_of(right) == b
    assert {k for k, _ in left} <= {"=", "-"} and {k for k, _ in right} <= {"=", "+"}
    assert all(t for _, t in left + right)  # no empty segment


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(), prose()))
def test_identical_texts_have_no_marks(a):
    left, right, _ = segments(a, a)
    assert left == right == ([["=", a]] if a else [])


def substitute(text, k, new):
    """`text` with its k-th word token replaced by `new`, and that word's character offset."""
    tokens = TOKEN.findall(text)
    at = [i for i, t in enumerate(tokens) if WORD.fullmatch(t)][k % len([t for t in tokens if WORD.fullmatch(t)])]
    old, tokens[at] = tokens[at], new
    return "".join(tokens), old, sum(len(t) for t in tokens[:at])


@settings(max_examples=500, deadline=None)
@given(prose(), st.integers(0, 1000), st.sampled_from(["the", "dog", "mat", "NEW", "zebra"]))
def test_a_one_word_substitution_marks_exactly_that_word(a, k, new):
    b, old, at = substitute(a, k, new)
    if old == new:
        return
    left, right, _ = segments(a, b)
    assert marked(left, "-") == [old] and marked(right, "+") == [new]
    assert offset_of(left, "-") == at and offset_of(right, "+") == at


def test_the_issue_example_marks_only_the_changed_word():
    left, right, _ = segments("mat dog and dog on mat", "NEW dog and dog on mat")
    assert left == [["-", "mat"], ["=", " dog and dog on mat"]]
    assert right == [["+", "NEW"], ["=", " dog and dog on mat"]]


# Texts with repeated words where difflib (whitespace as junk) marked 3, 5 and 6 words.
REPEATS = [
    ("the cat and the dog and the cat", 3, "bird"),
    ("a, a, a, b, a, a", 3, "c"),
    ("mat dog and dog on mat", 5, "rug"),
    ("on and on and on and on", 2, "off"),
    ("the the the the the", 2, "a"),
    ("Yes. No. Yes. No. Yes.", 2, "Maybe"),
    ("one two one two\none two one two", 4, "three"),
    ("dog dog cat dog dog cat dog", 3, "cow"),
]


def test_repeated_words_one_substitution_each():
    for text, k, new in REPEATS:
        b, old, at = substitute(text, k, new)
        left, right, _ = segments(text, b)
        assert marked(left, "-") == [old] and marked(right, "+") == [new], text
        assert offset_of(left, "-") == at and offset_of(right, "+") == at, text


def test_repo_passages_with_a_tenth_of_words_replaced():
    """Each changed word is replaced by one seen nowhere else, so the changed words are known;
    the marked words on each side must be those and no more."""
    rng = random.Random(20)
    paragraphs = [p for f in sorted((ROOT / "data" / "style_clone").glob("*/*.md"))
                  for p in f.read_text().split("\n\n") if len(WORD.findall(p)) >= 20]
    assert len(paragraphs) >= 50
    changed_total = marked_total = 0
    for n, p in enumerate(paragraphs):
        tokens = TOKEN.findall(p)
        spots = rng.sample([i for i, t in enumerate(tokens) if WORD.fullmatch(t)], len(WORD.findall(p)) // 10)
        old = [tokens[i] for i in sorted(spots)]
        for j, i in enumerate(sorted(spots)):
            tokens[i] = f"Q{n}x{j}"
        left, right, _ = segments(p, "".join(tokens))
        gone = [w for t in marked(left, "-") for w in WORD.findall(t)]
        new = [w for t in marked(right, "+") for w in WORD.findall(t)]
        assert gone == old and new == [f"Q{n}x{j}" for j in range(len(spots))], p[:60]
        changed_total += len(spots)
        marked_total += len(gone)
    assert marked_total == changed_total > 100
