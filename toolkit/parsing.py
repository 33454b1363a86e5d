"""How an answer becomes a value: the parsers a step can be given by name, ParseError, and the
feedback a step sends when an answer could not be used.

    parse=None        the stripped text
    parse=r"A: (.*)"  a regex: its first group (the whole match without groups)
    parse="json"      the first JSON object or array in the answer
    parse=function    text -> value; raise ParseError to say what is wrong

A small model, told its answer could not be used, sometimes answers with the feedback itself ("The
answer could not be used: the answer was cut off..."), which a lenient validator lets through: a
row whose output is the toolkit's own words. `echoes` finds such an answer, and the step refuses it.

But: "json" takes the first JSON value it finds and ignores the rest, so an answer with two
objects keeps the first; use schema= (schema.py) when the shape matters. `echoes` finds the
feedback repeated word for word, not paraphrased.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

FEEDBACK = ("Your answer could not be used: {problem}\n"
            "Answer again, following the instructions exactly.")
_SAID = "answer could not be used"  # FEEDBACK's own words, which no answer to a task has reason to say
MIN_PROBLEM = 20  # characters a problem needs before an answer holding it counts as repeating it


def echoes(answer: str, problem: str) -> bool:
    """Does `answer` repeat the feedback that told it `problem`? It does when it holds FEEDBACK's
    own words, or the problem itself once that is long enough not to turn up in an answer by chance
    (a validator's "too short" could)."""
    said = answer.lower()
    return _SAID in said or (len(problem) >= MIN_PROBLEM and problem.lower() in said)


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
