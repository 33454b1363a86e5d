"""Structured answers: a pydantic model as a step's output format.

    class Pair(BaseModel):
        question: str
        answer: str
    Step("questions", "prompts/qa.yaml", llm, schema=list[Pair])   # one row per pair

The schema travels with the request as OpenAI's `response_format` (json_schema); the call layer
turns it into what each provider can enforce (see llm/formats.py). The answer is validated by
pydantic, and a validation error goes back to the model as feedback. A top-level list is sent as
`{"items": [...]}` because providers only constrain objects; `parse` unwraps it.

But: only pydantic models are accepted, not raw JSON schemas or dataclasses, and how strictly a
schema is enforced depends on the provider (see llm/formats.py); validation always runs here.
"""

from __future__ import annotations

import copy
import json
import typing

import pandas as pd
from pydantic import BaseModel, Field, ValidationError, create_model

# pandas dtypes that keep a field's type when some rows failed (None instead of float NaN)
DTYPES = {int: "Int64", float: "Float64", bool: "boolean"}
# keywords outside OpenAI's strict subset (it refuses e.g. "default"): such a schema goes unstrict
NOT_STRICT = {"default", "minLength", "maxLength", "uniqueItems", "patternProperties",
              "minProperties", "maxProperties", "contains"}


class Schema:
    """A pydantic model, or `list[Model]` for one-to-many steps, as a step's answer format."""

    def __init__(self, spec):
        meta = ()  # Annotated[list[Model], Field(max_length=3), AfterValidator(f)]: for the list
        if typing.get_origin(spec) is typing.Annotated:
            spec, *meta = typing.get_args(spec)
        self.many = typing.get_origin(spec) is list
        model = typing.get_args(spec)[0] if self.many else spec
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise TypeError(f"schema= takes a pydantic model class or list[Model]; got {spec!r}")
        self.model = model
        self.fields = list(model.model_fields)
        # minItems 1: under a grammar a small model otherwise closes the list at once ({"items": []})
        items = typing.Annotated[(list[model], Field(min_length=1), *meta)]
        self._wire = create_model(f"{model.__name__}List", items=(items, ...)) if self.many else model

    def json_schema(self) -> dict:
        """The schema sent to the model: always an object, `$ref`s inlined where not recursive."""
        schema = self._wire.model_json_schema()
        defs = schema.pop("$defs", {})
        try:
            schema = _inline(schema, defs, ())
        except RecursionError:  # a recursive model keeps its $defs (OpenAI and llama.cpp read them)
            schema = {**self._wire.model_json_schema()}
        return _closed(schema)

    def response_format(self) -> dict:
        """OpenAI's form; strict (guaranteed) only where the schema fits strict mode's subset."""
        schema = self.json_schema()
        return {"type": "json_schema",
                "json_schema": {"name": self._wire.__name__, "schema": schema,
                                "strict": _strict_ok(schema)}}

    def validate(self, value) -> dict | list[dict]:
        """The decoded JSON answer as a dict (a list of dicts for list[Model]) of typed values.

        Raises ValueError with pydantic's messages, shortened, for the model to read."""
        if self.many and isinstance(value, list):
            value = {"items": value}  # a bare array (the schema was only written into the prompt)
        elif self.many and isinstance(value, dict) and "items" not in value:
            value = {"items": [value]}  # one object where a list was asked for: a list of one
        try:
            parsed = self._wire.model_validate(value)
        except ValidationError as e:
            raise ValueError(_short(e)) from None
        items = parsed.items if self.many else [parsed]
        dumped = [item.model_dump(mode="python") for item in items]
        return dumped if self.many else dumped[0]

    def typed(self, df: pd.DataFrame) -> pd.DataFrame:
        """int/float/bool fields as nullable columns, so failed rows do not turn 1999 into 1999.0."""
        for name, info in self.model.model_fields.items():
            dtype = DTYPES.get(_bare(info.annotation))
            if dtype and name in df.columns:
                try:
                    df = df.astype({name: dtype})
                except (TypeError, ValueError):  # a column an earlier step filled differently
                    pass
        return df


def _inline(node, defs: dict, seen: tuple):
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if ref.startswith("#/$defs/"):
            name = ref.split("/")[-1]
            if name in seen:
                raise RecursionError(name)
            return _inline(defs[name], defs, (*seen, name))
        return {k: _inline(v, defs, seen) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, defs, seen) for v in node]
    return node


def _closed(schema: dict) -> dict:
    """Every object schema says additionalProperties: false (OpenAI's strict mode requires it)."""
    schema = copy.deepcopy(schema)
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                node.setdefault("additionalProperties", False)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return schema


def _strict_ok(node) -> bool:
    """Every field required and no keyword OpenAI's strict mode refused (defaults, bounds)."""
    if isinstance(node, list):
        return all(_strict_ok(v) for v in node)
    if not isinstance(node, dict):
        return True
    if NOT_STRICT & node.keys():
        return False
    props = node.get("properties")
    if isinstance(props, dict):
        if set(node.get("required", ())) != set(props):
            return False
        node = {**node, "properties": list(props.values())}  # field names are not keywords
    return all(_strict_ok(v) for v in node.values())


def _bare(annotation):
    """int for int and Optional[int]; None for anything else."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    return args[0] if len(args) == 1 else annotation


def _short(e: ValidationError, most: int = 3) -> str:
    """pydantic's errors as one line: where, what, and what the answer gave."""
    parts = []
    for err in e.errors()[:most]:
        where = ".".join(str(p) for p in err["loc"]) or "the answer"
        given = json.dumps(err.get("input"), ensure_ascii=False, default=str)
        given = given if len(given) <= 60 else given[:57] + "..."
        parts.append(f"{where}: {err['msg']}" + ("" if err["type"] == "missing" else f" (got {given})"))
    more = e.error_count() - most
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")
