"""Chunking guarantees: exact offsets, never over the limit, nothing lost, stable ids, honest flags."""

import os
import random
import subprocess
import sys
from pathlib import Path

import numpy
import pandas as pd
import pytest
import tiktoken
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from toolkit.chunking import COLUMNS, chunk

# tiktoken loads encodings lazily; chunk() points it at litellm's copy the first time it runs.
chunk(pd.DataFrame({"source": ["warm-up"], "text": ["x"]}))
ENCODINGS = {name: tiktoken.get_encoding(name) for name in ("cl100k_base", "o200k_base")}

WORDS = "the river ran past a quiet village where nobody remembered the name of the old mill".split()
LONG_SENTENCE = " ".join(random.Random(1).choice(WORDS) for _ in range(6000)) + "."
NO_SPACES = "".join(random.Random(2).choice("abcdefgh漢字🎉.,-") for _ in range(20000))

pieces = st.one_of(
    st.sampled_from([" ", "  ", "\n", "\n\n", "\n \n", "\n\n\n", ". ", "! ", "? ", "”. ", "\t", "/", "“", "\r"]),
    st.text(alphabet="abcdeXYZ019'.,;-/”“", min_size=1, max_size=15),
    st.text(min_size=1, max_size=5),
    st.text(alphabet="xyz漢字🎉", min_size=30, max_size=300),  # a run without spaces
)
texts = st.lists(pieces, max_size=120).map("".join)
limits = st.sampled_from([4, 7, 16, 50, 200])
PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def count(encoding, text):
    return len(ENCODINGS[encoding].encode_ordinary(text))


def frame(*texts):
    return pd.DataFrame({"source": [f"doc{i}.txt" for i in range(len(texts))], "text": list(texts)})


def check_guarantees(text, chunks, max_tokens, count):
    """Every chunk is an exact slice within the limit; only whitespace falls between chunks."""
    assert list(chunks.columns) == COLUMNS
    assert list(chunks["position"]) == list(range(len(chunks)))
    covered = 0
    for row in chunks.itertuples():
        assert text[row.start : row.end] == row.text
        assert row.chunk_id == f"{row.source}#{row.start}-{row.end}"
        assert row.tokens == count(row.text) <= max_tokens
        assert text[covered : row.start].strip() == "", "non-blank text left out between chunks"
        assert row.text == row.text.strip()
        covered = row.end
    assert text[covered:].strip() == ""


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
@PROPERTY
@given(text=texts, max_tokens=limits)
@example(text=LONG_SENTENCE, max_tokens=1500)
@example(text=NO_SPACES, max_tokens=50)
@example(text="word!\n\n/x", max_tokens=4)  # o200k joins that "/" to the line before
def test_no_chunk_exceeds_the_limit_and_offsets_are_exact(encoding, text, max_tokens):
    chunks = chunk(frame(text), max_tokens=max_tokens, tokenizer=encoding)
    check_guarantees(text, chunks, max_tokens, lambda chunk_text: count(encoding, chunk_text))
    assert set(chunks["tokenizer"]) <= {encoding}


@PROPERTY
@given(text=texts, max_tokens=limits)
@example(text=NO_SPACES, max_tokens=50)
def test_a_counting_function_is_obeyed_too(text, max_tokens):
    chunks = chunk(frame(text), max_tokens=max_tokens, tokenizer=len)
    check_guarantees(text, chunks, max_tokens, len)
    assert set(chunks["tokenizer"]) <= {"len"}


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
@settings(max_examples=300, deadline=None)
@given(left=st.text() | st.text(alphabet="ab1 .!?)'\"\n\t/"), right=st.text(min_size=1))
def test_counts_add_up_across_a_line_start(encoding, left, right):
    """The claim the fast path rests on: a newline followed by a non-space character other than
    '/' is always a token boundary, and splitting there changes no token."""
    left += "\n"
    if right[0].isspace() or right[0] == "/":
        right = "x" + right
    assert count(encoding, left + right) == count(encoding, left) + count(encoding, right)


