"""tk.promote: a reviewed row becomes a few-shot turn pair in its step's prompt draft.

The user turn is what the step sent for that row, the answer your correction or the output; the
rest of the draft stays byte for byte; the next run re-sends with the example; the row is left out
of the before/after comparison's results and of a judge's agreement; bad input is refused with a
reason and nothing written."""

import difflib
import json
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import toolkit as tk
from tests.loopback import LoopbackServer
from tests.test_judges import PAIRWISE, last_user, pairwise_runs, prefers_new, run_judge
from toolkit.decisions import Store
from toolkit.outputs import output_hash

SOURCE = """# Translate short sentences.
description: >
  Turn a sentence into Spanish,
  briefly.
params: {temperature: 0, max_tokens: 40}
messages:
  - system: 'You translate: briefly.'   # quoted on purpose
  - user: |
      Into Spanish:

      Good morning.
  - assistant: Buenos días.

  # the template: {text} is the row's sentence
  - user: |
      Into Spanish:

      {text}
"""


def reply(body):
    """An answer that shows how many worked examples the request held, so a new one changes it."""
    turns = sum(m["role"] == "user" for m in body["messages"])
    return f"{turns} turns: {last_user(body).splitlines()[-1]}"


def made(prompt_file, folder, text=SOURCE):
    """A draft of `text` in the run folder, as a notebook makes one."""
    return tk.draft(prompt_file(text, "translate.yaml"), folder, name="translate.yaml")


def test_promote_writes_the_sent_input_and_your_answer_before_the_template_and_the_next_run_resends(
        loopback_llm, prompt_file, rows, folder):
    draft = made(prompt_file, folder)
    old_text, old = draft.read_text(), tk.load_prompt(draft)
    with LoopbackServer(latency=0, reply=reply) as srv:
        step = tk.Step("es", draft, loopback_llm(srv))
        before = step.run(rows(4, "sentence"))
        sent = [step.preview(rows(4, "sentence"), i)[-1]["content"] for i in range(4)]
        tk.correct(before, "c1", "Frase uno, corregida.")
        done = tk.promote(before, ["c1", "c2"], draft)
        after = step.run(rows(4, "sentence"))
        assert srv.count == 8  # every row sent again: the prompt changed
        last = srv.requests[-1]["body"]["messages"]
    new = tk.load_prompt(draft)
    pairs = [{"role": "user", "content": sent[1]}, {"role": "assistant", "content": "Frase uno, corregida."},
             {"role": "user", "content": sent[2]}, {"role": "assistant", "content": before["es"][2]}]
    assert new.messages == old.messages[:-1] + pairs + old.messages[-1:]
    assert last[:-1] == [m for m in new.messages[:-1]]  # what the rerun sent: the examples included
    assert done == {"draft": str(draft), "version": f"{old.version} → {new.version}", "examples": ["c1", "c2"],
                    "already in the draft": []}
    assert after["es.prompt_version"].eq(new.version).all() and before["es.prompt_version"].eq(old.version).all()
    # the rest of the file is as it was: one block of new lines, after the blank line, above the template's comment
    ops = difflib.SequenceMatcher(None, old_text.splitlines(), draft.read_text().splitlines()).get_opcodes()
    assert [op[0] for op in ops] == ["equal", "insert", "equal"]
    assert old_text.splitlines()[ops[1][1] - 1:ops[1][1] + 1] == ["", "  # the template: {text} is the row's sentence"]
    assert draft.read_text().splitlines()[ops[1][3]:ops[1][4]][:2] == ["  - user: |", "      Into Spanish:"]
    # the promotions are decisions, tied to the outputs promoted, and the comparison leaves them out
    assert Store(folder).examples() == {"es": {sid: {"output": output_hash(before["es"][k]), "draft": str(draft)}
                                               for k, sid in ((1, "c1"), (2, "c2"))}}
    c = tk.compare(before, after)
    assert c.counts["changed"] == 4
    for sid in ("c0", "c1", "c2", "c3"):
        c.jump(sid)
        c.pick("B")
    results = c.results()
    assert (results["n"][0], results["B"][0]) == (2, 2)  # c1 and c2 would grade the prompt on its own example
    with Store(folder) as s:
        s.example([("c1", output_hash(before["es"][1]))], "es", None)  # no longer an example
    assert c.results()["n"][0] == 3


