"""What a text mentions (toolkit/mentions.py): numbers compared as numbers, names told from sentence
starts by the project's one sentence splitter, content words without scikit-learn's stop words."""

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from toolkit.mentions import mentions, missing


def test_numbers_are_compared_as_numbers():
    m = mentions("Feed TDS of 2,000 mg/L at 4.0 bar, 1:15 in the morning, 5mm hose, the 20th time.")
    assert list(m.numbers) == ["2000", "4", "1:15", "5", "20"]
    assert list(m.numbers.values()) == ["2,000", "4.0", "1:15", "5mm", "20th"]
    assert missing(m, mentions("2000 mg/L at 4 bar, 1:15, 5 mm, 20 times"))[0] == []
    assert missing(m, mentions("2,500 mg/L at 4.0 bar, 1:15, 5mm, 20th"))[0] == ["2,000"]


def test_a_numbered_line_is_not_a_number():
    m = mentions("1. Open valve 7.\n2. Close it.")
    assert list(m.numbers) == ["7"]


def test_names_are_capitalised_words_off_a_sentence_start():
    m = mentions("Fitch called me. I went to see Fitch at the Anchor.\nMarge was there. He said: "
                 "\"Come now.\" Mr. Fennimore agreed.")
    # "Fitch" opens a sentence once but also stands mid-sentence: a name; "Marge" opens a line and
    # "Come" a quotation: starts, so content words; "Mr." does not end a sentence (tk.sentences)
    assert list(m.names) == ["fitch", "anchor", "fennimore"]
    assert {"marge", "come", "called", "went", "agreed"} <= set(m.words)
    assert "i" not in m.words and "he" not in m.words


def test_codes_and_quoted_titles_are_names():
    m = mentions('Fit the TW-S5 cartridge (see "The Pilgrim\'s Progress"). She said "yes, all of it" twice.')
    assert list(m.names.values()) == ["The Pilgrim's Progress", "TW-S5"]
    assert "yes" not in m.names  # dialogue in quotes is not a title
    said = mentions('"Fifty a day," he said. "Found him," Marge called. "Chickens," said Olsen.')
    assert list(said.names.values()) == ["Marge", "Olsen"]  # a line of dialogue, capitalised, is not one either
    assert {"day", "chicken"} <= set(said.words)  # its words are the text's words ("fifty", "found": stop words)
    assert missing(m, mentions("Fit a TW-S5; read The Pilgrim's Progress."))[1] == []
    assert missing(m, mentions("Fit a TW-S6; read Progress."))[1] == ["The Pilgrim's Progress", "TW-S5"]
    # a rewrite that keeps a title in its quotes has kept it
    assert missing(m, mentions('Fit the TW-S5 and read "The Pilgrim\'s Progress" again.'))[1] == []


def test_content_words_leave_out_scikit_learns_stop_words():
    text = "Whereupon the keeper lit the lantern, and thereafter the lanterns burned."
    m = mentions(text)
    assert set(m.words) == {"keeper", "lit", "lantern", "burned"}  # "lanterns" = "lantern"
    assert all(w.lower() not in ENGLISH_STOP_WORDS for w in m.words.values())
    assert "whereupon" in ENGLISH_STOP_WORDS and "thereafter" in ENGLISH_STOP_WORDS  # the list is the library's


def test_missing_lists_what_the_other_text_lacks_in_order():
    a = mentions("In 1938 Fitch pawned the watch at Dunmore's shop.")
    b = mentions("Fitch sold the watch.")
    assert missing(a, b) == (["1938"], ["Dunmore's"], ["pawned", "shop"])
    assert missing(b, a) == ([], [], ["sold"])


def test_a_hyphen_splits_words_and_numbers():
    m = mentions("A 2-year warranty for the sea-wall.")
    assert list(m.numbers) == ["2"] and set(m.words) == {"year", "warranty", "sea", "wall"}



def test_tokens_with_no_key_or_several_keep_the_order_forms_and_keys():
    """mentions() reads most tokens as one key and one word; "—" (no key), "sea-wall" (two words)
    and "2-year" (two keys) take its other path: the same order, forms and keys as any token's."""
    m = mentions('The — a sea-wall, then harbour walls: "Blue Anchor" 2-year.')
    # "wall" stands where "sea-wall" first gave it, in the form of the last token that gave it
    assert list(m.words.items()) == [("sea", "sea"), ("wall", "walls"), ("harbour", "harbour"), ("year", "year")]
    assert m.names == {"blue anchor": "Blue Anchor"} and m.numbers == {"2": "2-year"}
    assert m.keys == {"the", "a", "sea", "wall", "then", "harbour", "2", "year", "blue", "anchor"}  # no None for "—"
