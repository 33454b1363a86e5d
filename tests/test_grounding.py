"""tk.grounding on the factual-QA manual (data/factual_qa): an answer citing a year its source lacks
is flagged, the supporting sentence is the one holding the answer's facts, shares are counted by hand."""

import pandas as pd
import pytest

import toolkit as tk
from toolkit.grounding import source_sentences

SOURCE = ("## Warranty\n\nThe K3 carries a 2-year warranty from the date of purchase. The UV-C module "
          "(TW-UV4) is covered for 1 year. Tidewell introduced the K3 in 2019.\n\n"
          "- Keep your receipt.\n- Register at the Tidewell website")


@pytest.fixture(scope="module")
def manual():
    return tk.chunk(tk.load_texts("data/factual_qa"), max_tokens=250)


def test_an_answer_citing_a_year_the_source_lacks_is_flagged(manual):
    chunk = manual[manual["text"].str.contains("2,000 mg/L")].iloc[0]
    rows = pd.DataFrame({"text": [chunk["text"]] * 3, "answer": [
        "The K3 was first sold in 1998.",                                   # a year the source lacks
        "Up to 18 litres per hour at 20 °C with a feed TDS of 2,000 mg/L.",  # every number in the source
        "The K3 makes drinking water."]})
    out = tk.grounding(rows)
    assert out["answer.grounding_flag"].tolist() == ["unsupported number: 1998", "", ""]
    assert out["answer.unsupported_numbers"].tolist() == [["1998"], [], []]
    assert out["answer.grounded"][1] == 1.0
    assert "18 litres per hour" in out["answer.support"][1]


def test_support_is_the_sentence_with_the_answers_facts_and_shares_by_hand():
    rows = pd.DataFrame({"text": [SOURCE] * 3, "answer": [
        "The UV-C module TW-UV4 is covered for 1 year.",
        "The warranty of the K3 runs 5 years from purchase.",
        "Register it online."]})
    out = tk.grounding(rows)
    assert out["answer.support"].tolist() == [
        "The UV-C module (TW-UV4) is covered for 1 year.",
        "The K3 carries a 2-year warranty from the date of purchase.",
        "- Register at the Tidewell website"]  # a list item is a sentence of its own
    # answer 2: 5 | K3 | warranty, runs, years, purchase -> 5 and "runs" missing: 4 of 6 found
    assert out["answer.unsupported_numbers"][1] == ["5"] and out["answer.unsupported_words"][1] == ["runs"]
    assert out["answer.grounded"][1] == pytest.approx(4 / 6, abs=1e-4)
    assert out["answer.unsupported_words"][2] == ["online"] and out["answer.grounding_flag"][2] == ""


def test_source_sentences_split_list_items_and_paragraphs():
    assert source_sentences(SOURCE) == [
        "## Warranty", "The K3 carries a 2-year warranty from the date of purchase.",
        "The UV-C module (TW-UV4) is covered for 1 year.", "Tidewell introduced the K3 in 2019.",
        "- Keep your receipt.", "- Register at the Tidewell website"]


def test_rows_without_an_answer_are_not_measured():
    out = tk.grounding(pd.DataFrame({"text": [SOURCE, None], "answer": [None, "In 1998."]}))
    assert out["answer.grounding_flag"].tolist() == [None, None]
    assert out["answer.support"].tolist() == [None, None] and out["answer.grounded"].isna().all()
    with pytest.raises(KeyError, match="no column 'reply'"):
        tk.grounding(out, answer="reply")
