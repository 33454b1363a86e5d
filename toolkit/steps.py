"""A step: prompt file + model + parser + validator, run over a DataFrame from one notebook cell.

    generic = Step("generic", "prompts/style_clone/generic.yaml", llm, validate=not_a_copy)
    out = generic.run(chunks.head(5))     # try a change on a few samples first

`run` returns a NEW DataFrame with every input row (none is ever dropped), the output column and
`generic.status` (ok / failed / skipped), `.error`, `.attempts`, `.raw`, `.reasoning`,
`.prompt_version`. A parse or validation failure is sent back to the model as feedback and the row
is retried, up to `max_retries` times. Finished calls are cached as they arrive, so an interrupted
run resumes where it stopped.
"""

from __future__ import annotations

import asyncio
import copy
import difflib
import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from .columns import STATUS_FIELDS
from .llm import LLM, Completion, loop
from .llm.llm import NOT_PARAMS
from .prompts import Prompt, load_prompt
from .schema import Schema

# Keywords Step(...) passes on to the model; anything else is a typo, not a cache-key part.
SAMPLING = {"temperature", "top_p", "top_k", "min_p", "max_tokens", "max_completion_tokens", "stop",
            "seed", "n", "frequency_penalty", "presence_penalty", "repetition_penalty", "logit_bias",
            "logprobs", "top_logprobs", "reasoning_effort", "thinking", "extra_body"}
FEEDBACK = ("Your answer could not be used: {problem}\n"
            "Answer again, following the instructions exactly.")


class ParseError(ValueError):
    """Raise from a parser or validator to say what is wrong; the model sees the message."""


