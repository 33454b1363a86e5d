"""Prompt files: format, validation with file and line, versions."""

import os

import pytest

from toolkit.prompts import PromptError, load_prompt

GOOD = """description: rewrite plainly
params: {temperature: 0, max_tokens: 50}
messages:
  - system: You rewrite text.
  - user: "Example: {not a placeholder}"
  - assistant: Plain example.
  - user: |
      Rewrite for {audience}: {text}
      Keep {{braces}} literal.
"""


def test_a_prompt_renders_few_shot_verbatim_and_fills_the_template(prompt_file):
    p = load_prompt(prompt_file(GOOD, "p.yaml"))
    assert p.placeholders == ["audience", "text"]
    assert p.params == {"temperature": 0, "max_tokens": 50} and p.description == "rewrite plainly"
    msgs = p.render({"audience": "kids", "text": "Hello.", "unused": 1})
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user"]
    assert msgs[1]["content"] == "Example: {not a placeholder}"
    assert msgs[3]["content"] == "Rewrite for kids: Hello.\nKeep {braces} literal.\n"
    assert p.template_line == 7


def test_version_is_the_content_hash(prompt_file):
    a = load_prompt(prompt_file(GOOD, "a.yaml"))
    b = load_prompt(prompt_file(GOOD, "b.yaml"))
    c = load_prompt(prompt_file(GOOD.replace("plainly", "simply"), "c.yaml"))
    assert a.version == b.version != c.version and len(a.version) == 12


def test_missing_placeholder_names_file_line_and_inputs(prompt_file):
    p = load_prompt(prompt_file(GOOD, "p.yaml"))
    with pytest.raises(PromptError, match=r"p\.yaml, line 7: placeholder \{audience\} has no value\. "
                                          r"The step's inputs are: text, chunk_id"):
        p.check(["text", "chunk_id"])
    p.check(["audience", "text", "extra"])  # unused inputs are fine


@pytest.mark.parametrize("text, message", [
    ("messages: [\n  - user: x\n", r"p\.yaml, line 2: not valid YAML"),
    ("messages:\n  - user: hi\n  - robot: hello\n  - user: '{x}'\n", r"line 3: unknown role 'robot'"),
    ("messages:\n  - user: hi\n  - assistant: ok\n", r"line 3: the last message must be the user template"),
    ("messages:\n  - user: '{x'\n", r"line 2: bad placeholder syntax"),
    ("messages:\n  - user: hi\n    assistant: both\n", r"line 2: each message is one 'role: content' pair"),
    ("messages:\n  - user: ''\n", r"line 2: the user message is empty"),
    ("messages:\n  - user: a\n  - system: late\n  - user: b\n", r"line 3: a system message may only come first"),
    ("prompt: hi\n", r"expected a mapping with a non-empty 'messages:' list"),
    ("messages:\n  - user: a\nmodel: x\n", r"unknown top-level key\(s\) model"),
])
def test_bad_prompt_files_are_refused_with_a_location(text, message, prompt_file):
    with pytest.raises(PromptError, match=message):
        load_prompt(prompt_file(text, "p.yaml"))


def test_missing_file(tmp_path):
    with pytest.raises(PromptError, match=r"nope\.yaml: prompt file not found"):
        load_prompt(tmp_path / "nope.yaml")


def test_reloaded_sees_edits_and_ignores_saves_of_the_same_text(prompt_file):
    path = prompt_file(GOOD, "p.yaml")
    p = load_prompt(path)
    assert p.reloaded() is None
    path.write_text(GOOD)  # saved again, same text
    assert p.reloaded() is None
    path.write_text(GOOD.replace("You rewrite text.", "You rewrite text plainly."))
    new = p.reloaded()
    assert new.version != p.version and new.messages[0]["content"] == "You rewrite text plainly."
    assert new.path == path


def test_an_old_file_is_checked_with_one_stat(prompt_file):
    """A file not written in the last seconds has a trusted stamp: an unchanged stat means unchanged."""
    path = prompt_file(GOOD, "p.yaml")
    os.utime(path, ns=(10**18, 10**18))  # 2001: old enough to trust its stat
    p = load_prompt(path)
    assert p.stamp is not None
    path.write_text(GOOD.replace("plainly", "simply!"))  # same size ...
    os.utime(path, ns=(10**18, 10**18))  # ... and same time: only the stat is looked at
    assert p.reloaded() is None
    os.utime(path, ns=(10**18 + 1, 10**18 + 1))  # the editor's save moves the time
    assert p.reloaded().description == "rewrite simply!"


def test_a_broken_edit_names_file_and_line_until_it_is_fixed(prompt_file):
    path = prompt_file(GOOD, "p.yaml")
    p = load_prompt(path)
    path.write_text(GOOD.replace("  - assistant: Plain example.\n", "  - asistant: Plain example.\n"))
    for _ in range(2):  # stays broken until the file is fixed: no silent fall-back to the old text
        with pytest.raises(PromptError, match=r"(?s)p\.yaml, line 6: unknown role 'asistant'.*"
                                              r"nothing was sent"):
            p.reloaded()
    path.write_text(GOOD.replace("Plain example.", "A plain example."))
    assert p.reloaded().messages[2]["content"] == "A plain example."


@pytest.mark.parametrize("text, message", [
    ("messages:\n  - user: a\nmodel: x\n", r"line 3: unknown top-level key\(s\) model"),
    ("params: 3\nmessages:\n  - user: a\n", r"line 1: 'params' must be a mapping"),
])
def test_top_level_problems_have_a_line_too(text, message, prompt_file):
    with pytest.raises(PromptError, match=message):
        load_prompt(prompt_file(text, "p.yaml"))
