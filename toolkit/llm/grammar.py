"""The embedded model's grammar: a JSON schema as GBNF, bounded so that the answer closes.

llama-cpp-python turns a schema into a grammar that constrains decoding, but its strings are
unbounded and may hold raw control characters, so a small model can write one string until
max_tokens cuts it off, or leave a newline inside it. Here strings hold no control characters,
and with the call's max_tokens the schema's fields share that budget: the JSON around the values
(keys, quotes, commas) is counted with the model's own tokenizer, each number gets at most DIGITS
digits, and the strings share what is left, one character per token (the most an ASCII character
takes). A max_tokens too small to leave every string MIN_STRING characters is refused with the
smallest that works. Without max_tokens, strings get STRING_LIMIT characters.

But: a character outside ASCII or an escape (\\n, \\") can take 2–4 tokens, so a string full of
them can still run out. A schema holding a list without a bound (`Field(max_length=N)`), a
string with a `pattern` or `format`, or a recursive model is not budgeted at all: every string in
it gets STRING_LIMIT.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

STRING_LIMIT = 500  # characters in a string when no max_tokens bounds the answer
DIGITS = 10         # digits of an integer (and of each part of a number) under a budget
MIN_STRING = 4      # characters every budgeted string can hold at least, or max_tokens is refused
# llama-cpp-python's string character: anything but " and \, or an escape. Ours leaves out the
# control characters, which JSON forbids unescaped inside a string.
_CHAR, _CHAR_NO_CONTROL = r'char ::= [^"\\]', r'char ::= [^"\\\x00-\x1F]'
_CHAR_BUDGETED = r'[^"\\\x00-\x1F] | "\\" ["\\/bfnrt]'  # no \uXXXX: six tokens for one character
_FIXED = {"maxLength", "pattern", "format", "enum", "const"}  # a string bounded some other way


class BudgetTooSmall(ValueError):
    """max_tokens cannot hold the schema's JSON with room for its values."""


def gbnf(schema: dict, max_tokens: int | None = None, count: Callable[[str], int] | None = None) -> str:
    """The GBNF text for `schema`; with `max_tokens` (and `count`, the model's tokens in a text),
    bounded to close within it (raises BudgetTooSmall when it cannot)."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    plan = _budget(schema, max_tokens, count) if max_tokens and count else None
    text = json_schema_to_gbnf(json.dumps(_bounded(schema, STRING_LIMIT if plan is None else plan[0])))
    if "char ::=" in text and text.count(_CHAR) != 1:
        raise RuntimeError("llama-cpp-python's JSON grammar changed: its string rule was not found")
    if plan is None:
        return text.replace(_CHAR, _CHAR_NO_CONTROL)
    digits = "[0-9] " + "([0-9] " * (plan[1] - 1) + ")?" * (plan[1] - 1)  # plan[1] digits at most
    rules = {"char": _CHAR_BUDGETED, "space": '""', "integral-part": "[0-9] | [1-9] " + digits[6:],
             "decimal-part": digits}  # and no optional spaces: the JSON around the values is as counted
    for rule, body in rules.items():
        text = re.sub(rf"^{rule} ::= .*$", lambda _, r=rule, b=body: f"{r} ::= {b}", text, flags=re.M)
    return text


def _bounded(schema, limit: int, unbounded: bool = False):
    """The schema with maxLength=`limit` on every plain string (STRING_LIMIT inside a list of
    unbounded length, whose items a budget cannot count)."""
    if isinstance(schema, list):
        return [_bounded(s, limit, unbounded) for s in schema]
    if not isinstance(schema, dict):
        return schema
    inner = unbounded or (schema.get("type") == "array" and "maxItems" not in schema)
    out = {k: _bounded(v, limit, inner) for k, v in schema.items()}
    if out.get("type") == "string" and not (_FIXED & set(out)):
        out["maxLength"] = STRING_LIMIT if unbounded else limit
    return out


def _budget(schema: dict, max_tokens: int, count: Callable[[str], int]) -> tuple[int, int] | None:
    """(characters per string, digits per number) that close within max_tokens; None when the
    schema cannot be budgeted (a list without maxItems, a pattern, a $ref)."""
    shape = _Shape()
    if not shape.walk(schema) or shape.strings + shape.numbers == 0:
        return None
    room = max_tokens - count(shape.text) - shape.leaves - shape.fixed  # leaves: a merge at each edge
    for digits in range(DIGITS, 0, -1):  # numbers give way to strings, down to one digit
        left = room - shape.numbers * digits - shape.floats * (2 * digits + 3)
        chars = left // shape.strings if shape.strings else left
        if chars >= (MIN_STRING if shape.strings else 0):
            return (chars if shape.strings else STRING_LIMIT), digits
    smallest = max_tokens - room + shape.numbers + shape.floats * 5 + shape.strings * MIN_STRING
    raise BudgetTooSmall(f"max_tokens={max_tokens} is too small for this schema on the embedded model: "
                         f"its keys and punctuation take {max_tokens - room} tokens, and each of its "
                         f"{shape.strings} string(s) needs room for {MIN_STRING} characters and each "
                         f"number a digit; the smallest max_tokens that works is {smallest}")


class _Shape:
    """The schema's smallest answer (`text`, e.g. {"subject":"","year":0}) and its values to budget."""

    def __init__(self):
        self.text, self.strings, self.numbers, self.floats, self.leaves, self.fixed = "", 0, 0, 0, 0, 0

    def walk(self, s) -> bool:
        """Add schema `s`'s smallest answer and its values; False where it cannot be budgeted."""
        if not isinstance(s, dict) or "$ref" in s or "allOf" in s or "pattern" in s or "format" in s:
            return False
        alternatives = s.get("anyOf") or s.get("oneOf")
        if alternatives:  # the longest form, and every alternative's values: more than enough
            texts = []
            for alternative in alternatives:
                start = len(self.text)
                if not self.walk(alternative):
                    return False
                texts.append(self.text[start:])
                self.text = self.text[:start]
            self.text += max(texts, key=len)
            return True
        kind = s.get("type")
        if "enum" in s or "const" in s:
            self.text += max((json.dumps(v) for v in s.get("enum", [s.get("const")])), key=len)
        elif kind == "object":
            self.text += "{"
            for i, (key, value) in enumerate((s.get("properties") or {}).items()):
                self.text += ("," if i else "") + json.dumps(key) + ":"
                if not self.walk(value):
                    return False
            self.text += "}"
        elif kind == "array":
            if "maxItems" not in s:
                return False
            self.text += "["
            for i in range(s["maxItems"]):  # the longest list: each item's values count
                self.text += "," if i else ""
                if not self.walk(s.get("items", {})):
                    return False
            self.text += "]"
            return True
        elif kind == "string":
            self.text += '""'
            if "maxLength" in s:
                self.fixed += s["maxLength"]
            else:
                self.strings += 1
        elif kind in ("integer", "number"):
            self.text += "0"
            self.numbers += 1
            self.floats += kind == "number"
        elif kind in ("boolean", "null"):
            self.text += "false" if kind == "boolean" else "null"
        else:
            return False
        self.leaves += 1
        return True
