"""A step: prompt file + model + parser + validator, run over a DataFrame from one notebook cell.

    generic = Step("generic", "prompts/style_clone/generic.yaml", llm, validate=not_a_copy)
    out = generic.run(chunks.head(5))     # try a change on a few samples first

`run` returns a NEW DataFrame with every input row (none is ever dropped), the output column and
`generic.status` (ok / failed / skipped), `.error`, `.attempts`, `.raw`, `.reasoning`,
`.prompt_version`, `.call` (where its last answer is in the cache: tk.trace reads it). A parse or
validation failure is sent back to the model as feedback and the row is retried, up to
`max_retries` times (an answer that repeats the feedback is refused: parsing.echoes). Finished
calls are cached as they arrive, so an interrupted run resumes where it stopped;
`run(df, reask="failed")` asks again for the rows whose answers failed before.

`n=3` (at a temperature above 0) asks for three candidate answers per row, each parsed, validated
and retried on its own: the frame then has one row per candidate, numbered by `<step>.candidate`,
with the sample it answers in `<step>.candidate_of`. A judge (Judge.pick) or a person picks among
them, and tk.keep keeps the picked one (else the first you corrected, else the first that passed).

But: a step is one call per row (plus its feedback retries). Work across rows, such as dropping
duplicates or joining a document's chunks, is ordinary pandas between two steps.
"""

from __future__ import annotations

import asyncio
import copy
import difflib
import itertools
import re
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .frame import missing, sample_ids, set_folder
from .llm import LLM, Completion, loop, served, tokens
from .llm.candidates import MAX_CANDIDATES
from .llm.llm import NOT_PARAMS
from .llm.usage import Spend
from .parsing import FEEDBACK, ParseError, echoes, parser, schema_parser
from .prompts import Prompt, load_prompt
from .report import StepRecord, progress
from .results import Results, step_frame
from .schema import Schema

# Keywords Step(...) passes on to the model; anything else is a typo, not a cache-key part.
SAMPLING = {"temperature", "top_p", "top_k", "min_p", "max_tokens", "max_completion_tokens", "stop",
            "seed", "n", "frequency_penalty", "presence_penalty", "repetition_penalty", "logit_bias",
            "logprobs", "top_logprobs", "reasoning_effort", "thinking", "extra_body"}
