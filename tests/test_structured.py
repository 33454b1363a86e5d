"""schema=: the schema reaches the model (loopback server, llama-cpp-python's own server, the
embedded model), answers become typed columns, validation errors go back to the model."""

import json
import re
from typing import Annotated

import pandas as pd
import pytest
from pydantic import AfterValidator, BaseModel, Field

import toolkit as tk
from tests.loopback import LoopbackServer
from toolkit.llm import formats
from toolkit.schema import Schema

PROMPT = """params: {max_tokens: 200}
messages:
  - system: You answer with JSON.
  - user: "{text}"
"""


class Event(BaseModel):
    subject: str
    year: int


def last_user(body):
    return [m for m in body["messages"] if m["role"] == "user"][-1]["content"]


def test_request_carries_schema_and_columns_are_typed(loopback_llm, prompt_file, rows):
    def reply(body):
        n = int(last_user(body).split()[-1])
        return json.dumps({"subject": f"s{n}", "year": 1990 + n})
    with LoopbackServer(latency=0, reply=reply) as srv:
        out = tk.Step("ev", prompt_file(PROMPT), loopback_llm(srv), schema=Event).run(rows(3))
        rf = srv.requests[0]["body"]["response_format"]
    assert rf["type"] == "json_schema" and rf["json_schema"]["strict"] is True
    schema = rf["json_schema"]["schema"]
    assert schema["properties"]["year"]["type"] == "integer" and schema["required"] == ["subject", "year"]
    assert schema["additionalProperties"] is False
    assert out["year"].tolist() == [1990, 1991, 1992] and out["year"].dtype == "Int64"
    assert out["subject"].tolist() == ["s0", "s1", "s2"]
    assert (out["ev.status"] == "ok").all()


def test_invalid_answer_is_fed_back_with_pydantic_message(loopback_llm, prompt_file, rows):
    def reply(body):
        told = any("year" in m["content"] and "valid integer" in m["content"]
                   for m in body["messages"] if m["role"] == "user")
        return '{"subject": "moon", "year": %s}' % ("1969" if told else '"the sixties"')
    with LoopbackServer(latency=0, reply=reply) as srv:
        out = tk.Step("ev", prompt_file(PROMPT), loopback_llm(srv), schema=Event).run(rows(1))
        feedback = srv.requests[1]["body"]["messages"][-1]["content"]
    assert "year: Input should be a valid integer" in feedback and "the sixties" in feedback
    assert out["year"].tolist() == [1969] and out["ev.attempts"].tolist() == [2]


def test_list_fans_out_one_row_per_item(loopback_llm, prompt_file, rows):
    def reply(body):
        n = int(last_user(body).split()[-1])
        return json.dumps({"items": [{"subject": f"r{n}i{i}", "year": 2000 + i} for i in range(n + 1)]})
    with LoopbackServer(latency=0, reply=reply) as srv:
        out = tk.Step("ev", prompt_file(PROMPT), loopback_llm(srv), schema=list[Event]).run(rows(3))
        rf = srv.requests[0]["body"]["response_format"]["json_schema"]
    # providers constrain objects only: the list travels wrapped, with its item schema inlined
    schema = rf["schema"]
    assert schema["type"] == "object" and schema["properties"]["items"]["type"] == "array"
    assert schema["properties"]["items"]["minItems"] == 1 and rf["strict"] is True
    assert schema["properties"]["items"]["items"]["properties"]["year"]["type"] == "integer"
    assert out["chunk_id"].tolist() == ["c0", "c1", "c1", "c2", "c2", "c2"]
    assert out["ev.item"].tolist() == [0, 0, 1, 0, 1, 2]
    assert out["subject"].tolist()[:3] == ["r0i0", "r1i0", "r1i1"] and out["year"].dtype == "Int64"


