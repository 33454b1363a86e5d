"""tk.sentences: full stops in numbers, units and abbreviations do not end a sentence."""

import pytest

import toolkit as tk

ONE = [
    "The feed pressure must be between 1.0 and 4.0 bar.",
    "At 10 °C, the K3 produces about 12.6 L/h in AUTO mode.",
    "Use a pre-filter, e.g. the F2 cartridge, on well water.",
    "Open valve No. 3 before the pump starts.",
    "Dr. Reyes approved the 2.5 m hose (see Fig. 4).",
    "It draws approx. 45 W, i.e. less than a kettle.",
    "Call J. Smith on weekdays.",
    "Is the display showing E4?",
    "Version 1.2.3 of the firmware fixed it.",
]


@pytest.mark.parametrize("text", ONE)
def test_one_sentence_stays_one(text):
    assert tk.sentences(text) == [text]


def test_sentences_split_where_a_new_one_starts():
    text = "Check the pressure daily. It must stay under 4.0 bar! Why? \"Seals\" wear out.\n\nNo dust."
    assert tk.sentences(text) == ["Check the pressure daily.", "It must stay under 4.0 bar!", "Why?",
                                  '"Seals" wear out.', "No dust."]


def test_text_without_an_end_mark_is_one_sentence_and_empty_text_none():
    assert tk.sentences("  a fragment without a stop ") == ["a fragment without a stop"]
    assert tk.sentences("") == [] and tk.sentences("   ") == []


def test_one_home_for_where_sentences_end():
    """The chunker cuts and the review diff aligns where sentences.CUT says a text may be cut;
    tk.sentences is its careful form, and spans() gives the same sentences as offsets."""
    import hashlib
    from pathlib import Path

    from toolkit import chunking
    from toolkit.review import diff
    from toolkit.sentences import CUT, spans

    assert chunking._GAPS[1] is CUT
    text = 'Check it daily, e.g. at noon. "Then stop." no capital here.\nA line'
    assert [m.start(1) for m in CUT.finditer(text)] == [20, 29, 42, 59]  # loose: "e.g." and ". no" too
    assert ["".join(t) for t in diff._sentences(diff.TOKEN.findall(text))] == [
        "Check it daily, e.g.", " at noon.", ' "Then stop."', " no capital here.", "\n", "A line"]
    assert [text[a:b] for a, b in spans(text)] == tk.sentences(text) == [
        "Check it daily, e.g. at noon.", '"Then stop." no capital here.', "A line"]
    # chunk ids are offsets, and decisions are keyed by them: the chunks of the repository's texts
    # must not move (these are the ids main made before the rule had one home)
    data = Path(__file__).parents[1] / "data"
    for name, tokens, digest in (("style_clone", 200, "4f478d9c18dcec5b"), ("factual_qa", 250, "1e3fd16d191adb24")):
        ids = tk.chunk(tk.load_texts(data / name), max_tokens=tokens)["chunk_id"]
        assert hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16] == digest, name


def test_the_token_rule_starts_sentences_where_spans_does():
    """mentions.py reads sentence starts token by token (may_end, may_open); on the repository's
    texts and on abbreviations, initials, quotes and brackets they must be where spans() starts."""
    from pathlib import Path

    from toolkit.sentences import may_end, may_open, spans

    data = Path(__file__).parents[1] / "data"
    texts = [*ONE, 'He left. "Stay," she said. (Later.) Dr. Reyes! Mr. J. Smith? e.g. No. Fig. 4. I. A…',
             *(p.read_text() for p in sorted(data.rglob("*.md")))]
    assert len(texts) > len(ONE) + 2
    for text in texts:
        tokens, at, places = text.split(), 0, []
        for t in tokens:  # where each token starts in the text
            at = text.index(t, at)
            places.append(at)
            at += len(t)
        by_tokens = [places[i] for i in range(len(tokens))
                     if i == 0 or (may_end(tokens[i - 1]) and may_open(tokens[i]))]
        assert by_tokens == [a for a, _ in spans(text)], text[:60]
