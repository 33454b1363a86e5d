"""A JSON schema for the answer, in the strongest form each provider enforces.

A call asks for structure with OpenAI's `response_format={"type": "json_schema", ...}` (a step
with `schema=` does). That form is what OpenAI, vLLM and llama.cpp's server take; the transports
adapt it where a provider needs something else:
- llama-cpp-python's server takes `{"type": "json_object", "schema": ...}` and turns the schema
  into a grammar that constrains decoding; the embedded model gets the same form, and builds a
  stricter grammar from it (grammar.py);
- litellm translates the OpenAI form for providers it knows to support schemas;
- anywhere else the schema is written into the system message, and validation catches the rest.
The cache key holds the OpenAI form, so a schema change re-sends whichever form went out.

vLLM's own `guided_json` / `guided_regex` / `guided_choice` / `guided_grammar` (in `extra_body`)
were deprecated in vLLM 0.10.2 and are ignored since 0.12, which then answers unconstrained with
HTTP 200. `for_openai` sends `guided_json` as `response_format` (every vLLM version and llama-server
take it) and the others as `structured_outputs` too (vLLM >= 0.10.2), keeping them for older servers.
"""

from __future__ import annotations

import functools
import json

# litellm providers that take a JSON schema in response_format although litellm's model map does
# not say so per model (it translates it to their own field, e.g. ollama's `format`)
SCHEMA_PROVIDERS = {"hosted_vllm", "ollama", "ollama_chat", "lm_studio", "local"}
IN_PROMPT = ("Answer with one JSON object and nothing else. It must conform to this JSON schema:\n"
             "{schema}")


GUIDED = {"guided_json": "json", "guided_regex": "regex", "guided_choice": "choice",
          "guided_grammar": "grammar"}


def for_openai(params: dict) -> dict:
    """vLLM's guided_* in extra_body in the forms vLLM >= 0.12 still honours (see above)."""
    extra = params.get("extra_body")
    if not isinstance(extra, dict) or not GUIDED.keys() & extra.keys():
        return params
    extra, out = dict(extra), dict(params)
    schema = extra.pop("guided_json", None)
    if isinstance(schema, str):
        schema = json.loads(schema)
    if schema is not None and "response_format" not in params:
        out["response_format"] = {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}
    newer = {GUIDED[k]: v for k, v in extra.items() if k in GUIDED}  # guided_json: popped above
    if newer:
        extra["structured_outputs"] = {**newer, **(extra.get("structured_outputs") or {})}
    if extra:
        out["extra_body"] = extra
    else:
        del out["extra_body"]
    return out


def schema_of(params: dict) -> dict | None:
    """The JSON schema a call's params ask for, if they ask for one."""
    rf = params.get("response_format")
    if isinstance(rf, dict) and rf.get("type") == "json_schema":
        return (rf.get("json_schema") or {}).get("schema")
    return None


def as_json_object(params: dict) -> dict:
    """llama-cpp-python's form: json_object with the schema beside it (it refuses json_schema)."""
    schema = schema_of(params)
    return params if schema is None else {**params, "response_format": {"type": "json_object",
                                                                         "schema": schema}}


def refused(status: int, body: bytes, params: dict) -> bool:
    """Did a server refuse the json_schema form itself (llama-cpp-python: a 400 or a 500 naming json_object)?"""
    text = body[:2000].decode(errors="replace")
    return (status in (400, 422, 500) and schema_of(params) is not None
            and "response_format" in text and "json_object" in text)


def for_litellm(model: str, messages: list[dict], params: dict) -> tuple[list[dict], dict]:
    """Keep response_format where litellm's provider enforces a schema; else put it in the prompt."""
    schema = schema_of(params)
    if schema is None or _takes_schema(model):
        return messages, params
    rest = {k: v for k, v in params.items() if k != "response_format"}
    return in_prompt(messages, schema), rest


def in_prompt(messages: list[dict], schema: dict) -> list[dict]:
    """The schema appended to the system message (one is added when the prompt has none)."""
    note = IN_PROMPT.format(schema=json.dumps(schema, ensure_ascii=False))
    if messages and messages[0].get("role") == "system" and isinstance(messages[0].get("content"), str):
        return [{**messages[0], "content": messages[0]["content"] + "\n\n" + note}, *messages[1:]]
    return [{"role": "system", "content": note}, *messages]


@functools.lru_cache(maxsize=64)
def _takes_schema(model: str) -> bool:
    import litellm

    return model.split("/", 1)[0] in SCHEMA_PROVIDERS or litellm.supports_response_schema(model)