def test_o200k_makes_the_slash_an_exception():
    assert count("o200k_base", "word!\n\n/x") == 4 != count("o200k_base", "word!\n\n") + count("o200k_base", "/x")


def test_the_long_sentence_is_split_at_spaces_and_flagged_mid_sentence():
    chunks = chunk(frame(LONG_SENTENCE), max_tokens=1500)
    assert len(chunks) >= 4
    assert chunks["tokens"].max() <= 1500
    assert list(chunks["starts_mid_sentence"]) == [False] + [True] * (len(chunks) - 1)
    assert list(chunks["ends_mid_sentence"]) == [True] * (len(chunks) - 1) + [False]
    assert all(not LONG_SENTENCE[row.end].strip() for row in chunks.iloc[:-1].itertuples())  # cut at spaces


def test_a_run_without_spaces_is_cut_at_token_boundaries():
    text = "supercalifragilistic" * 500
    chunks = chunk(frame(text), max_tokens=100)
    enc = ENCODINGS["cl100k_base"]
    assert "".join(chunks["text"]) == text
    assert chunks["tokens"].iloc[0] == 100  # the longest prefix that fits: no token is split
    first = chunks["text"].iloc[0]
    assert enc.decode(enc.encode_ordinary(text)[:100]) == first


def test_whole_paragraphs_are_packed_and_breaks_kept():
    text = "First paragraph, short.\n\nSecond one.\nWith a line break.\n\n\nThird."
    chunks = chunk(frame(text), max_tokens=1500)
    assert list(chunks["text"]) == [text]
    assert not chunks["starts_mid_sentence"][0] and not chunks["ends_mid_sentence"][0]


def test_an_over_long_paragraph_is_split_at_sentence_ends():
    sentences = [f"Sentence number {i} tells a small story about the river." for i in range(60)]
    text = "Intro paragraph.\n\n" + " ".join(sentences) + "\n\nOutro paragraph."
    chunks = chunk(frame(text), max_tokens=120)
    assert len(chunks) > 3
    assert all(t.endswith(".") for t in chunks["text"])
    assert not chunks["starts_mid_sentence"].any() and not chunks["ends_mid_sentence"].any()
    assert chunks["tokens"].max() <= 120


def test_a_long_list_is_split_at_line_breaks():
    text = "Inventory:\n" + "\n".join(f"- item {i} of the old mill's inventory" for i in range(300))
    chunks = chunk(frame(text), max_tokens=100)
    assert len(chunks) > 10 and chunks["tokens"].max() <= 100
    assert all(text[row.end] == "\n" for row in chunks.iloc[:-1].itertuples())
    assert all(row.text.startswith("- item") for row in chunks.iloc[1:].itertuples())
    assert chunks["starts_mid_sentence"].iloc[1:].all()  # a line break in a paragraph is no sentence end


def test_a_tiny_last_chunk_is_evened_out():
    paragraph = "The mill stood by the river and nobody knew who had built it. " * 8
    text = "\n\n".join([paragraph.strip()] * 11)
    per_paragraph = count("cl100k_base", paragraph.strip() + "\n\n")
    chunks = chunk(frame(text), max_tokens=10 * per_paragraph + 2)
    assert len(chunks) == 2
    assert chunks["tokens"].min() > chunks["tokens"].max() / 2  # packing alone gives 10 + 1 paragraphs


def test_ids_are_stable_and_the_input_is_not_modified():
    df = frame("One. Two.\n\nThree.", "Four five six.")
    before = df.copy()
    first, second = chunk(df, max_tokens=4), chunk(df, max_tokens=4)
    pd.testing.assert_frame_equal(first, second)
    pd.testing.assert_frame_equal(df, before)
    assert list(first["chunk_id"]) == ["doc0.txt#0-9", "doc0.txt#11-17", "doc1.txt#0-14"]


