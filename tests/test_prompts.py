"""Prompt files: format, validation with file and line, versions."""

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


def write(tmp_path, text, name="p.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_prompt_renders_few_shot_verbatim_and_fills_the_template(tmp_path):
    p = load_prompt(write(tmp_path, GOOD))
    assert p.placeholders == ["audience", "text"]
    assert p.params == {"temperature": 0, "max_tokens": 50} and p.description == "rewrite plainly"
    msgs = p.render({"audience": "kids", "text": "Hello.", "unused": 1})
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user"]
    assert msgs[1]["content"] == "Example: {not a placeholder}"
    assert msgs[3]["content"] == "Rewrite for kids: Hello.\nKeep {braces} literal.\n"
    assert p.template_line == 7


def test_version_is_the_content_hash(tmp_path):
    a = load_prompt(write(tmp_path, GOOD, "a.yaml"))
    b = load_prompt(write(tmp_path, GOOD, "b.yaml"))
    c = load_prompt(write(tmp_path, GOOD.replace("plainly", "simply"), "c.yaml"))
    assert a.version == b.version != c.version and len(a.version) == 12


def test_missing_placeholder_names_file_line_and_inputs(tmp_path):
    p = load_prompt(write(tmp_path, GOOD))
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
def test_bad_prompt_files_are_refused_with_a_location(tmp_path, text, message):
    with pytest.raises(PromptError, match=message):
        load_prompt(write(tmp_path, text))


def test_missing_file(tmp_path):
    with pytest.raises(PromptError, match=r"nope\.yaml: prompt file not found"):
        load_prompt(tmp_path / "nope.yaml")