def test_list_bounds_reach_the_schema_and_the_check(loopback_llm, prompt_file, rows):
    items = [{"subject": f"s{i}", "year": i} for i in range(3)]
    def reply(body):
        told = "at most 2 items" in body["messages"][-1]["content"]
        return json.dumps({"items": items[:2] if told else items})
    with LoopbackServer(latency=0, reply=reply) as srv:
        out = tk.Step("ev", prompt_file(PROMPT), loopback_llm(srv),
                      schema=Annotated[list[Event], Field(max_length=2)]).run(rows(1))
        schema = srv.requests[0]["body"]["response_format"]["json_schema"]["schema"]
        once = tk.Step("once", prompt_file(PROMPT), loopback_llm(srv), schema=Annotated[
            list[Event], AfterValidator(lambda evs: list({e.subject: e for e in evs}.values()))])
        srv.reply = lambda body: json.dumps({"items": [items[0], items[0], items[1]]})
        distinct = once.run(rows(1))
    assert schema["properties"]["items"]["maxItems"] == 2
    assert out["subject"].tolist() == ["s0", "s1"] and out["ev.attempts"].tolist() == [2, 2]
    assert distinct["subject"].tolist() == ["s0", "s1"]  # the list's own validator ran


def test_empty_list_is_sent_back(loopback_llm, prompt_file, rows):
    def reply(body):
        told = "at least 1 item" in body["messages"][-1]["content"]
        return json.dumps({"items": [{"subject": "a", "year": 1}] if told else []})
    with LoopbackServer(latency=0, reply=reply) as srv:
        out = tk.Step("ev", prompt_file(PROMPT), loopback_llm(srv), schema=list[Event]).run(rows(1))
    assert out["ev.attempts"].tolist() == [2] and out["subject"].tolist() == ["a"]


def test_failed_rows_keep_declared_typed_columns(loopback_llm, prompt_file, rows):
    def reply(body):
        return '{"subject": "x", "year": 1}' if last_user(body) == "row 0" else "no JSON here"
    with LoopbackServer(latency=0, reply=reply) as srv:
        out = tk.Step("ev", prompt_file(PROMPT), loopback_llm(srv), schema=Event,
                      max_retries=0).run(rows(2))
        none = tk.Step("none", prompt_file(PROMPT), loopback_llm(srv), schema=Event,
                       max_retries=0).run(rows(2).iloc[1:])
    assert out["ev.status"].tolist() == ["ok", "failed"]
    assert out["year"].dtype == "Int64" and out["year"].isna().tolist() == [False, True]
    assert {"subject", "year"} <= set(none.columns) and none["none.status"].tolist() == ["failed"]


def test_schema_change_resends(loopback_llm, prompt_file, rows):
    class Event2(Event):
        place: str = "?"
    with LoopbackServer(latency=0, reply=lambda b: '{"subject": "a", "year": 1, "place": "b"}') as srv:
        llm = loopback_llm(srv)
        tk.Step("ev", prompt_file(PROMPT), llm, schema=Event).run(rows(1))
        tk.Step("ev", prompt_file(PROMPT), llm, schema=Event).run(rows(1))
        assert srv.count == 1  # same schema: answered from the cache
        out = tk.Step("ev", prompt_file(PROMPT), llm, schema=Event2).run(rows(1))
        assert srv.count == 2 and out["place"].tolist() == ["b"]
        # a field with a default cannot be strict in OpenAI's subset: sent as guidance instead
        assert srv.requests[1]["body"]["response_format"]["json_schema"]["strict"] is False


def test_schema_is_a_real_option(loopback_llm, prompt_file):
    with LoopbackServer(latency=0) as srv:
        llm = loopback_llm(srv)
        with pytest.raises(TypeError, match="did you mean 'schema'"):
            tk.Step("ev", prompt_file(PROMPT), llm, shema=Event)
        with pytest.raises(TypeError, match="schema=<pydantic model>"):
            tk.Step("ev", prompt_file(PROMPT), llm, response_format={"type": "json_object"})
        with pytest.raises(TypeError, match="pydantic model class"):
            tk.Step("ev", prompt_file(PROMPT), llm, schema=dict)
        with pytest.raises(ValueError, match="drop parse="):
            tk.Step("ev", prompt_file(PROMPT), llm, schema=Event, parse="json")


def test_schema_goes_into_the_prompt_where_the_provider_has_no_schema_mode():
    params = {"temperature": 0, "response_format": {"type": "json_schema",
                                                    "json_schema": {"name": "E", "schema": {"type": "object"}}}}
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
    sent, rest = formats.for_litellm("cohere/command-r", messages, params)
    assert "response_format" not in rest and rest["temperature"] == 0
    assert sent[0]["content"].startswith("Be brief.") and '{"type": "object"}' in sent[0]["content"]
    assert formats.for_litellm("openai/gpt-4o-mini", messages, params) == (messages, params)