def test_tokenizer_is_named_in_the_output():
    df = frame("Hello world.")

    def words(text):
        return len(text.split())

    assert chunk(df)["tokenizer"][0] == "cl100k_base"
    assert chunk(df, tokenizer="o200k_base")["tokenizer"][0] == "o200k_base"
    assert chunk(df, tokenizer=words)["tokens"][0] == 2
    assert chunk(df, tokenizer=words)["tokenizer"][0] == "words"


def test_empty_documents_give_no_chunks_and_types_hold():
    chunks = chunk(frame("", "  \n\n "))
    assert chunks.empty and list(chunks.columns) == COLUMNS
    assert chunks["tokens"].dtype == "int64" and chunks["starts_mid_sentence"].dtype == bool


def test_bad_frames_and_limits_are_named():
    with pytest.raises(ValueError, match=r"needs columns 'source' and 'text'.*missing \['text'\]"):
        chunk(pd.DataFrame({"source": ["a"], "body": ["x"]}))
    with pytest.raises(ValueError, match=r"sources must be unique; repeated: \['a'\]"):
        chunk(pd.DataFrame({"source": ["a", "a"], "text": ["x", "y"]}))
    with pytest.raises(ValueError, match=r"row 1 \(source 'b'\): text is float"):
        chunk(pd.DataFrame({"source": ["a", "b"], "text": ["x", None]}))
    with pytest.raises(ValueError, match="max_tokens must be a positive int"):
        chunk(frame("x"), max_tokens=0)
    assert chunk(frame("x"), max_tokens=numpy.int64(5))["tokens"][0] == 1  # as read from a DataFrame
    with pytest.raises(ValueError, match="max_tokens=1 is less than the tokens of the single character '🎉'; raise"):
        chunk(frame("🎉"), max_tokens=1)
    with pytest.raises(TypeError, match="tokenizer must be a tiktoken encoding name or a function"):
        chunk(frame("x"), tokenizer=3)


def test_encodings_load_offline_from_litellm_without_importing_it(tmp_path):
    """Run in a fresh interpreter, the toolkit package stood in for by an empty one (its __init__
    imports litellm), so only chunking.py and what it imports (sentences.py) are loaded."""
    package = Path(__file__).parents[1] / "toolkit"
    script = f"""
import os, sys, types
sys.modules["toolkit"] = types.ModuleType("toolkit")
sys.modules["toolkit"].__path__ = [{str(package)!r}]
import toolkit.chunking as module
import pandas as pd
print(module.chunk(pd.DataFrame({{"source": ["a"], "text": ["Hello offline world."]}}))["tokens"][0])
print("litellm" in sys.modules, os.environ["TIKTOKEN_CACHE_DIR"])
"""
    env = {key: value for key, value in os.environ.items() if key != "TIKTOKEN_CACHE_DIR"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    tokens, flags = out.stdout.splitlines()
    assert tokens == "4"
    assert flags.startswith("False ")
    assert flags.endswith(os.path.join("litellm", "litellm_core_utils", "tokenizers"))


def test_paragraph_flags_mark_chunks_cut_inside_a_paragraph():
    from toolkit.chunking import chunk as chunk_
    sentence = "This sentence has exactly nine words in it. "
    text = "Short opening paragraph.\n\n" + sentence * 40 + "\n\nClosing paragraph."
    out = chunk_(pd.DataFrame({"source": ["d"], "text": [text]}), max_tokens=60)
    assert len(out) >= 3
    first, last = out.iloc[0], out.iloc[-1]
    assert not first["starts_mid_paragraph"] and not last["ends_mid_paragraph"]
    inner = out.iloc[1:-1]
    assert (inner["starts_mid_paragraph"] | inner["ends_mid_paragraph"]).all()
    # every flag agrees with the document: a blank line (or the edge) right before / after the chunk
    for _, c in out.iterrows():
        before, after = text[:c["start"]].rstrip(" "), text[c["end"]:]
        assert c["starts_mid_paragraph"] == (c["start"] > 0 and not before.endswith("\n\n"))
        assert c["ends_mid_paragraph"] == (c["end"] < len(text) and not after.startswith("\n\n"))