def test_a_promoted_row_is_left_out_of_a_judges_agreement(loopback_llm, prompt_file, folder):
    draft = made(prompt_file, folder)
    version = tk.load_prompt(draft).version
    n, bad = 12, {0, 3, 6, 9}
    df = pd.DataFrame({"chunk_id": [f"c{i}" for i in range(n)],
                       "answer": [f"{'wrong' if i in bad else 'right'} {i}" for i in range(n)],
                       "answer.status": "ok", "answer.prompt_version": version, "text": "x"})
    judge, out = run_judge(loopback_llm, prompt_file, df, {"wrong 3", "wrong 6", "right 1"})
    with Store(folder) as s:
        for sid, answer in zip(df["chunk_id"], df["answer"]):
            s.label(sid, output_hash(answer), "bad" if answer.startswith("wrong") else "good")
    whole, rest = tk.agreement(out, judge), tk.agreement(out.iloc[2:], judge)
    tk.promote(out, ["c0", "c1"], draft, column="answer")
    now = tk.agreement(out, judge)
    assert (whole.n, now.n, now.examples) == (12, 10, 2)
    assert (now.kappa, now.confusion) == (rest.kappa, rest.confusion)  # the figures of the other ten
    assert "not counted: 2 promoted to few-shot examples" in str(now)


def test_a_promoted_row_is_left_out_of_a_pairwise_judges_agreement(loopback_llm, prompt_file, folder):
    v1, v2 = pairwise_runs()
    draft = made(prompt_file, folder)
    v1["generic.prompt_version"] = tk.load_prompt(draft).version
    v1.attrs["folder"] = str(folder)
    with LoopbackServer(latency=0, reply=prefers_new) as srv:
        judge = tk.Judge("plainer", prompt_file(PAIRWISE, "p.yaml"), loopback_llm(srv), verdict=tk.Preference)
        out = judge.compare(v1, v2)
    with Store(folder) as s:
        for i, pick in enumerate(["B", "B", "A", "tie"]):
            s.pick(f"c{i}", output_hash(f"old {i}"), output_hash(f"new {i}"), pick)
    assert tk.agreement(out, judge).n == 4
    tk.promote(v1, ["c0"], draft)
    a = tk.agreement(out, judge)
    assert (a.n, a.examples) == (3, 1) and "1 promoted to few-shot examples" in str(a)


def frame(draft, folder):
    """A run of the draft: c0 ok, c1 ok, c2 failed, c3 skipped."""
    df = pd.DataFrame({"chunk_id": ["c0", "c1", "c2", "c3"], "text": ["One.", "Two.", "Three.", None],
                       "es": ["Uno.", "Dos.", None, None], "es.raw": ["Uno.", "Dos.", "Tres??", None],
                       "es.status": ["ok", "ok", "failed", "skipped"],
                       "es.error": [None, None, "parse: no sentence\nmore", "no value for {text}"],
                       "es.prompt_version": tk.load_prompt(draft).version})
    df.attrs["folder"] = str(folder)
    return df


def test_bad_input_is_refused_with_a_reason_and_nothing_is_written(prompt_file, folder, tmp_path):
    draft = made(prompt_file, folder)
    df, text = frame(draft, folder), draft.read_text()
    cases = [
        (ValueError, r"row 'c2' has no answer.*es.status is 'failed' \(parse: no sentence\).*tk.correct",
         dict(ids=["c0", "c2"])),
        (ValueError, r"row 'c3' has no answer.*'skipped'", dict(ids="c3")),
        (KeyError, r"no sample 'c7', 'c9' in the frame", dict(ids=["c7", "c0", "c9"])),
        (ValueError, r"is not a prompt draft.*never into a prompt under prompts/.*tk.draft",
         dict(draft=tmp_path / "translate.yaml")),  # the source itself
        (ValueError, r"'text' is not a step's output column.*column= naming", dict(column="text")),
    ]
    for error, match, kw in cases:
        with pytest.raises(error, match=match):
            tk.promote(df, **{"ids": ["c0"], "draft": draft, **kw})
    assert draft.read_text() == text and (tmp_path / "translate.yaml").read_text() == SOURCE
    # a row the draft's template did not render: the draft was edited since that run
    edited = text.replace("You translate: briefly.", "You translate.")
    draft.write_text(edited)
    with pytest.raises(ValueError, match=r"row 'c0' was made by version .* edited since .*Run the step on the draft"):
        tk.promote(df, ["c0"], draft)
    # a placeholder the row cannot fill: the step had a constant
    draft.write_text(edited.replace("{text}", "{text} ({register})"))
    df["es.prompt_version"] = tk.load_prompt(draft).version
    with pytest.raises(tk.PromptError, match=r"row 'c0': .*placeholder \{register\} has no value.*constants="):
        tk.promote(df, ["c0"], draft)
    done = tk.promote(df, ["c0"], draft, constants={"register": "formal"})
    assert tk.load_prompt(draft).messages[-3]["content"] == "Into Spanish:\n\nOne. (formal)\n"
    assert done["examples"] == ["c0"]
    # a draft whose text is no prompt
    draft.write_text("just: [a, list\n")
    with pytest.raises(tk.PromptError, match=r"promote: the draft is not a prompt file .*translate.yaml.*not valid"):
        tk.promote(df, ["c1"], draft)
    assert Store(folder).examples() == {"es": {"c0": {"output": output_hash("Uno."), "draft": str(draft)}}}


