"""Dataset health: near-duplicates against planted truth, diversity against hand-computed figures,
and the yield funnel over rows a real step (on the loopback server) failed in known ways."""

import random
import statistics
import zlib

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import toolkit as tk
from tests.loopback import LoopbackServer
from toolkit.keep import Drop, reasons, step_kind


def shingles(text):
    w = text.lower().split()
    return {tuple(w[i:i + 3]) for i in range(max(1, len(w) - 2))}


def jaccard(a, b):
    a, b = shingles(a), shingles(b)
    return len(a & b) / len(a | b)


def passage(rng, n=40):
    return " ".join(f"w{rng.randrange(50_000)}" for _ in range(n))


def planted(seed=0):
    """Originals, then copies of them changed in known ways, then near misses."""
    rng = random.Random(seed)
    originals = [passage(rng, 100) for _ in range(30)]
    rows, truth = list(originals), {}
    for k, text in enumerate(originals[:24]):
        w = text.split()
        edits = k % 6  # 0: whitespace and case only; 1-3 words edited: ≈ 0.84-0.94; 4-5: ≈ 0.74-0.79
        for i in rng.sample(range(len(w)), edits):
            w[i] = f"x{rng.randrange(10**6)}"
        variant = "  ".join(w).upper() + "\n" if edits == 0 else " ".join(w)
        if k % 4 == 1:  # and some with their halves swapped
            variant = " ".join(variant.split()[50:] + variant.split()[:50])
        rows.append(variant)
        truth[len(rows) - 1] = k
    return rows, truth


def test_dedupe_marks_exactly_the_planted_copies_at_or_over_the_threshold():
    rows, truth = planted()
    df = pd.DataFrame({"chunk_id": [f"c{i}" for i in range(len(rows))], "text": rows})
    out = tk.dedupe(df, "text", threshold=0.8)
    assert list(df.columns) == ["chunk_id", "text"]  # a new frame; the input is untouched
    expected = {j: i for j, i in truth.items() if jaccard(rows[j], rows[i]) >= 0.8}
    assert 8 <= len(expected) < len(truth)  # the planted set has copies and near misses both
    marked = out["text.dup_of"].dropna()
    assert dict(zip(marked.index, marked)) == {j: f"c{i}" for j, i in expected.items()}
    for j, i in expected.items():
        assert out.at[j, "text.dup_similarity"] == pytest.approx(jaccard(rows[j], rows[i]), abs=1e-4)
    assert out.loc[~out.index.isin(list(expected)), "text.dup_similarity"].isna().all()
    whitespace = [j for j, i in truth.items() if (j - 30) % 6 == 0 and (j - 30) % 4 != 1]
    assert (out.loc[whitespace, "text.dup_similarity"] == 1.0).all()


def test_first_occurrence_wins_and_the_kept_rows_hold_no_pair_over_the_threshold():
    rng = random.Random(1)
    a = passage(rng, 30).split()
    b = a[:]
    b[10] = "changed"           # b repeats a
    c = b[:]
    c[20] = "again"             # c repeats b, and is further from a
    texts = [" ".join(a), " ".join(b), " ".join(c), " ".join(a)]
    assert jaccard(texts[1], texts[0]) >= 0.7 and jaccard(texts[2], texts[1]) >= 0.7
    assert jaccard(texts[2], texts[0]) < 0.7
    out = tk.dedupe(pd.DataFrame({"text": texts}), "text", threshold=0.7)
    assert out["text.dup_of"].tolist() == [None, "0", None, "0"]  # c's match is b, itself marked: c stays
    kept = [t for t, d in zip(texts, out["text.dup_of"]) if d is None]
    assert all(jaccard(x, y) < 0.7 for k, x in enumerate(kept) for y in kept[k + 1:])