class Step:
    """One LLM call per row (or several, when the answer needs fixing).

    parse:    None (the stripped text), a regex (its first group), "json", or a function
              text -> value. A dict becomes one column per key (named by the keys); a list
              becomes one row per item, with `<step>.item` numbering the items of a parent row.
    validate: function (value, row) -> None/True when fine, or a message saying what is wrong.
    when:     function row -> bool; rows where it is False are `skipped`, not sent.
    columns:  the keys a dict-returning parser must fill; they become columns even when every
              row failed, so the next cell can rely on them.
    accept_truncated: parse an answer that ran into max_tokens instead of asking again; for
              steps that extract a list, whose parser can keep the complete items.
    schema:   a pydantic model (or list[Model], one row per item; Annotated[list[Model], Field(
              max_length=3)] bounds the list) instead of parse=/columns=: it is sent with the
              request (enforced where the provider can), the answer is validated against it, and
              each field becomes a typed column.
    """

    def __init__(self, name: str, prompt: str | Path | Prompt, llm: LLM | None = None, *,
                 parse: str | Callable | None = None, validate: Callable | None = None,
                 when: Callable | None = None, max_retries: int = 2,
                 columns: list[str] | None = None, accept_truncated: bool = False,
                 schema=None, **sampling):
        unknown = sorted(set(sampling) - SAMPLING)
        if "response_format" in unknown:
            raise TypeError("Step() sets response_format from schema=<pydantic model>; pass that")
        if set(unknown) & NOT_PARAMS:
            raise ValueError(f"{', '.join(sorted(set(unknown) & NOT_PARAMS))} belong to LLM(...), not to a "
                             "call: they would leak into the cache key")
        if unknown:
            near = difflib.get_close_matches(unknown[0], [*SAMPLING, *_OPTIONS], n=1)
            raise TypeError(f"Step() got an unknown keyword {unknown[0]!r}"
                            + (f"; did you mean {near[0]!r}?" if near else "")
                            + f" Sampling parameters it passes on: {', '.join(sorted(SAMPLING))}")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"step name {name!r} must be an identifier: it names output columns")
        self.name = name
        self.prompt = prompt if isinstance(prompt, Prompt) else load_prompt(prompt)
        self.llm = llm or LLM()
        self.schema = None if schema is None else Schema(schema)
        if self.schema and (parse is not None or columns is not None):
            raise ValueError("schema= parses the answer and names the columns; drop parse=/columns=")
        self.parse = _schema_parser(self.schema) if self.schema else _parser(parse)
        self.validate, self.when, self.max_retries = validate, when, max_retries
        self.columns = self.schema.fields if self.schema else columns
        self.accept_truncated = accept_truncated
        self.params = {**self.prompt.params, **sampling}
        if self.schema:  # part of every request, hence of the cache key: a new schema re-sends
            self.params["response_format"] = self.schema.response_format()

    def __repr__(self) -> str:
        return (f"Step({self.name!r}, prompt={str(self.prompt.path)!r} v{self.prompt.version}, "
                f"model={self.llm.model!r})")

    def preview(self, df: pd.DataFrame, i: int = 0, **constants) -> list[dict]:
        """The messages row i would send, without calling the model."""
        self.prompt.check([*df.columns, *constants])
        return self.prompt.render({**df.iloc[i].to_dict(), **constants})

    def run(self, df: pd.DataFrame, **constants) -> pd.DataFrame:
        """Run the step on every row; blocks the cell (interrupt it safely at any time)."""
        return loop.run_sync(self.arun(df, **constants))

    async def arun(self, df: pd.DataFrame, **constants) -> pd.DataFrame:
        self.prompt.check([*df.columns, *constants])  # before any request
        start, before = time.monotonic(), copy.deepcopy(self.llm.usage)
        bar = tqdm(total=len(df), desc=self.name, unit="row")
        counts = {"ok": 0, "failed": 0, "skipped": 0, "cached": 0}
        rows = [{**r, **constants} for r in df.to_dict("records")]

        async def one(row: dict) -> dict:
            result = await self._row(row)
            counts[result["status"]] += 1
            counts["cached"] += result.pop("_cached")
            bar.set_postfix(ok=counts["ok"], failed=counts["failed"], cached=counts["cached"],
                            refresh=False)
            bar.update()
            return result

        try:
            results = await asyncio.gather(*(one(r) for r in rows))
        finally:
            bar.close()
        out = self._frame(df, results)
        usage = (self.llm.usage - before).as_dict()
        summary = {"step": self.name, "rows": len(df), **{k: counts[k] for k in ("ok", "failed", "skipped")},
                   "prompt_version": self.prompt.version, "model": self.llm.model,
                   "params": self.params, "seconds": round(time.monotonic() - start, 2),
                   "concurrency": self.llm.concurrency,
                   "usage": usage,
                   "per_row": _per_row(results)}
        out.attrs["step"] = summary
        out.attrs["folder"] = str(self.llm.folder)
        self._write_manifest(summary)
        print(_summary_line(summary))
        return out

    def _first_request(self, row: dict) -> tuple[list[dict] | None, str, str | None]:
        """The messages row `row` starts with, or why it sends none: (messages, status, error)."""
        try:
            selected = self.when is None or self.when(row)
        except Exception as e:  # a bug in the user's function: that row fails, the others run
            return None, "failed", f"when= raised {type(e).__name__}: {e}"
        if not selected:
            return None, "skipped", "not selected by when="
        empty = [n for n in self.prompt.placeholders if _missing(row.get(n))]
        if empty:
            return None, "skipped", (f"no value for {{{empty[0]}}} (an earlier step failed or "
                                     "skipped this row)")
        return self.prompt.render(row), "ok", None

    async def _row(self, row: dict) -> dict:
        """Send, parse, validate; on a problem, show the model its answer and the problem, retry."""
        blank = {"status": "skipped", "error": None, "attempts": 0, "raw": None, "reasoning": None,
                 "value": None, "_cached": False, "_spend": Spend()}
        messages, status, error = self._first_request(row)
        if messages is None:
            return {**blank, "status": status, "error": error}
        spend, cached = Spend(), False
        for attempt in range(1, self.max_retries + 2):
            c: Completion = await self.llm.call(messages, self.params, label=f"step {self.name!r}")
            cached = cached or c.cached
            spend.add(c)
            done = {**blank, "attempts": attempt, "raw": c.text, "reasoning": c.reasoning or None,
                    "_cached": cached, "_spend": spend}
            if not c.ok:
                return {**done, "status": "failed", "error": f"{c.error_kind}: {c.error}"}
            problem, value = self._check(c, row)
            if problem is None:
                return {**done, "status": "ok", "value": value}
            if attempt > self.max_retries:
                return {**done, "status": "failed", "error": problem}
            # an empty assistant turn is refused by some providers: say it was empty instead
            messages = [*messages, {"role": "assistant", "content": c.text or "(no answer)"},
                        {"role": "user", "content": FEEDBACK.format(problem=problem)}]

    def _check(self, c: Completion, row: dict) -> tuple[str | None, object]:
        if not c.text.strip():
            return "the answer was empty", None
        if c.finish_reason == "length" and not self.accept_truncated:
            return "the answer was cut off at max_tokens; answer more briefly", None
        try:
            value = self.parse(c.text)
        except ParseError as e:
            return f"parse: {e}", None
        except Exception as e:  # a bug in the user's parser: say so, keep the row
            return f"parser raised {type(e).__name__}: {e}", None
        for item in (value if isinstance(value, list) else [value]) if self.columns else []:
            missing = [c for c in self.columns if not isinstance(item, dict) or c not in item]
            if missing:
                return f"parse: the answer gave no {missing[0]}", None
        try:
            verdict = self.validate(value, row) if self.validate else None
        except Exception as e:
            return f"validator raised {type(e).__name__}: {e}", None
        if verdict in (None, True):
            return None, value
        return (str(verdict) if verdict else "the validator rejected the answer"), None

    def _frame(self, df: pd.DataFrame, results: list[dict]) -> pd.DataFrame:
        """Input rows + output + status columns; list outputs fan out to one row per item."""
        records = []
        for (index, row), res in zip(df.iterrows(), results):
            status = {f"{self.name}.{k}": res[k] for k in STATUS_FIELDS if k != "prompt_version"}
            status[f"{self.name}.prompt_version"] = self.prompt.version
            values = res["value"] if isinstance(res["value"], list) and res["value"] else [res["value"]]
            for item_no, value in enumerate(values):
                rec = {**row.to_dict(), **self._columns(value), **status}
                if isinstance(res["value"], list):
                    rec[f"{self.name}.item"] = item_no if res["value"] else None
                records.append((index, rec))
        out = pd.DataFrame([r for _, r in records], index=[i for i, _ in records])
        out = out[[*df.columns, *[c for c in out.columns if c not in df.columns]]]
        return self.schema.typed(out) if self.schema else out

    def _columns(self, value) -> dict:
        """A dict answer names its own columns (e.g. question, answer); anything else is `<step>`."""
        if isinstance(value, dict):
            return dict(value)
        return dict.fromkeys(self.columns, None) if self.columns else {self.name: value}

    def _write_manifest(self, summary: dict) -> None:
        path = self.llm.folder / "manifest.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S"), **summary},
                               default=str) + "\n")


