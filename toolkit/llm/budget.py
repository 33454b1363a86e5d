"""A spending cap for one LLM: no call is sent that could take spending past it.

    llm = LLM("openai/gpt-4o-mini", max_cost=2.00, max_tokens_total=500_000)
    llm = LLM("hosted_vllm/qwen", api_base=url, max_cost=1.00, price_per_million=(0.2, 0.6))

Each call holds its worst case before it is sent and settles to what the answer reported. The
worst case is its prompt's token bound (tokens.py) plus the most its answer may take: the call's
own max_tokens, or, when it names none, a max_tokens the cap sends for it — what is left of the
budget, or the model's output limit from litellm's map if that is smaller — so a server that
would spend its own large default cannot. Holding and checking are one step on the toolkit's
event loop, so calls in flight cannot slip under the cap together. A call that would fit once the
calls in flight have settled waits for them; one that cannot fit is refused with "budget reached".

The server's word is checked: an answer that reports more completion tokens than the max_tokens
sent is counted as reported, fails its row and stops the cap's calls (the cap cannot hold against
that server). An answer cut off at a max_tokens the cap chose fails its row naming the cap and is
not cached, so a rerun with a higher cap asks again. Cached answers are free here.

But: one LLM object's spending in this process, from its creation. A new LLM (a rerun) starts at
zero; batch results (batch.py) are counted in `usage` but not held to the cap. A call that names
no max_tokens may take everything left, so such calls run one at a time when the model's output
limit is unknown (give the step a max_tokens to keep them concurrent).
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass

from . import tokens


@dataclass
class Hold:
    """What one call holds against the cap, and the params it is sent with."""

    tokens: int
    cost: float
    params: dict
    limit: int | None      # the answer limit sent (None: none was needed, the call is free)
    chosen: bool = False   # the cap chose the limit, below the model's own


class Budget:
    def __init__(self, max_cost: float | None, max_tokens_total: int | None,
                 rates: tuple[float, float] | None, model: str, output_limit: int | None = None):
        for name, value in (("max_cost", max_cost), ("max_tokens_total", max_tokens_total)):
            if value is not None and value < 0:
                raise ValueError(f"{name} must be ≥ 0 or None (no cap), got {value}")
        if max_cost is not None and rates is None:
            raise ValueError(f"max_cost= needs the price of {model!r}, and it is not known (litellm's price "
                             "map has no entry, or it is your own server): give it as LLM(..., "
                             "price_per_million=(input, output)) in dollars per million tokens, or cap "
                             "tokens with max_tokens_total= instead")
        self.max_cost, self.max_tokens_total, self.rates = max_cost, max_tokens_total, rates
        self.output_limit = output_limit
        self.spent_cost = self.reserved_cost = 0.0
        self.spent_tokens = self.reserved_tokens = 0
        self.stopped: str | None = None  # why no call may be sent any more (a server that overspent)
        self._waiting: list[asyncio.Future] = []

    @property
    def capped(self) -> bool:
        return self.max_cost is not None or self.max_tokens_total is not None

    async def reserve(self, messages: list[dict], params: dict) -> Hold | str:
        """Hold the call's worst case and return it (with the params to send), or why it is refused."""
        prompt = tokens.prompt_tokens(messages, params, at_most=True)
        asked = tokens.answer_limit(params)
        while True:
            if self.stopped:
                return self.stopped
            ever = self._room(prompt, held=False)  # what settling the calls in flight can leave at most
            limit = asked if asked is not None else min(self.output_limit or math.inf, ever)
            if limit < 1 or ever < limit:
                return self.refusal()
            if self._room(prompt, held=True) >= limit:
                return self._hold(prompt, params, asked, limit)
            waiter = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
            await waiter  # a call in flight settles: look again

    def settle(self, hold: Hold, reply=None) -> str | None:
        """Replace the hold by what the call used (nothing, when it got no answer); what is wrong
        with the answer as far as the cap goes, if anything."""
        self.reserved_tokens -= hold.tokens
        self.reserved_cost -= hold.cost
        waiting, self._waiting = self._waiting, []
        for waiter in waiting:
            if not waiter.done():
                waiter.set_result(None)
        if reply is None:
            return None
        self.spent_tokens += reply.prompt_tokens + reply.completion_tokens
        self.spent_cost += reply.cost if reply.cost is not None else self._price(reply.prompt_tokens,
                                                                                  reply.completion_tokens)
        if hold.limit is not None and reply.completion_tokens > hold.limit:
            self.stopped = (f"the server reported {reply.completion_tokens} completion tokens for "
                            f"max_tokens={hold.limit}: it does not honour max_tokens, so {self._caps()} "
                            "cannot hold against it; nothing more is sent. Fix the server (or its proxy) "
                            "to stop at max_tokens")
            return self.stopped
        if hold.chosen and reply.finish_reason == "length":
            return (f"the answer was cut off at max_tokens={hold.limit}, what was left under "
                    f"{self._caps()}; not cached. Rerun with a higher cap to ask again, or give the "
                    "step a max_tokens that fits")
        return None

    def refusal(self) -> str:
        return ("budget reached: " + self._caps(spent=True) + "; not sent. Rerun with a higher cap to "
                "send the rows that stopped here (the answers so far are cached)")

    def caps(self) -> dict:
        return {"max_cost": self.max_cost, "max_tokens_total": self.max_tokens_total}

    def _caps(self, spent: bool = False) -> str:
        caps = [f"max_cost=${self.max_cost:g}" + (f" (${self.spent_cost:.4f} spent, ${self.reserved_cost:.4f} "
                "held by calls in flight)" if spent else "") if self.max_cost is not None else "",
                f"max_tokens_total={self.max_tokens_total}" + (f" ({self.spent_tokens} spent, "
                f"{self.reserved_tokens} held)" if spent else "") if self.max_tokens_total is not None else ""]
        return "; ".join(c for c in caps if c)

    def _room(self, prompt: int, held: bool) -> float:
        """Answer tokens that fit after a prompt of `prompt` tokens, under every cap."""
        room = math.inf
        if self.max_tokens_total is not None:
            room = self.max_tokens_total - self.spent_tokens - (self.reserved_tokens if held else 0) - prompt
        if self.max_cost is not None:
            left = self.max_cost - self.spent_cost - (self.reserved_cost if held else 0) - self._price(prompt, 0)
            room = min(room, left / self.rates[1] if self.rates[1] else math.inf if left >= 0 else -1)
        return room

    def _hold(self, prompt: int, params: dict, asked: int | None, limit: float) -> Hold:
        if limit == math.inf:  # free and no token cap: nothing to bound
            hold = Hold(prompt, self._price(prompt, 0), params, None)
        elif asked is not None:
            hold = Hold(prompt + asked, self._price(prompt, asked), params, asked)
        else:
            limit = int(limit)
            hold = Hold(prompt + limit, self._price(prompt, limit), {**params, "max_tokens": limit}, limit,
                        chosen=self.output_limit is None or limit < self.output_limit)
        self.reserved_tokens += hold.tokens
        self.reserved_cost += hold.cost
        return hold

    def _price(self, prompt: int, answer: int) -> float:
        return 0.0 if self.rates is None else self.rates[0] * prompt + self.rates[1] * answer
