"""The LLM layer: one object per model that caches, throttles, retries and counts every call.

    llm = LLM()                                    # the embedded SmolLM2, no key needed
    llm = LLM("openai/gpt-4o-mini", folder="runs/qa")   # any litellm model string
    llm = LLM(folder="runs/qa", replay="recordings/qa.jsonl")  # answers only from recordings
    llm = LLM("hosted_vllm/qwen", deployments=[{"api_base": url1}, {"api_base": url2}])  # a fleet
    llm.complete("Say hi", max_tokens=8).text

A call never vanishes: it returns a `Completion` that is either ok or carries the error's kind and
message after the retry policy gave up.

But: limits and the retry budget belong to one LLM object. Two LLM objects (or two processes) on
the same key do not share them.
"""

from __future__ import annotations

import asyncio
import gc
import random
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import loop, transports
from .budget import Budget, rates_of
from .cache import Cache, CacheMiss, call_key
from .limiter import Limiter, estimate_tokens
from .transports import CallError, check_provider
from .usage import Usage

DEFAULT_MODEL = "local/smollm2"
# Connection settings belong to the LLM object, never to a call: they must not reach the cache key.
NOT_PARAMS = {"api_key", "api_base", "base_url", "headers", "extra_headers", "timeout", "model"}


@dataclass
class Completion:
    """One call's outcome: the answer, or why there is none."""

    text: str = ""
    reasoning: str = ""
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None
    cached: bool = False
    attempts: int = 0
    error_kind: str | None = None
    error: str | None = None
    seconds: float = 0.0    # how long the model took to answer (not queueing or backoff)

    @property
    def ok(self) -> bool:
        return self.error_kind is None

    def as_stored(self) -> dict:
        """What the cache keeps of a call: the answer and its usage, not how it was obtained."""
        return {k: getattr(self, k) for k in ("text", "reasoning", "finish_reason", "prompt_tokens",
                                               "completion_tokens", "cost", "seconds")}


@dataclass(frozen=True)
class Connection:
    """Where an LLM's calls go, for code that reaches the same provider another way (batch.py)."""

    api_base: str | None
    api_key: str | None = field(repr=False)  # never printed into a notebook
    fleet: bool = False


@dataclass
class Retry:
    """Exponential backoff with jitter, honouring Retry-After, within a per-call and a global budget."""

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    budget: int = 1000  # retries allowed across all calls of one LLM object before failing fast
    used: int = field(default=0, repr=False)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:  # the server knows best; ten minutes is still a sane ceiling
            return min(retry_after, 600.0)
        return min(self.max_delay, self.base_delay * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)