def test_dedupe_ids_missing_texts_and_no_rows():
    df = pd.DataFrame({"text": ["same words here and there", None, "", "same  words here and THERE"]},
                      index=[10, 11, 12, 13])
    out = tk.dedupe(df, "text")
    assert out["text.dup_of"].tolist() == [None, None, None, "10"]  # the index as a string id
    with pytest.raises(ValueError, match="repeat"):
        tk.dedupe(df.assign(sid=["a", "a", "b", "c"]), "text", id="sid")
    with pytest.raises(ValueError, match="no column 'nope'"):
        tk.dedupe(df, "nope")
    empty = tk.dedupe(df.iloc[:0], "text")
    assert list(empty.columns) == ["text", "text.dup_of", "text.dup_similarity"] and len(empty) == 0


def test_keep_drops_duplicates_with_their_reason_and_same_dtypes_for_no_rows():
    df = pd.DataFrame({"chunk_id": ["a", "b"], "text": ["one two three four", "One two three  four"],
                       "gen.status": ["ok", "ok"]})
    kept, dropped = tk.keep(tk.dedupe(df, "text"), steps=["gen"])
    assert kept["chunk_id"].tolist() == ["a"]
    assert dropped["dropped_because"].tolist() == ["duplicate of a"]
    _, none = tk.keep(df, steps=["gen"])
    assert len(none) == 0 and none["dropped_because"].dtype == dropped["dropped_because"].dtype
    assert none["dropped_because"].str.split(":").str[0].value_counts().sum() == 0  # the notebook cell works


def test_diversity_figures_match_hand_computed_values():
    texts = ["x y z w v", "x y z w u", "p q r s"]
    table = tk.diversity(pd.DataFrame({"t": [*texts, None, "  "]}), "t")["t"]
    assert table["texts"] == 3
    # unigrams: 14, distinct x y z w v u p q r s = 10; bigrams: 4 + 4 + 3 = 11, distinct xy yz zw wv wu pq qr rs = 8
    # trigrams: 3 + 3 + 2 = 8, distinct xyz yzw zwv zwu pqr qrs = 6
    assert table["distinct_1"] == pytest.approx(10 / 14, abs=1e-4)
    assert table["distinct_2"] == pytest.approx(8 / 11, abs=1e-4)
    assert table["distinct_3"] == pytest.approx(6 / 8, abs=1e-4)
    data = "\n".join(texts).encode()
    assert table["compression"] == pytest.approx(len(data) / len(zlib.compress(data, 6)), abs=1e-3)
    nn = [max(jaccard(a, b) for b in texts if b is not a) for a in texts]  # 0.5, 0.5, 0
    assert table["nn_similarity"] == pytest.approx(statistics.mean(nn), abs=1e-4)
    assert table["words_mean"] == pytest.approx(statistics.mean([5, 5, 4]), abs=0.01)
    assert table["words_std"] == pytest.approx(statistics.pstdev([5, 5, 4]), abs=0.01)
    assert table["words_p50"] == 5


def test_diversity_side_by_side_and_its_plot():
    v1 = pd.DataFrame({"t": ["the same answer again"] * 4})
    v2 = pd.DataFrame({"t": ["one answer here", "another reply there", "a third text now", "and a last one"]})
    table = tk.diversity({"v1": v1, "v2": v2}, "t")
    assert list(table.columns) == [("v1", "t"), ("v2", "t")]
    assert table.loc["distinct_3", ("v1", "t")] == pytest.approx(2 / 8)
    assert table.loc["distinct_3", ("v2", "t")] == 1.0
    assert table.loc["nn_similarity", ("v1", "t")] == 1.0 and table.loc["nn_similarity", ("v2", "t")] == 0.0
    fig = tk.diversity_plot(table)
    labels = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "0.250" in labels and "1.000" in labels  # values written on the bars
    with pytest.raises(ValueError, match="no column 't' in frame 'v2'"):
        tk.diversity({"v1": v1, "v2": v2.rename(columns={"t": "x"})}, "t")


def reply(body):
    text = body["messages"][-1]["content"]
    if "cut" in text:
        return "word " * 50  # past max_tokens
    if "garble" in text:
        return "no marker here"
    return "A: " + text


PROMPT = "params: {max_tokens: 20}\nmessages:\n  - user: \"{text}\"\n"


