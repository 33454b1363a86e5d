"""Prompt files: chat messages in YAML, the last user message a template over a row's columns.

    description: Rewrite a passage as plain prose.        # optional
    params: {temperature: 0, max_tokens: 400}             # optional default sampling parameters
    messages:
      - system: You rewrite text in plain words.
      - user: <few-shot input>                            # few-shot turns are sent as written
      - assistant: <few-shot answer>
      - user: |                                           # the template: {column} placeholders,
          Rewrite this passage: {text}                    # literal braces doubled: {{ and }}

A prompt's version is the hash of its file's text, recorded with every output row. A Step made
from a file asks `reloaded()` before each run, so an edit is picked up without rebuilding the Step;
the cache then sends again exactly the calls whose rendered messages changed (an edit to a comment
or the description gives a new version but sends nothing).

But: the template is `str.format` over one row's columns, with no loops or conditions (no
Jinja); a few-shot example that differs per row belongs in a column.
"""

from __future__ import annotations

import hashlib
import string
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

ROLES = ("system", "user", "assistant")
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML has it: a 200-turn draft in ms


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
    stamp: tuple | None = field(default=None, repr=False, compare=False)  # the file's stat when read

    def reloaded(self) -> Prompt | None:
        """The file's new prompt if its text changed since it was read, else None.

        One stat when nothing changed; the text is read and hashed only when the stat differs (a
        touch or a save of the same text is not a change). A broken edit raises PromptError with
        the file and line, and this prompt stays the one on record, so the next check raises again.
        """
        stamp = _stamp(self.path)
        if stamp is not None and stamp == self.stamp:
            return None
        raw = _read(self.path)
        if _version(raw) == self.version:
            self.stamp = stamp
            return None
        try:
            return _parse(self.path, raw, stamp)
        except PromptError as e:
            raise PromptError(f"{e}\nThe prompt file was edited and the new text cannot be used, so "
                              "nothing was sent. Fix the file and run again.") from None

    @property
    def placeholders(self) -> list[str]:
        """Names the template needs, in order of first appearance (a step asks for every row)."""
        return list(_placeholders(self.messages[-1]["content"]))

    @property
    def examples(self) -> list[str]:
        """The worked answers of the few-shot turns (the assistant messages before the template):
        what a validator checks an answer does not paste back."""
        return [m["content"] for m in self.messages[:-1] if m["role"] == "assistant"]

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
    stamp = _stamp(path)  # before reading: a write after this shows up as a new stamp
    return _parse(path, _read(path), stamp)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PromptError(f"{path}: prompt file not found") from None


def _stamp(path: Path) -> tuple | None:
    """What a file's stat says about its content; None when it cannot be trusted.

    File times tick coarsely (a few ms), so a file written within the last two seconds could be
    written again with the same size and time: such a stamp is not kept, and the next check
    compares the text instead (git's "racy clean" rule).
    """
    try:
        st = path.stat()
    except FileNotFoundError:
        raise PromptError(f"{path}: prompt file not found") from None
    if time.time_ns() - st.st_mtime_ns < 2_000_000_000:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def _version(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


def _parse(path: Path, raw: str, stamp: tuple | None) -> Prompt:
    try:
        node = yaml.compose(raw, Loader=LOADER)
        data = yaml.load(raw, Loader=LOADER)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark else ""
        raise PromptError(f"{path}{where}: not valid YAML ({getattr(e, 'problem', e)})") from None
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list) or not data["messages"]:
        raise PromptError(f"{path}, line 1: expected a mapping with a non-empty 'messages:' list "
                          "(see toolkit/prompts.py for the format)")
    unknown = set(data) - {"messages", "params", "description"}
    if unknown:
        first = min(unknown, key=lambda k: _key_line(node, k))
        raise PromptError(f"{path}, line {_key_line(node, first)}: unknown top-level key(s) "
                          f"{', '.join(sorted(unknown))}; "
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
        raise PromptError(f"{path}, line {_key_line(node, 'params')}: 'params' must be a mapping "
                          "such as {temperature: 0}")
    return Prompt(path, messages, params, data.get("description") or "", _version(raw),
                  line_of[len(messages) - 1], stamp)


def _value(mapping_node, key: str):
    for k, v in mapping_node.value:
        if k.value == key:
            return v
    raise KeyError(key)


def _key_line(mapping_node, key: str) -> int:
    return next((k.start_mark.line + 1 for k, _ in mapping_node.value if k.value == str(key)), 1)


@lru_cache(maxsize=256)
def _placeholders(template: str) -> tuple[str, ...]:
    """The names in a template, parsed once per distinct template text."""
    names = []
    for _, name, _, _ in string.Formatter().parse(template):
        if name is not None and name not in names:
            names.append(name)
    return tuple(names)
