"""Every public function on an empty selection (0 rows) and on a single row.

A filter that leaves nothing is everyday notebook life, so the chain load → chunk → every step
form → show, compare, labels, keep, sharegpt, export_jsonl, export_hf, overview must give an
empty result with the right columns (or a clear message), never an internal KeyError/TypeError.

Steps run against real servers (loopback, a fleet of two, the batch service). The downstream
functions get "the same frame after a filter": the 1-row step output, filtered to n rows, so
they are tested on 0 rows even where a step cannot yet run on 0 rows itself.
"""

import json
import warnings

import matplotlib
import pandas as pd
import pytest

import toolkit as tk
from tests.batch_server import BatchServer
from tests.loopback import LoopbackServer, _text
from tests.test_beside import answers, health_frame
from tests.test_judges import pairwise_runs
from toolkit.chunking import COLUMNS as CHUNK_COLUMNS
from toolkit.frame import STATUS_FIELDS
from toolkit.outputs import output_hash

matplotlib.use("Agg")

# Fixed on other branches; the lead removes these marks after merging them.

TEXT = "Hello world. This is the only paragraph of the file."

# form: (prompt's user turn, Step keywords, output columns, how it runs)
FORMS = {
    "plain": ("{text}", {}, ["plain"], "step"),
    "one_to_many": ("LIST {text}", {"parse": "json", "columns": ["question", "answer"]},
                    ["question", "answer"], "step"),
    "dict": ("DICT {text}", {"parse": "json", "columns": ["question", "answer"]},
             ["question", "answer"], "step"),
    "batch": ("{text}", {}, ["batch"], "batch"),
    "fleet": ("{text}", {}, ["fleet"], "fleet"),
}


def reply(body):
    """Echo, or a JSON list / dict made from the row's own text (so each answer names its row)."""
    user = _text([m for m in body["messages"] if m["role"] == "user"][-1]["content"])
    if user.startswith("LIST "):
        return json.dumps([{"question": f"q{i}: {user[5:]}", "answer": f"a{i}"} for i in range(2)])
    if user.startswith("DICT "):
        return json.dumps({"question": f"q: {user[5:]}", "answer": "a"})
    return "echo: " + user


@pytest.fixture
def chunks(tmp_path):
    """chunks(n): the chunk frame of a file with no text (n=0) or one paragraph (n=1)."""
    def make(n):
        path = tmp_path / f"doc{n}.txt"
        path.write_text(TEXT if n else "", encoding="utf-8")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", tk.TextWarning)  # the empty file says it has no text
            return tk.chunk(tk.load_texts(path))
    return make


@pytest.fixture
def servers():
    with LoopbackServer(latency=0, reply=reply) as a, LoopbackServer(latency=0, reply=reply) as b, \
            BatchServer(polls=1) as batch:
        yield a, b, batch


def run_form(form, df, servers, loopback_llm, prompt_file):
    user, kw, _, how = FORMS[form]
    prompt = prompt_file(f'messages:\n  - user: "{user}"\n', f"{form}.yaml")
    a, b, batch = servers
    llm = loopback_llm({"fleet": [a, b], "batch": batch}.get(how, a),
                       retry=tk.llm.Retry(max_attempts=2, base_delay=0.01))
    step = tk.Step(form, prompt, llm, **kw)
    return tk.batch(step, df, poll_seconds=0.01) if how == "batch" else step.run(df)


def expected_columns(form, df):
    return [*df.columns, *FORMS[form][2], *(f"{form}.{f}" for f in STATUS_FIELDS)]


# -- load → chunk ------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [0, 1])
def test_load_then_chunk(chunks, n):
    out = chunks(n)
    assert list(out.columns) == CHUNK_COLUMNS and len(out) == n
    if n:
        assert out.loc[0, "text"] == TEXT


def test_load_texts_on_an_empty_folder_says_so(tmp_path):
    with pytest.raises(tk.TextError, match="it has no files"):
        tk.load_texts(tmp_path)


# -- every step form on 0 and 1 rows ----------------------------------------------------------

@pytest.mark.parametrize("form,n", [(form, n) for form in FORMS for n in (0, 1)])
def test_step_form(chunks, servers, loopback_llm, prompt_file, form, n):
    df = chunks(n)
    out = run_form(form, df, servers, loopback_llm, prompt_file)
    assert set(expected_columns(form, df)) <= set(out.columns)
    assert list(out.columns[:len(df.columns)]) == list(df.columns)
    assert len(out) == {"one_to_many": 2 * n}.get(form, n)
    assert (out[f"{form}.status"] == "ok").all()
    if n and form in ("plain", "batch", "fleet"):
        assert out[form].tolist() == [f"echo: {TEXT}"]
    if n and form == "dict":
        assert out["question"].tolist() == [f"q: {TEXT}"]
    if n and form == "one_to_many":
        assert out["question"].tolist() == [f"q0: {TEXT}", f"q1: {TEXT}"]
        assert out["one_to_many.item"].tolist() == [0, 1]


# -- everything downstream, on the step's output filtered to 0 or 1 rows -----------------------

