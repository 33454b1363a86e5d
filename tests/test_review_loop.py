"""The review widgets' write-back keys, through the messages the page sends (issue 32): e corrects
the shown output (Store.correct, tied to its hash), f promotes the shown row into the step's draft
(tk.promote), r traces the shown sample (tk.trace, from the cache)."""

import warnings
from pathlib import Path

import pandas as pd

import toolkit as tk
from tests.test_viewer import send
from toolkit.decisions.store import Store
from toolkit.outputs import output_hash
from toolkit.review import compare, show

ROOT = Path(__file__).resolve().parents[1]
# What the notebook cell of the browser tests runs too: the new_pipeline step replayed from its
# recording on a draft of its prompt (rows 0 and 4 ok, 1-3 failed), in run folder `folder`.
STEP = f"""
import toolkit as tk
prompt_file = tk.draft({str(ROOT / "prompts/new_pipeline/first_step_v2.yaml")!r}, folder, name="first.yaml")
llm = tk.LLM(folder=folder, replay={str(ROOT / "notebooks/recordings/new_pipeline.jsonl")!r})
first = tk.Step("first", prompt_file, llm, max_retries=0, parse=lambda answer: answer.strip().splitlines()[0])
out = first.run(tk.chunk(tk.load_texts({str(ROOT / "data/factual_qa")!r}), max_tokens=200).head(5))
"""


def run_step(folder):
    space = {"folder": str(folder)}
    exec(STEP, space)
    return space["out"], space["prompt_file"]


def frame():
    return pd.DataFrame({"chunk_id": ["c0", "c1", "c2"], "text": ["one", "two", "three"],
                         "gen": ["first output", "second output", "third output"], "gen.status": "ok"})


def editing(v, side=-1):
    """What the page's editor starts from: the sample's edits entry the e key (side -1) opens."""
    return v.sample["edits"][side]


def test_a_correction_is_stored_on_the_output_shown_and_drawn_as_yours(tmp_path):
    v = show(frame(), right="gen", folder=tmp_path)
    e = editing(v)
    assert (e["pane"], e["text"], e["state"], e["output"]) == (1, "first output", None, output_hash("first output"))
    send(v, do="correct", pane=1, output=e["output"], text="The first, as it should read.")
    assert v.message == "saved your correction of gen for c0 (z undoes it)" and not v.view["alert"]
    with Store(tmp_path) as store:
        assert store.correction_of("c0", "gen") == {"text": "The first, as it should read.",
                                                    "output": output_hash("first output")}
    pane = v.sample["panes"][1]
    assert pane["segments"] == [["=", "The first, as it should read."]] and "your correction" in pane["title"]
    assert editing(v)["state"] == "corrected" and editing(v)["model"] == "first output"
    assert editing(v)["text"] == "The first, as it should read."  # e again edits your text
    assert tk.labels(frame().assign(**{"gen": frame()["gen"]}), folder=tmp_path)["gen.corrected"][0] == \
        "The first, as it should read."
    send(v, do="undo")
    assert v.message == "undid your correction of gen for c0: the model's output shows again"
    assert editing(v)["state"] is None and v.sample["panes"][1]["segments"] != [["=", "The first, as it should read."]]
    with Store(tmp_path) as store:
        assert store.correction_of("c0", "gen") is None


def test_a_correction_is_refused_when_the_output_is_not_the_one_edited(tmp_path):
    v = show(frame(), right="gen", folder=tmp_path)
    send(v, do="correct", pane=1, output=output_hash("something else"), text="mine")
    assert v.view["alert"] and "not saved" in v.message
    send(v, do="correct", pane=1, output=editing(v)["output"], text="   ")  # empty trains nothing
    assert v.view["alert"] and "empty" in v.message
    send(v, do="correct", pane=1, output=editing(v)["output"], text="first output")  # the model's own text
    assert "nothing saved" in v.message
    with Store(tmp_path) as store:
        assert store.corrections() == {}
    off = show(frame(), right="gen")
    assert "edits" not in off.sample
    send(off, do="correct", pane=1, output=output_hash("first output"), text="mine")
    assert off.view["alert"] and "folder=" in off.message


def test_a_parsed_answer_is_corrected_with_json(tmp_path):
    df = frame().assign(gen=[{"q": "a?"}, {"q": "b?"}, {"q": "c?"}])
    v = show(df, right="gen", folder=tmp_path)
    send(v, do="correct", pane=1, output=editing(v)["output"], text="not json")
    assert v.view["alert"] and "JSON" in v.message
    send(v, do="correct", pane=1, output=editing(v)["output"], text='{"q": "A better question?"}')
    assert editing(v)["state"] == "corrected"


def test_a_correction_on_an_earlier_output_is_stale_and_not_applied_and_a_second_viewer_sees_it(tmp_path):
    first = show(frame(), right="gen", folder=tmp_path)
    second = show(frame(), right="gen", folder=tmp_path)  # another viewer on the folder
    rerun = show(frame().assign(gen=["a new first output", "second output", "third output"]), right="gen",
                 folder=tmp_path)
    send(first, do="correct", pane=1, output=editing(first)["output"], text="Mine.")
    send(second, do="sync")  # what the page asks every second
    assert editing(second)["state"] == "corrected" and second.sample["panes"][1]["segments"] == [["=", "Mine."]]
    send(rerun, do="sync")
    assert editing(rerun)["state"] == "stale"
    assert "not applied" in rerun.sample["panes"][1]["note"]
    assert all("Mine." not in text for _, text in rerun.sample["panes"][1]["segments"])
    assert editing(rerun)["text"] == "a new first output"  # e starts from the output shown


