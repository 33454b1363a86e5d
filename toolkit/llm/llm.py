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
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import loop, served, tokens
from .budget import Budget
from .cache import Cache, CacheMiss, call_key, marked, variant_key
from .candidates import MAX_CANDIDATES, Candidates
from .completion import Completion
from .connect import Endpoint, connect, endpoint
from .limiter import Limiter
from .served import Served
from .transports import CallError, output_limit
from .usage import Usage

DEFAULT_MODEL = "local/smollm2"
# Connection settings belong to the LLM object, never to a call: they must not reach the cache key.
NOT_PARAMS = {"api_key", "api_base", "base_url", "headers", "extra_headers", "timeout", "model"}


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


class LLM(Candidates):
    """A model plus its run folder, cache, limiter and retry policy.

    `folder` is the run folder: the cache, the steps' manifest, labels and picks live there, and
    every frame a step returns carries it (`.attrs["folder"]`), so viewers find it on their own.
    `cache` is use / refresh / off (see cache.py); `replay` names a JSONL recording whose answers
    are then the only answers (a call without one raises CacheMiss, whatever the folder's cache
    holds): what the committed notebooks and their tests run on.

    `transport` is "auto" (by the model: connect.py), "http", "litellm", or a name given to
    `register_transport`.

    `deployments` (a list of dicts, or a litellm config YAML file) spreads the calls over a fleet of
    servers; `max_concurrent`, `rpm` and `tpm` then hold per deployment. The cache key is `model`
    either way, so a fleet run and a single-server run of the same model name share answers.

    `check()` asks the server what it serves (served.py); a step asks too, at the start of every
    run, and each answer records the weights that gave it: a cached answer from other weights than
    the endpoint now serves is not reused, and a prompt the server cut is a failed call.

    `max_cost` (dollars) and `max_tokens_total` cap what this object may spend: a call that could
    pass a cap is not sent and fails with "budget reached", and a call that names no max_tokens
    is sent one that fits (see budget.py). `price_per_million=(input, output)` prices the calls,
    in dollars per million tokens, where litellm's map has no price (your own server) or another
    one; a cost cap on a model of unknown price is refused here.
    """

    def __init__(self, model: str | None = None, *, folder: str | Path = "runs/default",
                 cache: str = "use", replay: str | Path | None = None,
                 api_base: str | None = None, api_key: str | None = None,
                 max_concurrent: int | None = 8, rpm: int | None = None, tpm: int | None = None,
                 timeout: float = 120.0, retry: Retry | None = None, transport: str = "auto",
                 deployments: list[dict] | str | Path | None = None,
                 max_cost: float | None = None, max_tokens_total: int | None = None,
                 price_per_million: tuple[float, float] | None = None):
        self.model = model or DEFAULT_MODEL
        had_litellm = "litellm" in sys.modules
        self.folder = Path(folder)
        self.timeout = timeout
        self.retry = retry or Retry()
        route = connect(self.model, api_base=api_base, api_key=api_key, transport=transport,
                        deployments=deployments, max_concurrent=max_concurrent, rpm=rpm, tpm=tpm)
        self._transport, self._limits = route.transport, route.limits
        self._server = None if deployments is not None else (api_base, api_key)  # for endpoint()
        self.concurrency = route.concurrency  # calls in flight at once (None: no limit), for estimates
        self.usage = Usage(deployments=route.deployments)
        self._answers: dict[str, Completion] = {}  # see answering()
        if replay is not None:
            if cache != "use":
                raise ValueError(f"replay= answers from recordings only; it cannot be combined with "
                                 f"cache={cache!r}")
            cache = "replay"
        self._price = None if price_per_million is None else _per_token(price_per_million)
        self.budget = Budget(max_cost, max_tokens_total, self._price or self._transport.rates, self.model,
                             output_limit(self.model))
        self.cache = Cache(self.folder / "cache.sqlite", cache, recording=replay)
        Limiter(**self._limits)  # validate now; the live limiter is made on the toolkit's loop
        self._limiter: Limiter | None = None
        self._served: tuple[Served, ...] | None = None  # what the endpoint(s) serve: see serving()
        self._weights: frozenset[str] = frozenset()
        self._one: Served | None = None  # a single endpoint's (a fleet's replies say their own)
        self._asking: asyncio.Lock | None = None
        self._warned: set[str] = set()
        self._n: bool | None = None  # does the endpoint honour n (several answers a request)? None: not known yet
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
            self.cache.checkpoint()  # the end of a run: cache.sqlite alone is whole

    def close(self) -> None:
        """Commit every answer into cache.sqlite itself (see Cache.checkpoint); the LLM stays usable."""
        self.cache.close()

    def check(self) -> Served | list[Served]:
        """Ask the server what it serves: its model names, its context window and the weights
        behind the name, where it says (served.py). A fleet gives one per deployment."""
        found = loop.run_sync(self.serving(fresh=True))
        return list(found) if len(found) != 1 else found[0]

    async def serving(self, fresh: bool = False) -> tuple[Served, ...]:
        """What the endpoint(s) serve, asked once per LLM (again when `fresh`: a step asks at the
        start of every run). Nothing is asked in replay mode: recordings need no server."""
        if self.cache.mode == "replay":
            return ()
        if self._asking is None:
            self._asking = asyncio.Lock()
        async with self._asking:  # calls in flight wait for one answer instead of asking again
            if self._served is None or fresh:
                ask = getattr(self._transport, "served", None)
                found = await ask() if ask else None
                found = tuple(found) if isinstance(found, list) else (found,) if found else ()
                self._served, self._one = found, found[0] if len(found) == 1 else None
                self._weights = frozenset(s.weights for s in found if s.weights)
        return self._served

    def warn_once(self, message: str) -> None:
        """A warning about this LLM's server, shown once per LLM however many runs find it."""
        if message not in self._warned:
            self._warned.add(message)
            warnings.warn(message, ServerWarning, stacklevel=3)

    # -- for code that obtains answers another way (a provider's batch API: batch.py) ----------
    def key(self, messages: list[dict], params: dict, candidate: int = 0) -> str:
        """The cache key of a call with these messages and sampling parameters (of its answer
        `candidate`, when a step asks for several)."""
        return call_key(self.model, messages, marked(params, candidate) if candidate else params)

    def endpoint(self) -> Endpoint:
        """This LLM's provider as an OpenAI-style base URL and auth headers; a fleet has none."""
        if self._server is None or self.model.startswith("local/"):
            raise ValueError(f"{self.model!r} is " + ("a fleet: its calls go to several endpoints" if self._server
                             is None else "the embedded model: it runs in this process"))
        return endpoint(self.model, *self._server)

    def record(self, key: str, messages: list[dict], params: dict, answer: Completion) -> None:
        """Store an answer obtained outside `call` as a call would: in the cache and the live usage."""
        self.cache.put(key, self.model, messages, params, answer.as_stored())
        self.usage.answered(answer.prompt_tokens, answer.completion_tokens, answer.cost)

    @contextmanager
    def answering(self, answers: dict[str, Completion]):
        """While inside, a call whose cache key is in `answers` (and not in the cache) returns that
        Completion instead of being sent: a request a provider's batch failed stays failed, with
        the batch's reason, rather than quietly becoming a live call."""
        self._answers = answers
        try:
            yield
        finally:
            self._answers = {}

    # -- the call itself (runs on the toolkit's loop) -------------------------------------------
    async def call(self, messages: list[dict], params: dict, label: str | None = None, *,
                   candidate: int = 0, fresh: bool = False, key: str | None = None) -> Completion:
        """Cache → limiter → transport, with retries. `label` names the caller (a step) in errors.

        `candidate` i > 0 is the i-th of several answers to the same messages (a step's `n=`): its
        own cache key (cache.marked), and seeded apart from the others where a seed is in play
        (`seeded`). `fresh` sends the call again although the cache holds an answer (a re-ask):
        the new answer takes the call's key, so a plain rerun gets it, and the one it replaces is
        kept under an "earlier" key. Replay mode never sends: `fresh` is ignored there. `key` is the
        call's cache key (self.key) when the caller computed it already (a step's look-ahead)."""
        bad = NOT_PARAMS & params.keys()
        if bad:
            raise ValueError(f"{', '.join(sorted(bad))} belong to LLM(...), not to a call: "
                             "they would leak into the cache key")
        key = key or self.key(messages, params, candidate)
        if self._served is None and self.cache.mode != "replay":
            await self.serving()
        hit, store = self._lookup(key)
        if hit is not None and (not fresh or self.cache.mode == "replay"):
            self.usage.cache_hits += 1
            return Completion(**hit, cached=True, key=store)
        if self.cache.mode == "replay":
            raise self._miss(messages, label)
        if key in self._answers and not candidate and not fresh:
            answer = self._answers[key]
            self.usage.failures += not answer.ok
            return answer
        if self._limiter is None:
            self._limiter = Limiter(**self._limits)
        earlier = self._earlier(messages, params, candidate) if hit is not None else 0
        result = await self._send_with_retries(messages, self.seeded(params, candidate + MAX_CANDIDATES * earlier))
        if result.ok:
            if hit is not None:  # the answer it replaces stays, under the next "earlier" key
                kept = marked(params, candidate, earlier)
                self.cache.put(self.key(messages, kept), self.model, messages, kept, hit)
            self._store(store, key, messages, marked(params, candidate), result)
        return result

    def _lookup(self, key: str) -> tuple[dict | None, str]:
        """(the cached answer of call `key` from the weights served now, where it is stored); on a
        miss (None, where a new answer goes: `key`, or "" for beside another weights' answer)."""
        hit = self.cache.get(key)
        if hit is not None and self._weights:
            return self._same_weights(key, hit)
        return hit, key

    def _store(self, store: str, key: str, messages: list[dict], params: dict, result: Completion) -> None:
        if not store:  # the call's own row keeps the other weights' answer
            store = variant_key(key, (result.served or {}).get("weights") or "")
        self.cache.put(store, self.model, messages, params, result.as_stored())
        result.key = store

    def _earlier(self, messages: list[dict], params: dict, candidate: int) -> int:
        """The first free "earlier" index of a call: 1 + how many answers it had replaced before."""
        n = 1
        while self.cache.get(self.key(messages, marked(params, candidate, n))) is not None:
            n += 1
        return n

    def _miss(self, messages: list[dict], label: str | None) -> CacheMiss:
        """Replay had no answer: name the recording and the call (its first and last message)."""
        first, last = (str(messages[i].get("content"))[:300] for i in (0, -1)) if messages else ("", "")
        where = f" in {self.cache.recording}" if self.cache.recording else ""
        return CacheMiss(f"{label or 'call'}: replay mode and no recorded answer{where} for this call "
                         f"to {self.model}. First message: {first!r}"
                         + (f", last: {last!r}" if len(messages) > 1 else "")
                         + ". Run without replay= to call the model and record it.")

    def _same_weights(self, key: str, hit: dict) -> tuple[dict | None, str]:
        """The cached answer if the weights that gave it are served now (or nobody said which gave
        it); else the answer kept from the weights served now, if any. Returns (answer, where it is
        stored); with no answer, where a new one goes: "" (another key, to keep the old one beside it)."""
        old = (hit.get("served") or {}).get("weights")
        if old is None or old in self._weights:
            return hit, key
        for weights in self._weights:
            kept = self.cache.get(variant_key(key, weights))
            if kept is not None:
                return kept, variant_key(key, weights)
        self.warn_once(f"{self.model}: the cache's answers came from {old}; the server now serves "
                       f"{' / '.join(sorted(self._weights))}. Those calls are sent again, and the old "
                       "answers are kept beside the new ones: a run against the old weights gets them back")
        return None, ""

    async def _send_with_retries(self, messages: list[dict], params: dict) -> Completion:
        prompt = tokens.prompt_tokens(messages)  # the one estimate: pacing, and the answer's check below
        estimate = prompt + tokens.answer_tokens(params)
        attempt = 0
        while True:
            attempt += 1
            try:
                async with self._limiter.slot(estimate):
                    hold = await self.budget.reserve(messages, params) if self.budget.capped else None
                    if isinstance(hold, str):
                        self.usage.refused += 1
                        return Completion(attempts=attempt - 1, error_kind="budget", error=hold)
                    sent, reply, capped = time.monotonic(), None, None  # the answer's own time, not queueing
                    try:  # with a cap, params may gain the max_tokens it chose (not part of the cache key)
                        reply = await self._transport.send(self.model, messages, hold.params if hold else params,
                                                           self.timeout)
                        reply.served = reply.served or self._one
                        if self._price is not None:
                            reply.cost = self._price[0] * reply.prompt_tokens + self._price[1] * reply.completion_tokens
                    finally:
                        if hold is not None:
                            capped = self.budget.settle(hold, reply)
            except CallError as e:
                out_of_budget = self.retry.used >= self.retry.budget
                if not e.retryable or attempt >= self.retry.max_attempts or out_of_budget:
                    self.usage.failures += 1
                    why = " (retry budget of this LLM used up)" if e.retryable and out_of_budget else ""
                    message = served.refusal_hint(e.message, self._one) if e.kind == "client" else e.message
                    return Completion(attempts=attempt, error_kind=e.kind,
                                      error=f"{message}{why} after {attempt} attempt(s)")
                self.retry.used += 1
                self.usage.retries += 1
                await asyncio.sleep(self.retry.delay(attempt, e.retry_after))
                continue
            self.usage.answered(reply.prompt_tokens, reply.completion_tokens, reply.cost)
            if capped:  # paid for, and not what the cap allowed: the row fails, nothing is cached
                return Completion(attempts=attempt, error_kind="budget", error=capped)
            answer = Completion.from_reply(reply, attempt, round(time.monotonic() - sent, 3))
            if reply.prompt_tokens:  # the prompt as sent, by the one estimate (tokens.py)
                window = reply.served.context if reply.served else None
                if served.prompt_cut(prompt, reply.prompt_tokens, window):
                    self.usage.failures += 1
                    answer.error_kind = "context"
                    answer.error = served.cut_reason(prompt, reply.prompt_tokens, reply.served)
            return answer


class ServerWarning(UserWarning):
    """Something about the server a run should know before trusting its answers."""


def _per_token(price_per_million: tuple[float, float]) -> tuple[float, float]:
    try:
        prompt, answer = (float(p) / 1e6 for p in price_per_million)
    except (TypeError, ValueError):
        raise ValueError(f"price_per_million= takes (input, output) dollars per million tokens, "
                         f"e.g. (0.15, 0.60); got {price_per_million!r}") from None
    if prompt < 0 or answer < 0:
        raise ValueError(f"price_per_million= must not be negative, got {price_per_million!r}")
    return prompt, answer


def _as_messages(messages: str | list[dict]) -> list[dict]:
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    return list(messages)
