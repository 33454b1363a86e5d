"""Prompt files: chat messages in YAML, the last user message a template over a row's columns.

    description: Rewrite a passage as plain prose.        # optional
    params: {temperature: 0, max_tokens: 400}             # optional default sampling parameters
    messages:
      - system: You rewrite text in plain words.
      - user: <few-shot input>                            # few-shot turns are sent as written
      - assistant: <few-shot answer>
      - user: |                                           # the template: {column} placeholders,
          Rewrite this passage: {text}                    # literal braces doubled: {{ and }}

A prompt's version is the hash of its file, recorded with every output row; editing a file changes
the rendered messages, so exactly the calls whose messages changed are sent again.
"""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROLES = ("system", "user", "assistant")


class PromptError(ValueError):
    """A prompt file that cannot be used; the message names the file, line and field."""


@dataclass
class Prompt:
    path: Path
    messages: list[dict]
    params: dict = field(default_factory=dict)
    description: str = ""
    version: str = ""
    template_line: int = 0  # line of the final user message in the file, for error messages

    @property
    def placeholders(self) -> list[str]:
        """Names the template needs, in order of first appearance."""
        names = []
        for _, name, _, _ in string.Formatter().parse(self.messages[-1]["content"]):
            if name is not None and name not in names:
                names.append(name)
        return names

    def check(self, available) -> None:
        """Refuse before any call when the step's inputs lack a placeholder."""
        missing = [n for n in self.placeholders if n not in set(available)]
        if missing:
            raise PromptError(
                f"{self.path}, line {self.template_line}: placeholder {{{missing[0]}}} has no value. "
                f"The step's inputs are: {', '.join(map(str, available)) or '(none)'}. Add a column "
                f"or pass {missing[0]}=... to run(), or write the brace as {{{{ }}}} if it is literal.")

    def render(self, values: dict) -> list[dict]:
        """The messages for one row: the few-shot turns as written, then the filled template."""
        last = self.messages[-1]
        return [*self.messages[:-1],
                {"role": "user", "content": last["content"].format_map(_Strict(values, self))}]


class _Strict(dict):
    def __init__(self, values: dict, prompt: Prompt):
        super().__init__(values)
        self._prompt = prompt

    def __missing__(self, key):
        self._prompt.check(self.keys())  # raises with file and line


def load_prompt(path: str | Path) -> Prompt:
    """Read and validate a prompt file; every problem is reported with its file and line."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PromptError(f"{path}: prompt file not found") from None
    try:
        node = yaml.compose(raw)
        data = yaml.safe_load(raw)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark else ""
        raise PromptError(f"{path}{where}: not valid YAML ({getattr(e, 'problem', e)})") from None
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list) or not data["messages"]:
        raise PromptError(f"{path}: expected a mapping with a non-empty 'messages:' list "
                          "(see toolkit/prompts.py for the format)")
    unknown = set(data) - {"messages", "params", "description"}
    if unknown:
        raise PromptError(f"{path}: unknown top-level key(s) {', '.join(sorted(unknown))}; "
                          "allowed: description, params, messages")
    line_of = {i: n.start_mark.line + 1 for i, n in enumerate(_value(node, "messages").value)}
    messages = []
    for i, item in enumerate(data["messages"]):
        where = f"{path}, line {line_of[i]}"
        if not isinstance(item, dict) or len(item) != 1:
            raise PromptError(f"{where}: each message is one 'role: content' pair, e.g. '- user: ...'")
        (role, content), = item.items()
        if role not in ROLES:
            raise PromptError(f"{where}: unknown role {role!r}; use one of {', '.join(ROLES)}")
        if not isinstance(content, str) or not content.strip():
            raise PromptError(f"{where}: the {role} message is empty or not text")
        if role == "system" and i != 0:
            raise PromptError(f"{where}: a system message may only come first")
        messages.append({"role": role, "content": content})
    if messages[-1]["role"] != "user":
        raise PromptError(f"{path}, line {line_of[len(messages) - 1]}: the last message must be the "
                          "user template")
    try:
        list(string.Formatter().parse(messages[-1]["content"]))
    except ValueError as e:
        raise PromptError(f"{path}, line {line_of[len(messages) - 1]}: bad placeholder syntax ({e}); "
                          "write literal braces as {{ and }}") from None
    params = data.get("params") or {}
    if not isinstance(params, dict):
        raise PromptError(f"{path}: 'params' must be a mapping such as {{temperature: 0}}")
    return Prompt(path, messages, params, data.get("description") or "",
                  hashlib.sha256(raw.encode()).hexdigest()[:12], line_of[len(messages) - 1])


def _value(mapping_node, key: str):
    for k, v in mapping_node.value:
        if k.value == key:
            return v
    raise KeyError(key)