def test_compare_corrects_either_side_and_undo_reverts(tmp_path):
    a, b = frame(), frame().assign(gen=["new first", "second output", "new third"])
    c = compare(a, b, "gen", folder=tmp_path)
    left, right = c.sample["edits"]
    assert (left["pane"], left["text"], right["pane"], right["text"]) == (0, "first output", 1, "new first")
    send(c, do="correct", pane=0, output=left["output"], text="Fixed A.")
    assert c.sample["edits"][0]["state"] == "corrected" and c.sample["edits"][1]["state"] is None
    assert c.sample["panes"][0]["segments"] == [["=", "Fixed A."]]
    send(c, do="correct", pane=1, output=c.sample["edits"][1]["output"], text="Fixed B.")
    assert c.sample["edits"][1]["state"] == "corrected"
    send(c, do="undo")
    assert "undid your correction of gen for c0: your earlier correction shows again" == c.message
    blind = compare(a, b, "gen", folder=tmp_path / "blind", blind=True, seed=3)
    shown = [p["segments"] for p in blind.sample["panes"]]
    assert [[["=", e["text"]]] == s or e["text"] in "".join(t for _, t in s)
            for e, s in zip(blind.sample["edits"], shown)] == [True, True]  # each side edits what it shows


def test_promote_key_writes_the_shown_row_into_the_draft_and_marks_it(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, prompt_file = run_step(tmp_path)
    v = show(out, right="first")  # no draft=: the run folder's draft that made the rows
    before = Path(prompt_file).read_text()
    send(v, do="promote")
    assert v.message.startswith("promoted 00_front_matter.md#0-802 into first.yaml as a few-shot example") \
        and not v.view["alert"]
    assert Path(prompt_file).read_text() != before and out["first"][0] in Path(prompt_file).read_text()
    assert v.view["list"][0][-1] == "example" and ["example", "promoted to a few-shot example"] in v.sample["head"]
    send(v, do="promote")
    assert "already a few-shot example" in v.message
    send(v, do="next")
    send(v, do="promote")  # row 1 failed: no answer to make an example of
    assert v.view["alert"] and "has no answer to make an example of" in v.message and "Correct it first" in v.message
    send(v, do="correct", pane=1, output=editing(v)["output"], text="The K3 is a home desalination unit.")
    send(v, do="promote")  # corrected: your text is its answer
    assert not v.view["alert"] and "The K3 is a home desalination unit." in Path(prompt_file).read_text()
    other = show(out, right="first", draft=tmp_path / "cache.sqlite")
    send(other, do="promote")
    assert other.view["alert"] and "is not a prompt draft" in other.message


def test_promote_without_a_draft_says_how_to_give_one(tmp_path):
    df = frame().assign(**{"gen.prompt_version": "abc"})
    v = show(df, right="gen", folder=tmp_path)
    send(v, do="promote")
    assert v.view["alert"] and "Pass draft=<the step's draft> to show()" in v.message
    c = compare(df, df, "gen", folder=tmp_path)
    send(c, do="promote")
    assert c.view["alert"] and "to compare()" in c.message
    off = show(df, right="gen")
    send(off, do="promote")
    assert off.view["alert"] and "folder=" in off.message


def test_trace_key_sends_the_escaped_trace_of_the_shown_sample(tmp_path, monkeypatch):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, _ = run_step(tmp_path)
    out.loc[4, "first"] = "<img src=x onerror=alert(1)>"  # a model text that is HTML
    v = show(out, right="first")
    sent = []
    monkeypatch.setattr(v, "send", lambda content, *a, **k: sent.append(content))
    send(v, do="go", pos=4)
    send(v, do="trace")
    assert v.message == "trace of 01_overview.md#2258-2815: 1 step (Esc closes)"
    (t,) = [m["trace"] for m in sent if "trace" in m]
    assert t["id"] == "01_overview.md#2258-2815" and t["html"] == tk.trace(out, t["id"])._repr_html_()
    assert "<img" not in t["html"] and "&lt;img src=x onerror=alert(1)&gt;" in t["html"]
    assert "user:" in t["html"] and "attempt 1" in t["html"]  # the messages as sent, each attempt
    c = compare(out, out, "first", blind=True)
    send(c, do="trace")
    assert c.view["alert"] and "blind" in c.message
    c = compare(out, out, "first")
    monkeypatch.setattr(c, "send", lambda content, *a, **k: sent.append(content))
    send(c, do="trace")
    assert c.message.endswith("in run B: 1 step (Esc closes)")


def test_an_empty_filter_refuses_each_key(tmp_path):
    v = show(frame(), right="gen", folder=tmp_path)
    v.set_filter(search="nothing matches this")
    for do in ("trace", "promote", "correct"):
        send(v, do=do)
        assert v.view["alert"] and "no sample is shown" in v.message