class LLM:
    """A model plus its run folder, cache, limiter and retry policy.

    `folder` is the run folder: the cache, the steps' manifest, labels and picks live there, and
    every frame a step returns carries it (`.attrs["folder"]`), so viewers find it on their own.
    `cache` is use / refresh / off (see cache.py); `replay` names a JSONL recording whose answers
    are loaded into the cache and are then the only answers (a call without one raises CacheMiss):
    what the committed notebooks and their tests run on.

    `deployments` (a list of dicts, or a litellm config YAML file) spreads the calls over a fleet of
    servers; `max_concurrent`, `rpm` and `tpm` then hold per deployment. The cache key is `model`
    either way, so a fleet run and a single-server run of the same model name share answers.

    `max_cost` (dollars) and `max_tokens_total` cap what this object may spend: a call that could
    pass a cap is not sent and fails with "budget reached" (see budget.py); a cost cap on a model
    of unknown price is refused here.
    """

    def __init__(self, model: str | None = None, *, folder: str | Path = "runs/default",
                 cache: str = "use", replay: str | Path | None = None,
                 api_base: str | None = None, api_key: str | None = None,
                 max_concurrent: int | None = 8, rpm: int | None = None, tpm: int | None = None,
                 timeout: float = 120.0, retry: Retry | None = None, transport: str = "auto",
                 deployments: list[dict] | str | Path | None = None,
                 max_cost: float | None = None, max_tokens_total: int | None = None):
        self.model = model or DEFAULT_MODEL
        had_litellm = "litellm" in sys.modules
        self.folder = Path(folder)
        self.timeout = timeout
        self.retry = retry or Retry()
        self.usage = Usage()
        self.connection = Connection(api_base, api_key, fleet=deployments is not None)
        self._failing: dict[str, tuple[str, str]] = {}  # see failing()
        if deployments is not None:
            from .fleet import Fleet

            if api_base is not None or transport != "auto":
                raise ValueError("with deployments=, each deployment names its own api_base (and "
                                 "model); api_base= and transport= are for a single server")
            self._transport = Fleet(self.model, deployments, api_key=api_key,
                                    max_concurrent=max_concurrent, rpm=rpm, tpm=tpm)
            self.usage.deployments = self._transport.usage
            caps = [d.max_concurrent for d in self._transport.deployments]
            self.concurrency = None if None in caps else sum(caps)
            max_concurrent = rpm = tpm = None  # the fleet holds these per deployment
        else:
            if self.model.startswith("local/"):
                max_concurrent = 1  # one in-process model: calls are serialized anyway
                from . import local_model

                local_model.weights_path(self.model.split("/", 1)[1])  # fail now if unknown
                local_model.register()
            self._transport = transports.pick(self.model, api_base, api_key, transport)
            if isinstance(self._transport, transports.LiteLLM) and not self.model.startswith("local/"):
                check_provider(self.model, api_key, api_base)
            self.concurrency = max_concurrent  # calls in flight at once (None: no limit), for estimates
        if replay is not None:
            if cache != "use":
                raise ValueError(f"replay= answers from recordings only; it cannot be combined with "
                                 f"cache={cache!r}")
            cache = "replay"
        self.budget = Budget(max_cost, max_tokens_total, rates_of(self._transport), self.model)
        self.cache = Cache(self.folder / "cache.sqlite", cache)
        if replay is not None:
            self.cache.load(replay)
        self._limits = dict(max_concurrent=max_concurrent, rpm=rpm, tpm=tpm)
        Limiter(**self._limits)  # validate now; the live limiter is made on the toolkit's loop
        self._limiter: Limiter | None = None
        if not had_litellm and "litellm" in sys.modules:
            gc.freeze()  # its ≈ 333 k import objects would cost a full collection inside the first run

    def __repr__(self) -> str:
        return f"LLM({self.model!r}, folder={str(self.folder)!r}, cache={self.cache.mode!r})"

    # -- public, cell-friendly API ---------------------------------------------------------------
    def complete(self, messages: str | list[dict], **params) -> Completion:
        """One call from a cell or a script (blocks; Ctrl-C cancels)."""
        try:
            return loop.run_sync(self.call(_as_messages(messages), params))
        finally:
            self.cache.flush()

    async def acomplete(self, messages: str | list[dict], **params) -> Completion:
        """One call from async code, on any event loop."""
        try:
            return await loop.run_async(self.call(_as_messages(messages), params))
        finally:
            self.cache.flush()

    def complete_many(self, conversations: list, **params) -> list[Completion]:
        """Many calls at once, under the limiter; results in input order."""
        async def many():
            return await asyncio.gather(*(self.call(_as_messages(m), params) for m in conversations))
        try:
            return loop.run_sync(many())
        finally:
            self.cache.flush()

    @contextmanager
    def failing(self, reasons: dict[str, str], kind: str):
        """While inside, a call whose cache key is in `reasons` fails with that reason (error kind
        `kind`) instead of being sent: batch mode keeps a request its batch failed from quietly
        becoming a live call when the step runs from the cache."""
        self._failing = {key: (kind, why) for key, why in reasons.items()}
        try:
            yield
        finally:
            self._failing = {}

    # -- the call itself (runs on the toolkit's loop) -------------------------------------------
    async def call(self, messages: list[dict], params: dict, label: str | None = None) -> Completion:
        """Cache → limiter → transport, with retries. `label` names the caller (a step) in errors."""
        bad = NOT_PARAMS & params.keys()
        if bad:
            raise ValueError(f"{', '.join(sorted(bad))} belong to LLM(...), not to a call: "
                             "they would leak into the cache key")
        key = call_key(self.model, messages, params)
        hit = self.cache.get(key)
        if hit is not None:
            self.usage.cache_hits += 1
            return Completion(**hit, cached=True)
        if self.cache.mode == "replay":
            first = messages[0]["content"] if messages else ""
            raise CacheMiss(f"{label or 'call'}: replay mode and no recorded answer for this call "
                            f"to {self.model}. First message: {first[:300]!r}. Run without replay= "
                            "to call the model and record it.")
        if key in self._failing:
            self.usage.failures += 1
            kind, why = self._failing[key]
            return Completion(attempts=1, error_kind=kind, error=why)
        if self._limiter is None:
            self._limiter = Limiter(**self._limits)
        result = await self._send_with_retries(messages, params)
        if result.ok:
            self.cache.put(key, self.model, messages, params, result.as_stored())
        return result

    async def _send_with_retries(self, messages: list[dict], params: dict) -> Completion:
        estimate = estimate_tokens(messages, params)
        attempt = 0
        while True:
            attempt += 1
            try:
                async with self._limiter.slot(estimate):
                    hold = self.budget.reserve(messages, params) if self.budget.capped else None
                    if self.budget.capped and hold is None:
                        self.usage.refused += 1
                        return Completion(attempts=attempt - 1, error_kind="budget", error=self.budget.refusal())
                    sent, reply = time.monotonic(), None  # the answer's own time, not the time queued
                    try:
                        reply = await self._transport.send(self.model, messages, params, self.timeout)
                    finally:
                        if hold is not None:
                            self.budget.settle(hold, *((reply.prompt_tokens, reply.completion_tokens, reply.cost)
                                                       if reply else ()))
            except CallError as e:
                out_of_budget = self.retry.used >= self.retry.budget
                if not e.retryable or attempt >= self.retry.max_attempts or out_of_budget:
                    self.usage.failures += 1
                    why = " (retry budget of this LLM used up)" if e.retryable and out_of_budget else ""
                    return Completion(attempts=attempt, error_kind=e.kind,
                                      error=f"{e.message}{why} after {attempt} attempt(s)")
                self.retry.used += 1
                self.usage.retries += 1
                await asyncio.sleep(self.retry.delay(attempt, e.retry_after))
                continue
            self.usage.answered(reply.prompt_tokens, reply.completion_tokens, reply.cost)
            return Completion(text=reply.text, reasoning=reply.reasoning,
                              finish_reason=reply.finish_reason, prompt_tokens=reply.prompt_tokens,
                              completion_tokens=reply.completion_tokens, cost=reply.cost,
                              attempts=attempt, seconds=round(time.monotonic() - sent, 3))


def _as_messages(messages: str | list[dict]) -> list[dict]:
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    return list(messages)
