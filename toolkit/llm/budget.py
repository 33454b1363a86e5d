"""A spending cap for one LLM: a call that could pass it is not sent, and says so.

    llm = LLM("openai/gpt-4o-mini", max_cost=2.00, max_tokens_total=500_000)

Each call reserves its worst case before it is sent (its prompt, estimated at 4 characters a
token, plus its max_tokens, at the model's price) and settles to what the answer reported; a call
whose reservation does not fit is refused with "budget reached". The reservation is taken and
checked in one step on the toolkit's event loop, so 64 calls in flight cannot all slip under the
cap at once: spending passes the cap only by what answers report beyond their estimate.
Cached answers are free here.

But: one LLM object's spending in this process, from its creation. A new LLM (a rerun) starts
at zero; batch results (batch.py) are counted in `usage` but not held to the cap.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Hold:
    tokens: int
    cost: float


class Budget:
    def __init__(self, max_cost: float | None, max_tokens_total: int | None,
                 rates: tuple[float, float] | None, model: str):
        for name, value in (("max_cost", max_cost), ("max_tokens_total", max_tokens_total)):
            if value is not None and value < 0:
                raise ValueError(f"{name} must be ≥ 0 or None (no cap), got {value}")
        if max_cost is not None and rates is None:
            raise ValueError(f"max_cost= needs the price of {model!r}, and it is not known (litellm's "
                             "price map has no entry, or it is your own server): cap tokens with "
                             "max_tokens_total= instead, or drop max_cost=")
        self.max_cost, self.max_tokens_total, self.rates = max_cost, max_tokens_total, rates
        self.spent_cost = self.reserved_cost = 0.0
        self.spent_tokens = self.reserved_tokens = 0

    @property
    def capped(self) -> bool:
        return self.max_cost is not None or self.max_tokens_total is not None

    def reserve(self, messages: list[dict], params: dict) -> Hold | None:
        """Hold the call's worst case, or None (and nothing held) when it would not fit."""
        prompt = sum(len(str(m.get("content") or "")) for m in messages) // 4
        answer = params.get("max_tokens") or params.get("max_completion_tokens") or 256
        hold = Hold(prompt + answer, self._price(prompt, answer))
        if self.max_tokens_total is not None and (
                self.spent_tokens + self.reserved_tokens + hold.tokens > self.max_tokens_total):
            return None
        if self.max_cost is not None and self.spent_cost + self.reserved_cost + hold.cost > self.max_cost:
            return None
        self.reserved_tokens += hold.tokens
        self.reserved_cost += hold.cost
        return hold

    def settle(self, hold: Hold, prompt_tokens: int = 0, completion_tokens: int = 0,
               cost: float | None = None) -> None:
        """Replace the hold by what the call used (nothing, when it got no answer)."""
        self.reserved_tokens -= hold.tokens
        self.reserved_cost -= hold.cost
        self.spent_tokens += prompt_tokens + completion_tokens
        self.spent_cost += cost if cost is not None else self._price(prompt_tokens, completion_tokens)

    def refusal(self) -> str:
        caps = [f"max_cost=${self.max_cost:g} (${self.spent_cost:.4f} spent, ${self.reserved_cost:.4f} "
                "held by calls in flight)" if self.max_cost is not None else "",
                f"max_tokens_total={self.max_tokens_total} ({self.spent_tokens} spent, "
                f"{self.reserved_tokens} held)" if self.max_tokens_total is not None else ""]
        return ("budget reached: " + "; ".join(c for c in caps if c) + "; not sent. Rerun with a higher "
                "cap to send the rows that stopped here (the answers so far are cached)")

    def caps(self) -> dict:
        return {"max_cost": self.max_cost, "max_tokens_total": self.max_tokens_total}

    def _price(self, prompt: int, answer: int) -> float:
        return 0.0 if self.rates is None else self.rates[0] * prompt + self.rates[1] * answer