@pytest.fixture
def outputs(chunks, servers, loopback_llm, prompt_file):
    """outputs(form, n): the form's output on the 1-row chunk frame, filtered to its first n
    sample(s) — for 0 rows, what a filter that leaves nothing gives."""
    cache = {}

    def make(form, n):
        if form not in cache:
            cache[form] = run_form(form, chunks(1), servers, loopback_llm, prompt_file)
        out = cache[form]
        return out[out["chunk_id"].isin(out["chunk_id"].iloc[:n])]
    return make


def _cases(marks_on_0=()):
    for form in FORMS:
        for n in (0, 1):
            yield pytest.param(form, n, marks=list(marks_on_0) if n == 0 else [], id=f"{form}-{n}")


def human_gpt(form):
    dicts = form in ("dict", "one_to_many")
    return ("{question}", "{answer}") if dicts else ("{text}", "{" + form + "}")


@pytest.mark.parametrize("form,n", list(_cases()))
def test_show(outputs, form, n):
    df = outputs(form, n)
    viewer = tk.show(df, right=FORMS[form][2][-1], step=form)
    assert (viewer.sample is None) == (n == 0)
    if n:
        head = dict(viewer.sample["head"])
        assert head["id"] != "c0" and head["status"] == "ok"  # the chunk id of a file, not c0
    else:
        assert "no rows" in viewer.view["empty"]


@pytest.mark.parametrize("form,n", list(_cases()))
def test_compare(outputs, form, n):
    df = outputs(form, n)
    cmp = tk.compare(df, df, FORMS[form][2][-1], step=form)
    assert cmp.counts == {"changed": 0, "unchanged": len(df), "newly_ok": 0, "newly_failed": 0,
                          "failed_both": 0}


@pytest.mark.parametrize("form,n", list(_cases()))
def test_labels(outputs, form, n):
    df = outputs(form, n)
    out = tk.labels(df)
    assert list(out.columns) == [*df.columns, "label", "note", "label_stale"] and len(out) == len(df)
    assert (out["label"] == "unreviewed").all() and not out["label_stale"].any()


@pytest.mark.parametrize("form,n", list(_cases()))
def test_keep(outputs, form, n):
    df = outputs(form, n)
    kept, dropped = tk.keep(df, steps=[form])
    assert list(kept.columns) == list(df.columns) and len(kept) == len(df)
    assert list(dropped.columns) == [*df.columns, "dropped_because"] and len(dropped) == 0


@pytest.mark.parametrize("multi_turn", [False, True], ids=["single", "multi_turn"])
@pytest.mark.parametrize("form,n", list(_cases()))
def test_sharegpt_and_exports(outputs, tmp_path, form, n, multi_turn):
    df = outputs(form, n)
    human, gpt = human_gpt(form)
    if form == "one_to_many" and not multi_turn and n:
        with pytest.raises(ValueError, match="pass multi_turn=True"):  # two rows share one id
            tk.sharegpt(df, human, gpt, system="Be brief.")
        return
    pairs = tk.sharegpt(df, human, gpt, system="Be brief.", multi_turn=multi_turn)
    assert list(pairs.columns) == ["id", "conversations"] and len(pairs) == n
    assert pairs.dtypes.tolist() == [object, object]
    turns = 1 + {"one_to_many": 4}.get(form, 2)
    assert all(len(c) == turns for c in pairs["conversations"])
    for fmt in ("sharegpt", "openai"):
        done = tk.export_jsonl(pairs, tmp_path / f"{fmt}.jsonl", format=fmt)
        lines = (tmp_path / f"{fmt}.jsonl").read_text(encoding="utf-8").splitlines()
        assert done["rows"] == len(lines) == n
    ds = tk.export_hf(pairs, tmp_path / "hf")
    assert ds.num_rows == n and set(ds.column_names) == {"id", "conversations"}
    assert f"- rows: {n} " in (tmp_path / "hf" / "README.md").read_text(encoding="utf-8")
    import datasets
    assert datasets.load_from_disk(str(tmp_path / "hf")).num_rows == n


@pytest.mark.parametrize("form,n", list(_cases()))
def test_overview(outputs, form, n):
    df = outputs(form, n)
    fig = tk.overview(df, ["text", FORMS[form][2][-1]], [form])
    right = fig.axes[1]
    labels = [t.get_text() for t in right.texts]
    assert labels == (["no rows"] if n == 0 else [f"{len(df)} ok"])


def test_judged_and_deduped_frames_on_0_and_1_rows(tmp_path):
    h = output_hash("right 0")
    one = answers(1).assign(right="pass", **{"right.reason": "fine", "right.status": "ok", "right.judged": h})
    for n in (0, 1):
        df = one.iloc[:n]
        df.attrs["folder"] = str(tmp_path)
        v = tk.show(df, order="uncertain")
        assert (v.sample is None) == (n == 0)
        v.set_filter(judge="disagrees")
        assert v.view["n"] == 0
        d = tk.show(tk.dedupe(health_frame().iloc[:n], "gen"), right="gen")
        assert d.view["n"] == n
    empty = pairwise_runs()[0].iloc[:0]
    pairs = empty.assign(**{c: pd.Series(dtype=object) for c in (
        "plainer", "plainer.a_first", "plainer.reason", "plainer.reason_b_first", "plainer.sample", "plainer.a",
        "plainer.b")})
    c = tk.compare(empty, empty, folder=tmp_path, judge=pairs, order="uncertain")
    assert c.sample is None and "no rows" in c.view["empty"]