def test_a_corrected_failed_row_can_be_promoted_and_a_row_is_written_once(prompt_file, folder):
    draft = made(prompt_file, folder)
    df = frame(draft, folder)
    tk.correct(df, "c2", "Tres.")
    first = tk.promote(df, ["c2", "c0"], draft)
    assert [m["content"] for m in tk.load_prompt(draft).messages[-5:-1]] == [
        "Into Spanish:\n\nThree.\n", "Tres.", "Into Spanish:\n\nOne.\n", "Uno."]
    text = draft.read_text()
    again = tk.promote(df, ["c0", "c1"], draft)  # df is of the version before: the template is the same
    assert again["examples"] == ["c1"] and again["already in the draft"] == ["c0"]
    assert again["version"].split(" → ")[0] == first["version"].split(" → ")[1]
    assert tk.promote(df, "c1", draft)["version"].split(" → ")[0] == tk.load_prompt(draft).version
    assert draft.read_text().startswith(text[: text.index("  # the template")])
    # rerunning the notebook's tk.draft cell keeps the examples: they are your edit
    with pytest.warns(UserWarning, match="has your edits"):
        assert tk.draft(draft.parent.parent / "translate.yaml", folder, name="translate.yaml").read_text() == \
            draft.read_text()


LAYOUTS = {
    "flow-style list": "messages: [{system: Be brief.}, {user: 'Say {text}'}]\n",
    "a dash on its own line": "messages:\n  -\n    system: Be brief.\n  -\n    user: 'Say {text}'\n",
    "indentless": "params: {temperature: 0}\nmessages:\n- system: Be brief.\n- user: |\n    Say {text}\n"
                  "description: d\n",
    "CRLF line ends": SOURCE.replace("\n", "\r\n"),
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_of_a_prompt_file_takes_an_example(layout, prompt_file, folder):
    draft = made(prompt_file, folder, LAYOUTS[layout])
    with open(draft, "w", newline="") as f:  # as you saved it (tk.draft copies with "\n")
        f.write(LAYOUTS[layout])
    old_text = LAYOUTS[layout]
    old = tk.load_prompt(draft)
    df = frame(draft, folder)
    tk.promote(df, ["c1"], draft)
    new = tk.load_prompt(draft)
    rendered = old.render({"text": "Two."})[-1]["content"]
    assert new.messages == [*old.messages[:-1], {"role": "user", "content": rendered},
                            {"role": "assistant", "content": "Dos."}, old.messages[-1]]
    with open(draft, newline="") as f:
        text = f.read()
    if layout == "CRLF line ends":
        assert text.count("\n") == text.count("\r\n") and old_text.splitlines()[0] in text
    if layout in ("indentless", "CRLF line ends"):  # found by the splice: every old line kept as it was
        ops = difflib.SequenceMatcher(None, old_text.splitlines(), text.splitlines()).get_opcodes()
        assert [op[0] for op in ops] == ["equal", "insert", "equal"]


TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


@settings(max_examples=60, deadline=None)
@given(sentence=TEXT, answer=TEXT.filter(str.strip))
def test_any_text_is_written_exactly_and_braces_stay_as_they_are(sentence, answer):
    """Braces, quotes, YAML syntax, leading spaces, tabs, line breaks of every kind, `no`, `1_000`:
    the example is what the step sent and what you answered, to the character, and the template's
    placeholders are untouched (few-shot turns are sent as written: a brace in them is text)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "run"
        source = Path(tmp) / "p.yaml"
        source.write_text("messages:\n  - system: Be brief.\n  - user: |\n      Say {text} in {{braces}}\n")
        draft = tk.draft(source, folder)
        df = pd.DataFrame({"chunk_id": ["c0"], "text": [sentence], "es": [answer], "es.status": "ok",
                           "es.prompt_version": tk.load_prompt(draft).version})
        df.attrs["folder"] = str(folder)
        tk.promote(df, ["c0"], draft)
        new = tk.load_prompt(draft)
        assert new.messages[1:3] == [{"role": "user", "content": f"Say {sentence} in {{braces}}\n"},
                                     {"role": "assistant", "content": answer}]
        assert new.placeholders == ["text"]
        assert new.render({"text": "{x}"})[1:] == new.messages[1:3] + [{"role": "user", "content":
                                                                          "Say {x} in {braces}\n"}]


def test_the_promote_record_is_undone_like_any_decision(prompt_file, folder):
    draft = made(prompt_file, folder)
    df = frame(draft, folder)
    tk.promote(df, ["c0", "c1"], draft)
    with Store(folder) as s:
        s.example([("c0", output_hash("Uno."))], "es", None)
        assert set(s.examples()["es"]) == {"c1"}
        assert s.undo()["value"] is None and set(s.examples()["es"]) == {"c0", "c1"}
    assert json.loads((folder / "drafts.json").read_text())["translate.yaml"]["promoted"]  # the draft's lineage