# -- the embedded model: grammar-constrained decoding ------------------------------------------

EMBEDDED_PROMPT = """params: {temperature: 0, max_tokens: 60}
messages:
  - system: Name the subject of the sentence and the year it mentions, as JSON.
  - user: "{text}"
"""

SENTENCES = ["Apollo 11 landed on the Moon in 1969.",
             "The Berlin Wall fell in 1989.",
             "In 1953 Watson and Crick described the structure of DNA.",
             "The first iPhone went on sale in 2007.",
             "Gutenberg printed his Bible around 1455."]


def test_embedded_model_answers_parse_into_typed_columns(prompt_file, folder):
    llm = tk.LLM(folder=folder, cache="off")
    df = pd.DataFrame({"text": SENTENCES})
    out = tk.Step("ev", prompt_file(EMBEDDED_PROMPT, "p.yaml"), llm, schema=Event, max_retries=0).run(df)
    assert out["ev.status"].tolist() == ["ok"] * len(SENTENCES), out["ev.error"].tolist()
    assert out["year"].dtype == "Int64" and out["subject"].map(type).eq(str).all()
    assert all(json.loads(raw).keys() == {"subject", "year"} for raw in out["ev.raw"])


# -- llama-cpp-python's own server refuses json_schema: the direct path falls back ------------

def test_llama_cpp_server_gets_the_schema_in_its_own_form(model, prompt_file, folder):
    llm = tk.LLM("openai/smollm2", api_base=model.url, api_key="x", folder=folder)
    df = pd.DataFrame({"text": SENTENCES[:2]})
    out = tk.Step("ev", prompt_file(EMBEDDED_PROMPT, "p.yaml"), llm, schema=Event, max_retries=0).run(df)
    assert out["ev.status"].tolist() == ["ok", "ok"], out["ev.error"].tolist()
    assert out["year"].dtype == "Int64"
    # the server refused OpenAI's json_schema form; the client switched to its json_object form
    # (both rows go out at once, so one or both meet the refusal before the switch)
    forms = [(r["status"], r["body"]["response_format"]["type"]) for r in model.proxy.requests]
    refused = [status for status, form in forms if form == "json_schema"]
    assert refused and 200 not in refused, forms
    assert [f for f in forms if f[1] == "json_object"] == [(200, "json_object")] * 2, forms
    for r in model.proxy.requests:  # the same schema in both forms
        sent = r["body"]["response_format"]
        schema = sent["schema"] if sent["type"] == "json_object" else sent["json_schema"]["schema"]
        assert set(schema["properties"]) == {"subject", "year"}


class Fact(BaseModel):
    subject: str
    year: int


EXTRACTIONS = [*SENTENCES,
               "Marie Curie won her second Nobel Prize in 1911.",
               "The Titanic sank in 1912 after striking an iceberg.",
               "Construction of the Eiffel Tower finished in 1889.",
               "The Wright brothers flew at Kitty Hawk in 1903.",
               "In 1492 Columbus crossed the Atlantic."]


def test_embedded_model_structured_answers_always_parse(prompt_file, folder):
    """Strings without control characters and with a bound: every answer closes and parses. The
    sentences are broken across lines, as text from a file is; the model copies the breaks, and
    under llama-cpp-python's own grammar one answer (the last) put a raw newline into its string."""
    llm = tk.LLM(folder=folder, cache="off")
    df = pd.DataFrame({"text": [sentence.replace(" ", "\n", 3) for sentence in EXTRACTIONS]})
    out = tk.Step("fact", prompt_file(EMBEDDED_PROMPT, "p.yaml"), llm, schema=Fact, max_retries=0).run(df)
    assert len(out) == len(EXTRACTIONS) >= 8
    assert out["fact.status"].tolist() == ["ok"] * len(EXTRACTIONS), out["fact.error"].tolist()
    for raw in out["fact.raw"]:
        Fact.model_validate_json(raw)