def test_funnel_counts_add_up_to_the_rows_in_with_kinds_from_real_step_errors(loopback_llm, prompt_file):
    texts = (["fine sample number %d here" % i for i in range(6)] + ["please cut this", "garble it"]
             + ["reject me", "skip me", "fine sample number 0 here"])
    df = pd.DataFrame({"chunk_id": [f"c{i}" for i in range(len(texts))], "text": texts,
                       "label": [None, "bad", *[None] * (len(texts) - 2)]})
    with LoopbackServer(latency=0.0, reply=reply) as srv:
        step = tk.Step("gen", prompt_file(PROMPT), loopback_llm(srv), parse=r"A: (.*)", max_retries=0,
                       validate=lambda v, row: "mentions reject" if "reject" in v else None,
                       when=lambda row: "skip" not in row["text"])
        out = tk.dedupe(step.run(df), "gen")
    f = tk.funnel(out)
    assert f.rows == len(df) and f.kept + f.reasons["rows"].sum() == f.rows
    got = {(r.where, r.kind): (r.rows, r.samples) for r in f.reasons.itertuples()}
    assert got == {("gen", "cut off at max_tokens"): (1, ["c6"]), ("gen", "parse"): (1, ["c7"]),
                   ("gen", "validator"): (1, ["c8"]), ("gen", "not selected"): (1, ["c9"]),
                   ("dedupe", "duplicate"): (1, ["c10"]), ("labels", "labelled bad"): (1, ["c1"])}
    assert f.kept == 5
    assert f.steps[["ok", "failed", "skipped", "dropped"]].values.tolist() == [[7, 3, 1, 4]]
    why = tk.drop_reasons(out)
    assert why.loc[10, "dup_of"] == "c0" and why.loc[10, "reason"] == "duplicate of c0"
    assert why["kind"].isna().sum() == f.kept
    assert f.counts()["kept"] == 5 and "gen: parse" in f.counts()
    labels = [t.get_text() for ax in f.plot().axes for t in ax.texts]
    assert "7 ok" in labels and "3 failed" in labels


def test_funnel_of_no_rows_and_unknown_reasons_kept_visible():
    df = pd.DataFrame({"chunk_id": ["a", "b"], "gen.status": ["failed", "failed"],
                       "gen.error": ["a brand new failure", "server: HTTP 500: boom after 6 attempt(s)"],
                       "gen.raw": [None, None]})
    f = tk.funnel(df)
    assert {(r.kind, r.example) for r in f.reasons.itertuples()} == {
        ("other", "gen.status=failed: a brand new failure"),
        ("transport", "gen.status=failed: server: HTTP 500: boom after 6 attempt(s)")}
    empty = tk.funnel(df.iloc[:0])
    assert (empty.rows, empty.kept, len(empty.reasons)) == (0, 0, 0)
    assert empty.steps[["ok", "failed", "skipped"]].values.tolist() == [[0, 0, 0]]
    empty.plot()


@pytest.mark.parametrize("status, error, kind", [
    ("failed", "budget: budget reached: max_cost=$1 ...", "budget"),
    ("failed", "rate_limit: HTTP 429: slow down after 6 attempt(s)", "transport"),
    ("failed", "parser raised KeyError: 'q'", "parse"),
    ("failed", "the answer was empty", "empty answer"),
    ("skipped", "no value for {q} (an earlier step failed or skipped this row)", "missing input"),
    ("failed", "a brand new failure", "other"),
    ("skipped", "", "skipped"),
])
def test_kinds_of_step_errors(status, error, kind):
    assert step_kind(status, error) == kind


