"""How an answer becomes a value: the parsers a step can be given by name, and ParseError.

    parse=None        the stripped text
    parse=r"A: (.*)"  a regex: its first group (the whole match without groups)
    parse="json"      the first JSON object or array in the answer
    parse=function    text -> value; raise ParseError to say what is wrong

But: "json" takes the first JSON value it finds and ignores the rest, so an answer with two
objects keeps the first; use schema= (schema.py) when the shape matters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable


class ParseError(ValueError):
    """Raise from a parser or validator to say what is wrong; the model sees the message."""


def parser(parse) -> Callable[[str], object]:
    if parse is None:
        return str.strip
    if callable(parse):
        return parse
    if parse == "json":
        return first_json
    pattern = re.compile(parse, re.DOTALL)

    def regex(text: str) -> str:
        m = pattern.search(text)
        if not m:
            raise ParseError(f"the answer does not match the expected format ({pattern.pattern})")
        return (m.group(1) if pattern.groups else m.group(0)).strip()
    return regex


def schema_parser(schema) -> Callable[[str], object]:
    def parse(text: str):
        try:
            return schema.validate(first_json(text))
        except ValueError as e:  # ParseError included: pydantic's message, shortened
            raise ParseError(str(e)) from None
    return parse


def first_json(text: str):
    """The first JSON object or array in the answer (models like to wrap JSON in prose or fences)."""
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    if start < 0:
        raise ParseError("no JSON object or array in the answer")
    try:
        value, _ = json.JSONDecoder().raw_decode(text[start:])
    except json.JSONDecodeError as e:
        raise ParseError(f"invalid JSON ({e.msg} at char {e.pos})") from None
    return value