def test_the_embedded_grammar_bounds_strings_and_refuses_control_characters():
    from toolkit.llm import grammar

    schema = {"type": "object", "properties": {"subject": {"type": "string"},
                                               "code": {"type": "string", "maxLength": 7},
                                               "tag": {"type": "string", "pattern": "^[a-z]+$"}}}
    bounded = grammar._bounded(schema, grammar.STRING_LIMIT)["properties"]
    assert bounded["subject"]["maxLength"] == grammar.STRING_LIMIT
    assert bounded["code"]["maxLength"] == 7 and "maxLength" not in bounded["tag"]
    text = grammar.gbnf(schema)
    assert 'char ::= [^"\\\\\\x00-\\x1F]' in text and 'char ::= [^"\\\\] ' not in text


# -- an object closes within max_tokens: the fields share the budget (issue 28, point 11) --------

def test_the_fields_share_max_tokens_and_a_budget_too_small_is_refused():
    """Counted at one token a character for strings and one a digit, the longest answer the
    grammar allows fits in max_tokens. `count` stands in for the model's tokenizer."""
    from toolkit.llm import grammar

    count = lambda text: -(-len(text) // 4)  # noqa: E731  (one token per 4 characters)
    fact = Schema(Fact).json_schema()

    def rule(text, name):
        return re.search(rf"^{name} ::= (.*)$", text, re.M).group(1)

    text = grammar.gbnf(fact, 40, count)
    chars, digits = rule(text, "subject").count("char"), rule(text, "integral-part").count("[0-9]")
    assert digits == grammar.DIGITS and rule(text, "space") == '""'  # no optional spaces to count
    skeleton = count('{"subject":"","year":0}') + 2  # + a token where each of the two values meets the JSON
    longest = skeleton + chars + digits  # every character, a sign and every digit (one was in the skeleton)
    assert longest <= 40 < longest + 2  # the whole budget, shared, and no more
    with pytest.raises(grammar.BudgetTooSmall, match=r"max_tokens=12 is too small") as refused:
        grammar.gbnf(fact, 12, count)
    smallest = int(re.search(r"the smallest max_tokens that works is (\d+)", str(refused.value)).group(1))
    assert rule(grammar.gbnf(fact, smallest, count), "subject").count("char") == grammar.MIN_STRING
    with pytest.raises(grammar.BudgetTooSmall):
        grammar.gbnf(fact, smallest - 1, count)
    # a list without max_length cannot be budgeted: its strings keep STRING_LIMIT
    listed = grammar.gbnf(Schema(list[Fact]).json_schema(), 40, count)
    assert max(line.count("char") for line in listed.splitlines()) == grammar.STRING_LIMIT


SHORT_PROMPT = """params: {temperature: 0, max_tokens: 40}
messages:
  - user: "Extract the subject and the year from: {text}"
"""


@pytest.mark.embedded_model
def test_embedded_model_objects_close_within_a_small_max_tokens(prompt_file, folder):
    """Step(schema=Fact, max_tokens=40) on ten one-sentence extractions: every answer is a closed
    JSON object. Under 500-character strings the Titanic's subject was the whole sentence and more,
    cut off at the 40th token."""
    llm = tk.LLM(folder=folder, cache="off")
    df = pd.DataFrame({"text": EXTRACTIONS})
    out = tk.Step("fact", prompt_file(SHORT_PROMPT, "p.yaml"), llm, schema=Fact, max_retries=0).run(df)
    assert out["fact.status"].tolist() == ["ok"] * len(EXTRACTIONS), out["fact.error"].tolist()
    for raw in out["fact.raw"]:
        Fact.model_validate_json(raw)


@pytest.mark.embedded_model
def test_embedded_model_refuses_a_max_tokens_too_small_for_the_schema(prompt_file, folder):
    llm = tk.LLM(folder=folder, cache="off")
    df = pd.DataFrame({"text": EXTRACTIONS[:2]})
    out = tk.Step("fact", prompt_file(SHORT_PROMPT, "p.yaml"), llm, schema=Fact, max_tokens=8).run(df)
    assert (out["fact.status"] == "failed").all() and (out["fact.attempts"] == 1).all()
    assert out["fact.error"].str.contains(r"max_tokens=8 is too small.*the smallest max_tokens that works is \d+").all()
    assert llm.usage.retries == 0 and llm.usage.completion_tokens == 0
