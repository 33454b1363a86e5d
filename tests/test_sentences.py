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
