"""Several answers to one call (a step's `n=`): each candidate cached under its own key, the missing
ones sent in one request with `n` where the endpoint honours it, else one request each.

Whether an endpoint honours n is learned from its answers (llama-cpp-python's and ollama's servers
ignore it, llama.cpp's refuses it), then remembered for the LLM object. Candidates are seeded apart
where a seed is in play, so two candidates are two samples, not one twice.
"""

from __future__ import annotations

import asyncio

from .cache import marked
from .completion import Completion
from .limiter import Limiter

MAX_CANDIDATES = 128  # answers one call may have (OpenAI's own limit on n); spaces a re-ask's seed


class Candidates:
    """Mixed into LLM, which holds the cache, the usage, the limiter and `_send_with_retries`;
    `_n` is what this endpoint was found to do with n (None: not known yet)."""

    async def candidates(self, messages: list[dict], params: dict, n: int,
                         label: str | None = None, keys: list[str] | None = None) -> list[Completion]:
        """The first answers of candidates 0..n-1 to one call, in order: each from the cache where
        it holds it (under the candidate's own key), the others sent in one request with `n=`
        where the endpoint honours it, else one request each.

        Whether it does is learned from its answers: a server that sends fewer choices than asked
        for (llama-cpp-python's and ollama's ignore n) or refuses n (llama.cpp's server) gets one
        request per candidate from then on, with a warning. A request for several answers shares
        its tokens, cost and time equally among them. With a spending cap every candidate is a
        request of its own (the cap reserves per request). `keys`: theirs, when the caller has them."""
        keys = keys or [self.key(messages, params, i) for i in range(n)]
        if self._served is None and self.cache.mode != "replay":
            await self.serving()
        found = [self._lookup(key) for key in keys]
        out: list[Completion | None] = [None] * n
        for i, (hit, store) in enumerate(found):
            if hit is not None:
                self.usage.cache_hits += 1
                out[i] = Completion(**hit, cached=True, key=store)
        missing = [i for i in range(n) if out[i] is None]
        if missing and self.cache.mode == "replay":
            raise self._miss(messages, label)
        if missing and self._limiter is None:
            self._limiter = Limiter(**self._limits)
        for run in _runs(missing):
            for i, answer in zip(run, await self._send_candidates(messages, params, run)):
                if answer.ok:
                    self._store(found[i][1], keys[i], messages, marked(params, i), answer)
                out[i] = answer
        return out

    async def _send_candidates(self, messages: list[dict], params: dict, run: list[int]) -> list[Completion]:
        """Answers for candidates `run` (consecutive indexes): one request with n where it may work."""
        got: list[Completion] = []
        if len(run) > 1 and self._n is not False and not self.budget.capped:
            first = await self._send_with_retries(messages, {**self.seeded(params, run[0]), "n": len(run)})
            if first.ok:
                got = _shared([first, *(first.more or [])][:len(run)])
                if len(got) < len(run):
                    self._n = False
                    self.warn_once(f"{self.model}: asked for {len(run)} answers in one request (n={len(run)}), "
                                   f"the server sent {len(got)}: it ignores n (llama-cpp-python's and ollama's "
                                   "servers do). The other candidates are sent one request each, from now on.")
                else:
                    self._n = True
            elif first.error_kind != "client" or self._n:  # not about n: every candidate of it failed
                return [first] * len(run)
        rest = run[len(got):]
        singles = list(await asyncio.gather(*(self._send_with_retries(messages, self.seeded(params, i))
                                              for i in rest)))
        if len(run) > 1 and not got and self._n is None and any(c.ok for c in singles):
            self._n = False  # it refused n, and answers one at a time
            self.warn_once(f"{self.model}: the server refused a request for {len(run)} answers (n={len(run)}); "
                           "candidates are sent one request each, from now on.")
        return got + singles

    def seeded(self, params: dict, offset: int) -> dict:
        """`params` for the call `offset` apart from the first (candidate i: i; a re-ask adds
        MAX_CANDIDATES per earlier answer): where a seed is in play — one in params, or the fixed
        one the embedded model samples with — it is moved by `offset`, so two candidates (or a
        re-ask) are two samples and not the same one twice. A server that draws its own seed
        (none given) is sent params as they are."""
        base = params.get("seed", getattr(self._transport, "seed", None))
        if not offset or not isinstance(base, int):
            return params
        return {**params, "seed": base + offset}


def _runs(indexes: list[int]) -> list[list[int]]:
    """[0, 1, 2, 5, 6] -> [[0, 1, 2], [5, 6]]: the candidates one request with n can ask for at
    once (its answers are seeded from the first index on)."""
    runs: list[list[int]] = []
    for i in indexes:
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def _shared(answers: list[Completion]) -> list[Completion]:
    """One request's answers, each with an equal share of its tokens, cost and time (a server
    reports them for the request, not per answer), so a row's candidates add up to what it paid."""
    first, n = answers[0], len(answers)

    def split(total: int) -> list[int]:
        return [total // n + (i < total % n) for i in range(n)]

    prompt, completion = split(first.prompt_tokens), split(first.completion_tokens)
    cost, seconds = None if first.cost is None else first.cost / n, round(first.seconds / n, 3)
    for i, c in enumerate(answers):
        c.prompt_tokens, c.completion_tokens, c.cost, c.seconds = prompt[i], completion[i], cost, seconds
        c.more = None
    return answers
