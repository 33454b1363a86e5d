"""tk.coverage on planted runs over the factual-QA manual: chunks kept, dropped ("no pair from this
chunk") and never asked, sentences covered by kept answers, and a strip per document."""

import pandas as pd
import pytest

import toolkit as tk
from toolkit.coverage import NO_PAIR
from toolkit.grounding import source_sentences


@pytest.fixture(scope="module")
def chunks():
    return tk.chunk(tk.load_texts("data/factual_qa"), max_tokens=250)


def run(chunks):
    """Samples from the first 8 chunks: chunk 2 gives two pairs (one kept), chunks 3 and 5 give
    only dropped rows; chunks 8 and after were never run."""
    ids = chunks["chunk_id"].tolist()
    rows = [(ids[0], "ok"), (ids[1], "ok"), (ids[2], "ok"), (ids[2], "bad"), (ids[3], "bad"), (ids[4], "ok"),
            (ids[5], "bad"), (ids[6], "ok"), (ids[7], "ok")]
    text = dict(zip(chunks["chunk_id"], chunks["text"]))
    df = pd.DataFrame({"chunk_id": [c for c, _ in rows], "text": [text[c] for c, _ in rows],
                       "answer": [source_sentences(text[c])[1] for c, _ in rows],  # each cites its 2nd sentence
                       "status": [s for _, s in rows]})
    kept = df[df["status"] == "ok"]
    dropped = df[df["status"] == "bad"].assign(dropped_because="label=bad")
    return ids, tk.grounding(kept), dropped


def test_chunks_by_status_and_the_reason_for_those_that_gave_nothing(chunks):
    ids, kept, dropped = run(chunks)
    cov = tk.coverage(chunks, kept, dropped)
    status = dict(zip(cov.chunks["chunk_id"], cov.chunks["status"]))
    assert [status[c] for c in ids[:8]] == ["kept", "kept", "kept", "dropped", "kept", "dropped", "kept", "kept"]
    assert all(status[c] == "never asked" for c in ids[8:])
    gave_nothing = cov.chunks[cov.chunks["status"] == "dropped"]
    assert gave_nothing["reason"].tolist() == [NO_PAIR] * 2 and gave_nothing["first_drop"].tolist() == ["label=bad"] * 2
    assert cov.counts() == {"coverage: no pair from this chunk": 2}
    row = cov.chunks.set_index("chunk_id").loc[ids[2]]
    assert (row["kept_samples"], row["dropped_samples"]) == (1, 1)
    docs = cov.documents.set_index("document")
    assert docs["chunks"].sum() == len(chunks) and docs.loc["01_overview.md", "never asked"] == 0
    assert (docs[["kept", "dropped", "never asked"]].sum(axis=1) == docs["chunks"]).all()
    assert "2 dropped (no pair from this chunk)" in repr(cov)


def test_sentences_covered_are_the_kept_answers_support(chunks):
    ids, kept, dropped = run(chunks)
    cov = tk.coverage(chunks, kept, dropped, support="answer.support")
    by = cov.chunks.set_index("chunk_id")
    for c in ids[:8]:
        assert by.loc[c, "sentences"] == len(source_sentences(chunks.set_index("chunk_id").loc[c, "text"]))
        assert by.loc[c, "covered_at"] == ((1,) if by.loc[c, "status"] == "kept" else ())
    assert cov.documents["covered"].sum() == 6 and cov.documents["sentences"].sum() == by["sentences"].sum()


def test_the_plot_has_a_strip_per_document(chunks):
    ids, kept, dropped = run(chunks)
    fig = tk.coverage(chunks, kept, dropped, support="answer.support").plot()
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == sorted(chunks["source"].unique())
    bars = [c for c in ax.collections]
    assert len(bars) == len(chunks) + 6  # one cell per chunk, one mark per covered sentence
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["kept", "dropped", "never asked",
                                                                   "sentence covered"]


def test_samples_of_another_run_are_refused(chunks):
    stray = pd.DataFrame({"chunk_id": ["notes.md#0-10"]})
    with pytest.raises(ValueError, match="1 chunk ids of the kept samples are not in chunks"):
        tk.coverage(chunks, stray)
