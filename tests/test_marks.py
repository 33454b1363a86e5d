"""The viewer's marks (review/marks.py) on planted truth: a rewrite that drops "1947" and "Paris" marks
exactly those in the source pane, a word that only contains them stays unmarked, an invented
"Berlin" is marked in the rewrite pane, tk.grounding's support sentence is marked in the source
pane, and the text goes to the page as it is (HTML in it is text: segments are set with
textContent, never parsed)."""

import pandas as pd

import toolkit as tk
from toolkit.mentions import places
from toolkit.review import show
from toolkit.review.marks import cut, runs

SOURCE = ("In 1947 the crew left Paris for <b>Rome</b>; the Parisians kept serial 19470. "
          "Marge came back to Paris in 1951.")
REWRITE = ("The crew left for <b>Rome</b>, where Berlin folk met them; the Parisians kept serial 19470. "
           "Marge came back in 1951.")


def marked(pane, mark):
    """The pieces of a pane's segments that carry `mark`."""
    return [s[1] for s in pane["segments"] if len(s) > 2 and mark in s[2].split()]


def text_of(pane):
    return "".join(s[1] for s in pane["segments"])


def test_lost_and_invented_words_are_marked_whole_in_their_panes():
    df = tk.content_kept(pd.DataFrame({"chunk_id": ["a"], "text": [SOURCE], "generic": [REWRITE]}))
    row = df.iloc[0]
    assert row["generic.lost_numbers"] == ["1947"] and row["generic.lost_names"] == ["Paris"]
    assert "Berlin" in row["generic.invented_names"]
    for view in ("diff", "plain"):
        v = show(df, right="generic")
        v.set_filter(view=view)
        source, rewrite = v.sample["panes"]
        # every occurrence content_kept counted, nothing inside "Parisians" nor "19470"
        assert marked(source, "lost") == ["1947", "Paris", "Paris"]
        assert set(marked(rewrite, "invented")) == {"Berlin", *row["generic.invented_words"]}
        assert marked(rewrite, "lost") == [] and marked(source, "invented") == []
        assert text_of(source) == SOURCE and text_of(rewrite) == REWRITE  # every character, as it is
        assert "<b>Rome</b>" in text_of(source)
        assert source["legend"] == [["lost", "lost by the rewrite"]]
        assert rewrite["legend"] == [["invented", "invented by the rewrite"]]
    diffed = show(df, right="generic").sample["panes"][0]["segments"]
    assert ["-", "1947", "lost"] in diffed  # a lost word the diff also removed: removed and marked


def test_marks_follow_the_lists_in_the_frame_not_a_recount():
    df = tk.content_kept(pd.DataFrame({"chunk_id": ["a"], "text": [SOURCE], "generic": [REWRITE]}))
    df.at[0, "generic.lost_names"] = []  # the person's frame says only the number was lost
    source = show(df, right="generic").sample["panes"][0]
    assert marked(source, "lost") == ["1947"]


def test_a_frame_without_the_signals_has_no_marks():
    v = show(pd.DataFrame({"chunk_id": ["a"], "text": [SOURCE], "generic": [REWRITE]}), right="generic")
    for pane in v.sample["panes"]:
        assert all(len(s) == 2 for s in pane["segments"]) and "legend" not in pane and "reveal" not in pane


def test_the_support_sentence_is_marked_and_revealed():
    filler = " ".join(f"Line {i} says nothing much." for i in range(40))
    source = f"{filler} The pump was built in 1947 in Paris by Marge. It is red."
    answer = "Marge built it in 1948 in Paris."
    g = tk.grounding(pd.DataFrame({"chunk_id": ["a"], "text": [source], "answer": [answer]}))
    assert g["answer.support"].iat[0] == "The pump was built in 1947 in Paris by Marge."
    left, right = show(g, right="answer").sample["panes"]
    assert "".join(marked(left, "support")) == g["answer.support"].iat[0]
    assert left["reveal"] is True and ["support", "the sentence that supports the answer best"] in left["legend"]
    assert marked(right, "invented") == ["1948"]  # the unsupported number, in the added colour
    assert right["legend"] == [["invented", "not in the source"]]
    assert text_of(left) == source


def test_places_reads_tokens_as_mentions_does():
    text = 'In 1947 Fitch sold "The Blue Anchor" with 2-year tips.\n1. Paris had a tip of 5mm at K3 on day 1.'
    at = lambda listed: [text[a:b] for a, b in places(text, listed)]  # noqa: E731
    assert at((["1947"], [], [])) == ["1947"]
    assert at((["1"], [], [])) == ["1"] and places(text, (["1"], [], []))[0][0] > text.index("day")  # not "1."
    assert at((["5mm", "2-year"], ["K3"], ["year"])) == ["2", "year", "5mm", "K3"]
    assert at(([], ["The Blue Anchor"], [])) == ["The Blue Anchor"]  # a title whole
    assert at(([], [], ["tip"])) == ["tips", "tip"]  # every form of the key
    assert at(([], ["Blue"], [])) == [] and at(([], [], [])) == []  # a title's words are not names of their own


def test_overlapping_marks_cut_the_segments_without_losing_a_character():
    segments = [["=", "abc "], ["-", "defg"], ["=", " hij"]]
    spans = runs([(0, 11, "support"), (2, 6, "lost")])
    assert spans == [(0, 2, "support"), (2, 6, "lost support"), (6, 11, "support")]
    out = cut(segments, spans)
    assert out == [["=", "ab", "support"], ["=", "c ", "lost support"], ["-", "de", "lost support"],
                   ["-", "fg", "support"], ["=", " hi", "support"], ["=", "j"]]
    assert segments == [["=", "abc "], ["-", "defg"], ["=", " hij"]]  # the diff's (cached) segments unchanged