def test_a_reason_is_a_record_and_its_text_is_made_from_it():
    df = pd.DataFrame({"chunk_id": ["a", "b", "c"], "label": ["meh", "ok", "bad"], "note": ["dull", "", ""],
                       "gen.status": ["ok", "failed", "ok"], "gen.raw": [None, "an answer", None],
                       # "; " inside an error text no longer splits one reason into two
                       "gen.error": [None, "it says x; y\nand more", None], "gen.dup_of": [None, None, "a"]})
    why = reasons(df, steps=["gen"], drop_labels=("meh", "bad"))
    assert why[0] == [Drop("labels", "labelled meh", "dull")]
    assert why[1] == [Drop("gen", "validator", "it says x; y", "failed")]  # answered, of no known form
    assert why[2] == [Drop("dedupe", "duplicate", "a"), Drop("labels", "labelled bad")]
    assert [str(d) for w in why for d in w] == ["label=meh: dull", "gen.status=failed: it says x; y",
                                                "duplicate of a", "label=bad"]
    f = tk.drop_reasons(df, drop_labels=("meh", "bad"))
    assert f["kind"].tolist() == ["labelled meh", "validator", "duplicate"]
    assert f["reason"].tolist() == ["label=meh: dull", "gen.status=failed: it says x; y", "duplicate of a"]


@given(st.lists(st.tuples(st.sampled_from(["ok", "failed", "skipped", None]),
                          st.sampled_from(["ok", "failed", "skipped"]),
                          st.sampled_from([None, "bad", "good"]), st.booleans()), max_size=30))
@settings(max_examples=60, deadline=None)
def test_funnel_counts_always_add_up_and_agree_with_keep(rows):
    df = pd.DataFrame({"chunk_id": [f"c{i}" for i in range(len(rows))],
                       "a.status": pd.Series([r[0] for r in rows], dtype=object),
                       "a.error": pd.Series(["parse: x; y" if r[0] == "failed" else None for r in rows], dtype=object),
                       "b.status": pd.Series([r[1] for r in rows], dtype=object),
                       "label": pd.Series([r[2] for r in rows], dtype=object),
                       "t.dup_of": pd.Series(["c0" if r[3] else None for r in rows], dtype=object)})
    f = tk.funnel(df)
    kept, dropped = tk.keep(df, steps=["a", "b"])
    assert f.rows == len(df) and f.kept == len(kept)
    assert f.kept + int(f.reasons["rows"].sum()) == len(df) == len(kept) + len(dropped)
    assert (f.steps[["ok", "failed", "skipped"]].sum(axis=1) <= len(df)).all()


def test_drop_reasons_name_samples_by_the_ids_the_viewer_jumps_to():
    # after a one-to-many step rows share their parent's chunk_id; the viewer tells them apart as <id>/<n>
    df = pd.DataFrame({"chunk_id": ["c0", "c0", "c1"], "text": ["t", "t", "u"], "gen": ["a", None, None],
                       "gen.status": ["ok", "failed", "skipped"],
                       "gen.error": [None, "parse: no match", "not selected"]})
    why = tk.drop_reasons(df)
    assert why["id"].tolist() == ["c0/0", "c0/1", "c1/0"]
    v = tk.show(df, right="gen")
    shown = []
    for k in range(len(df)):
        v.go(k)
        shown.append(v.sample["id"])
    assert shown == why["id"].tolist()


def test_one_rule_for_sample_ids_after_a_one_to_many_step():
    """dedupe's marks, drop_reasons, the viewer and the export all name a sample as frame.sample_ids
    does: after a step that made several rows of one chunk, "<chunk_id>/<n>"."""
    df = pd.DataFrame({"chunk_id": ["c0", "c0", "c1"], "text": ["t", "t", "u"],
                       "q": ["same words in this one", "same words in this one", "other words here"],
                       "q.status": "ok"})
    out = tk.dedupe(df, "q")
    assert out["q.dup_of"].tolist() == [None, "c0/0", None]
    why = tk.drop_reasons(out)
    assert why["id"].tolist() == ["c0/0", "c0/1", "c1/0"] and why["reason"][1] == "duplicate of c0/0"
    v = tk.show(out, right="q")
    v.go(1)
    dup = next(s for s in v.sample["sections"] if s["name"] == "dup:q")
    assert v.sample["id"] == "c0/1" and dup["panes"][0]["title"] == "c0/0 (the original)"
    with pytest.raises(ValueError, match=r"column 'chunk_id' has missing ids at index \[2\]"):
        tk.dedupe(df.assign(chunk_id=["c0", "c1", None]), "q")