ROWS_PER_SLOT = 4  # rows a step keeps in flight per request the LLM may have in flight
LOOK_AHEAD = 256  # rows whose cached answers are read in one query
REASK = ("failed",)  # what run(reask=...) asks again for
# a row's outcome before it has one (Results.store reads these keys)
BLANK = {"status": "skipped", "error": None, "attempts": 0, "raw": None, "reasoning": None, "value": None,
         "call": None, "_cached": False, "_spend": Spend()}  # never added to: a row's own Spend replaces it


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
    keep_reasoning: for datasets that train on the reasoning: the parser (and so the output)
              gets "<think>reasoning</think>\n" + answer when the model gave reasoning.
    schema:   a pydantic model (or list[Model], one row per item; Annotated[list[Model], Field(
              max_length=3)] bounds the list) instead of parse=/columns=: it is sent with the
              request (enforced where the provider can), the answer is validated against it, and
              each field becomes a typed column.
    sampling: e.g. max_tokens=800 (over the prompt file's value), or a function of the file's
              value, applied again whenever the file changes: max_tokens=lambda own: max(own, 1500)
              makes the answer budget follow the passage size without lowering the file's.
              n=k (k > 1, at a temperature above 0): k candidate answers per row, one row each;
              sent as one request with n where the endpoint honours it, else one request each,
              and cached each under its own key, so raising k sends only the new ones.
    """

    def __init__(self, name: str, prompt: str | Path | Prompt, llm: LLM | None = None, *,
                 parse: str | Callable | None = None, validate: Callable | None = None,
                 when: Callable | None = None, max_retries: int = 2,
                 columns: list[str] | None = None, accept_truncated: bool = False,
                 keep_reasoning: bool = False, schema=None, **sampling):
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
        if "guided_json" in (sampling.get("extra_body") or {}):
            raise ValueError("extra_body guided_json: vLLM >= 0.12 ignores it and answers unconstrained; "
                             "pass schema=<pydantic model> instead (sent as response_format, which every "
                             "vLLM version enforces, and validated here whatever the server did)")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"step name {name!r} must be an identifier: it names output columns")
        self.name = name
        self.prompt = prompt if isinstance(prompt, Prompt) else load_prompt(prompt)
        self.llm = llm or LLM()
        self.schema = None if schema is None else Schema(schema)
        if self.schema and (parse is not None or columns is not None):
            raise ValueError("schema= parses the answer and names the columns; drop parse=/columns=")
        self.parse = schema_parser(self.schema) if self.schema else parser(parse)
        self.validate, self.when, self.max_retries = validate, when, max_retries
        self.columns = self.schema.fields if self.schema else columns
        self.accept_truncated, self.keep_reasoning = accept_truncated, keep_reasoning
        self._sampling, self._watch = sampling, not isinstance(prompt, Prompt)
        self.params, self.n = self._params()

    def _params(self) -> tuple[dict, int]:
        """The prompt file's sampling parameters, the Step's own over them, and the schema; and
        how many candidate answers a row gets (n=, taken out: each candidate is keyed on its own)."""
        own = self.prompt.params
        params = {**own, **{k: v(own.get(k)) if callable(v) else v for k, v in self._sampling.items()}}
        if self.schema:  # part of every request, hence of the cache key: a new schema re-sends
            params["response_format"] = self.schema.response_format()
        n = params.get("n", 1)
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_CANDIDATES:
            raise ValueError(f"step {self.name!r}: n={n!r}; n is how many candidate answers a row gets, "
                             f"a whole number from 1 to {MAX_CANDIDATES}")
        if n > 1:
            del params["n"]
            if params.get("temperature") == 0:
                raise ValueError(f"step {self.name!r}: n={n} at temperature 0 would pay for {n} copies of one "
                                 "answer (at temperature 0 the model picks the same words every time); set a "
                                 "temperature above 0 (e.g. temperature=0.8) for candidates, or drop n")
        return params, n

    def __repr__(self) -> str:
        return (f"Step({self.name!r}, prompt={str(self.prompt.path)!r} v{self.prompt.version}, "
                f"model={self.llm.model!r})")

    def preview(self, df: pd.DataFrame, i: int = 0, **constants) -> list[dict]:
        """The messages row i would send, without calling the model."""
        self.reload_prompt()
        self.prompt.check([*df.columns, *constants])
        return self.prompt.render({**df.iloc[i].to_dict(), **constants})

    def run(self, df: pd.DataFrame, reask: str | None = None, **constants) -> pd.DataFrame:
        """Run the step on every row; blocks the cell (interrupt it safely at any time).

        `reask="failed"`: a row (or candidate) whose answers failed in an earlier run is asked
        again, its whole exchange sent anew (at a temperature above 0, another sample); the
        answers it replaces stay in the cache under other keys, and a plain rerun afterwards
        gets the new ones. Rows that fail in this run for the first time are not asked twice."""
        return loop.run_sync(self.arun(df, reask=reask, **constants))

    async def arun(self, df: pd.DataFrame, reask: str | None = None, **constants) -> pd.DataFrame:
        out, record = await self.execute(df, constants, reask=reask)
        record.report(self.llm.folder)
        return out

    async def execute(self, df: pd.DataFrame, constants: dict, bar: bool = True,
                      reask: str | None = None) -> tuple[pd.DataFrame, StepRecord]:
        """The run and its record, without the manifest line and summary print (a streamed run
        writes one per step, not one per batch). `bar=False` hides the progress bar."""
        if reask is not None and reask not in REASK:
            raise ValueError(f"reask={reask!r}: it takes {' or '.join(map(repr, REASK))} (the rows whose "
                             "answers failed in an earlier run)")
        self.reload_prompt()
        self.prompt.check([*df.columns, *constants])  # before any request
        if reask and self.params.get("temperature") == 0:
            warnings.warn(f"step {self.name!r}: reask={reask!r} at temperature 0: the model will most likely give "
                          "the same answers again; set a temperature above 0 (e.g. temperature=0.8) for another "
                          "sample", stacklevel=4)
        await self._check_fit(df, constants)
        start, before = time.monotonic(), copy.deepcopy(self.llm.usage)
        results = Results(len(df), sample_ids(df).to_numpy(dtype=object) if self.n > 1 else None)
        shown = tqdm(total=len(df), desc=self.name, unit="row", disable=not bar)
        try:
            await self._run_rows(self._looked_up(_records(df, constants)), results, shown, reask is not None)
        finally:
            shown.close()
            self.llm.cache.checkpoint()  # the end of a run, an error or a cancel: commit what arrived
        out = self._frame(df, results)
        record = StepRecord(self.name, self.prompt.version, self.llm.model, self.params,
                            self.llm.concurrency, self.llm.budget.caps(), rows=len(df),
                            **{k: results.counts[k] for k in ("ok", "failed", "skipped")},
                            seconds=round(time.monotonic() - start, 2),
                            usage=self.llm.usage - before, spend=results.spend, candidates=self.n,
                            reasked=results.counts["reasked"] if reask else None)
        out.attrs["step"] = record.as_dict()
        set_folder(out, self.llm.folder)
        return out, record

    async def _run_rows(self, rows, results: Results, bar, reask: bool = False) -> None:
        """A fixed set of workers pulls rows as they finish others: memory stays flat in the row count."""
        counts, shown = results.counts, [0.0]

        def postfix():
            bar.set_postfix(ok=counts["ok"], failed=counts["failed"], skipped=counts["skipped"],
                            cached=counts["cached"], refresh=False)

        async def worker():
            for done, (pos, row, first, keys) in enumerate(rows, 1):
                results.store(pos, await self._row(row, reask, first, keys))
                bar.update()
                progress(self.name, results.done, len(results.status), counts["ok"], counts["failed"])
                now = time.monotonic()
                if now - shown[0] > 0.2:  # formatting the postfix per row costs more than the row
                    shown[0] = now
                    postfix()
                if done % 256 == 0:  # cached rows never wait: let an interrupt or other calls in
                    await asyncio.sleep(0)

        width = min(ROWS_PER_SLOT * (self.llm.concurrency or 64), len(results.status))
        tasks = [asyncio.ensure_future(worker()) for _ in range(width)]
        if not tasks:
            return
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            for task in tasks:
                task.cancel()
            postfix()  # the bar's last word counts what the summary line counts
        errors = [task.exception() for task in done if task.exception() is not None]  # all retrieved
        if errors:
            raise errors[0]

    async def _check_fit(self, df: pd.DataFrame, constants: dict) -> None:
        """Ask the server what it serves now (a swapped model is seen before any answer is reused)
        and warn when the longest row's request cannot fit its context window."""
        found = await self.llm.serving(fresh=True)
        if not found or df.empty or not any(s.context or s.server == "ollama" for s in found):
            return
        sizes = sum((df[n].astype(str).str.len() for n in self.prompt.placeholders if n in df.columns),
                    start=pd.Series(0, index=df.index))
        messages, _, _ = self._first_request({**df.iloc[int(np.argmax(sizes.to_numpy()))].to_dict(), **constants})
        if messages is not None:
            warning = served.fit_warning(found, self.llm.model, tokens.estimate(messages, self.params),
                                         f"step {self.name!r}")
            if warning:
                self.llm.warn_once(warning)

    def reload_prompt(self) -> None:
        """Pick up an edit of the prompt file before anything is sent (a Prompt object is kept as is)."""
        new = self.prompt.reloaded() if self._watch else None
        if new is not None:
            print(f"prompt {new.path} changed: {self.prompt.version} → {new.version}")
            self.prompt = new
            self.params, self.n = self._params()

    def requests(self, df: pd.DataFrame, **constants) -> dict[str, list[dict]]:
        """The first request of every row that sends one, by cache key (each distinct one once):
        what a run would send before any feedback, for sending it another way (`tk.batch`)."""
        if self.n > 1:
            raise ValueError(f"step {self.name!r} asks for {self.n} candidates a row (n=); a provider batch "
                             "sends one answer a request: run it with .run()")
        out = {}
        for _, row in _records(df, constants):
            messages, _, _ = self._first_request(row)
            if messages is not None:
                out[self.llm.key(messages, self.params)] = messages
        return out

    def _first_request(self, row: dict) -> tuple[list[dict] | None, str, str | None]:
        """The messages row `row` starts with, or why it sends none: (messages, status, error)."""
        try:
            selected = self.when is None or self.when(row)
        except Exception as e:  # a bug in the user's function: that row fails, the others run
            return None, "failed", f"when= raised {type(e).__name__}: {e}"
        if not selected:
            return None, "skipped", "not selected by when="
        empty = [n for n in self.prompt.placeholders if missing(row.get(n))]
        if empty:
            return None, "skipped", (f"no value for {{{empty[0]}}} (an earlier step failed or "
                                     "skipped this row)")
        return self.prompt.render(row), "ok", None

    def _looked_up(self, rows, block: int = LOOK_AHEAD):
        """(position, row, its first request, its cache keys) for every row, a block at a time,
        with the block's answers read from the cache in one query (cache.prefetch)."""
        rows = iter(rows)
        while batch := [(pos, row, self._first_request(row)) for pos, row in itertools.islice(rows, block)]:
            keys = [None if first[0] is None else [self.llm.key(first[0], self.params, i) for i in range(self.n)]
                    for _, _, first in batch]
            self.llm.cache.prefetch(key for row_keys in keys if row_keys for key in row_keys)
            for (pos, row, first), row_keys in zip(batch, keys):
                yield pos, row, first, row_keys

    async def _row(self, row: dict, reask: bool = False, first: tuple | None = None,
                   keys: list[str] | None = None) -> dict | list[dict]:
        """The row's answer (a dict), or with n > 1 its candidates' (a list, one dict each);
        `first` and `keys`: its first request and cache keys, when the look-ahead made them."""
        messages, status, error = first or self._first_request(row)
        if messages is None:
            return {**BLANK, "status": status, "error": error}
        if self.n == 1:
            return await self._answer(messages, row, reask, key=keys[0] if keys else None)
        firsts = await self.llm.candidates(messages, self.params, self.n, label=f"step {self.name!r}", keys=keys)
        answers = (self._answer(messages, row, reask, i, first, keys[i] if keys else None)
                   for i, first in enumerate(firsts))
        if all(c.cached for c in firsts):  # likely nothing to wait for: a task each made a cached rerun ≈ 30 % slower
            return [await answer for answer in answers]
        return list(await asyncio.gather(*answers))

    async def _answer(self, messages: list[dict], row: dict, reask: bool, candidate: int = 0,
                      first: Completion | None = None, key: str | None = None) -> dict:
        """One answer and its feedback retries; with `reask`, asked again when its answers failed
        in an earlier run (the first came from the cache and was refused)."""
        done = await self._attempts(messages, row, candidate, first, key=key)
        if reask and done.pop("_refused_before", False) and self.llm.cache.mode != "replay":
            done = {**await self._attempts(messages, row, candidate, fresh=True, key=key), "_reasked": True}
            done.pop("_refused_before", None)
        return done

    async def _attempts(self, messages: list[dict], row: dict, candidate: int = 0,
                        first: Completion | None = None, fresh: bool = False, key: str | None = None) -> dict:
        """Send, parse, validate; on a problem, show the model its answer and the problem, retry.
        `key`: the first request's cache key, when the look-ahead computed it."""
        spend, cached, call, told = Spend(), False, None, None  # told: the problem the last feedback named
        for attempt in range(1, self.max_retries + 2):
            c: Completion = first if attempt == 1 and first is not None else await self.llm.call(
                messages, self.params, label=f"step {self.name!r}", candidate=candidate, fresh=fresh,
                key=key if attempt == 1 else None)
            cached, call = cached or c.cached, c.key or call
            spend.add(c)
            done = {**BLANK, "attempts": attempt, "raw": c.text, "reasoning": c.reasoning or None, "call": call,
                    "_cached": cached, "_spend": spend}
            if not c.ok:
                return {**done, "status": "failed", "error": f"{c.error_kind}: {c.error}"}
            if attempt == 1:
                from_cache = c.cached
            problem, value = self._check(c, row)
            if problem is None and told is not None and echoes(c.text, told):  # what a lenient check let by
                problem, value = f"the answer repeats the feedback it was sent ({told}) instead of answering", None
            if problem is None:
                return {**done, "status": "ok", "value": value}
            if attempt > self.max_retries:
                return {**done, "status": "failed", "error": problem, "_refused_before": from_cache}
            # an empty assistant turn is refused by some providers: say it was empty instead
            told, messages = problem, [*messages, {"role": "assistant", "content": c.text or "(no answer)"},
                                       {"role": "user", "content": FEEDBACK.format(problem=problem)}]

    def _check(self, c: Completion, row: dict) -> tuple[str | None, object]:
        if not c.text.strip():
            return "the answer was empty", None
        if c.finish_reason == "length" and not self.accept_truncated:
            return "the answer was cut off at max_tokens; answer more briefly", None
        text = c.text
        if self.keep_reasoning and c.reasoning:
            text = f"<think>{c.reasoning}</think>\n{text}"
        try:
            value = self.parse(text)
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

    def _frame(self, df: pd.DataFrame, results: Results) -> pd.DataFrame:
        """Input rows + output + status columns (results.py; a judge adds its own to them)."""
        return step_frame(self, df, results)


_OPTIONS = ("parse", "validate", "when", "max_retries", "columns", "accept_truncated",
            "keep_reasoning", "schema")


def _records(df: pd.DataFrame, constants: dict, block: int = 1024):
    """(position, row dict) for every row, made a block at a time rather than all up front."""
    for begin in range(0, len(df), block):
        for pos, row in enumerate(df.iloc[begin:begin + block].to_dict("records"), begin):
            row.update(constants)
            yield pos, row