_OPTIONS = ("parse", "validate", "when", "max_retries", "columns", "accept_truncated", "schema")


def project(result: pd.DataFrame, full: pd.DataFrame | int) -> dict:
    """Estimate calls, tokens, cost and time for the full set from a step's run on a sample.

    Cached answers count with what they cost when they were made, so a projection made from a
    rerun (or a replayed notebook) is the same as one made from the first run.
    """
    s = result.attrs.get("step")
    if not s:
        raise ValueError("project() needs the DataFrame returned by Step.run (it carries the run's "
                         "numbers in .attrs['step'])")
    n = full if isinstance(full, int) else len(full)
    per_row = s["per_row"]
    return {"rows": n, "calls": round(per_row["calls"] * n),
            "prompt_tokens": round(per_row["prompt_tokens"] * n),
            "completion_tokens": round(per_row["completion_tokens"] * n),
            "cost": None if per_row["cost"] is None else round(per_row["cost"] * n, 4),
            "seconds": round(per_row["seconds"] * n / min(n, s["concurrency"] or n), 1)}


@dataclass
class Spend:
    """What one row's calls cost, cached or not."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = 0.0
    seconds: float = 0.0

    def add(self, c: Completion) -> None:
        self.calls += 1
        self.prompt_tokens += c.prompt_tokens
        self.completion_tokens += c.completion_tokens
        self.cost = None if self.cost is None or c.cost is None else self.cost + c.cost
        self.seconds += c.seconds


def _per_row(results: list[dict]) -> dict:
    n = max(len(results), 1)
    spends = [r["_spend"] for r in results]
    costs = [sp.cost for sp in spends]
    return {"calls": sum(sp.calls for sp in spends) / n,
            "prompt_tokens": sum(sp.prompt_tokens for sp in spends) / n,
            "completion_tokens": sum(sp.completion_tokens for sp in spends) / n,
            "cost": None if None in costs else sum(costs) / n,
            "seconds": sum(sp.seconds for sp in spends) / n}


def _summary_line(s: dict) -> str:
    u = s["usage"]
    cost = "cost unknown" if u["cost"] is None else f"${u['cost']:.4f}"
    return (f"{s['step']}: {s['rows']} rows → {s['ok']} ok, {s['failed']} failed, {s['skipped']} skipped"
            f" | {u['calls'] + u['retries'] + u['failures']} requests ({u['retries']} retried, "
            f"{u['failures']} failed), {u['cache_hits']} cache hits, "
            f"{u['prompt_tokens'] + u['completion_tokens']} tokens, {cost}, {s['seconds']} s"
            + "".join(f"\n  {name}: {d['calls']} calls, {d['failures']} failed"
                      + (f" (last: {d['last_error']})" if d["failures"] else "")
                      for name, d in u.get("deployments", {}).items()))


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))





def _parser(parse) -> Callable[[str], object]:
    if parse is None:
        return str.strip
    if callable(parse):
        return parse
    if parse == "json":
        return _json
    pattern = re.compile(parse, re.DOTALL)

    def regex(text: str) -> str:
        m = pattern.search(text)
        if not m:
            raise ParseError(f"the answer does not match the expected format ({pattern.pattern})")
        return (m.group(1) if pattern.groups else m.group(0)).strip()
    return regex


def _schema_parser(schema: Schema) -> Callable[[str], object]:
    def parse(text: str):
        try:
            return schema.validate(_json(text))
        except ValueError as e:  # ParseError included: pydantic's message, shortened
            raise ParseError(str(e)) from None
    return parse


def _json(text: str):
    """The first JSON object or array in the answer (models like to wrap JSON in prose or fences)."""
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    if start < 0:
        raise ParseError("no JSON object or array in the answer")
    try:
        value, _ = json.JSONDecoder().raw_decode(text[start:])
    except json.JSONDecodeError as e:
        raise ParseError(f"invalid JSON ({e.msg} at char {e.pos})") from None
    return value
