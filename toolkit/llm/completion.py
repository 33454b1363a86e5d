"""What one call gives back: a `Completion`, the answer or why there is none.

A call never vanishes: it returns a Completion that is either ok or carries the error's kind and
message after the retry policy gave up. It holds what the server reported (usage, finish_reason,
what answered), which the call layer checks against what was sent, and `as_stored()` is what the
cache keeps of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .transports import CallError, Reply, chat_reply


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
    served: dict | None = None  # what answered: weights (served.py), the response's model, fingerprint
    key: str | None = None  # where the answer is in the cache (not stored: it is the row's key)
    more: list[Completion] | None = field(default=None, repr=False)  # the other answers of an n > 1 request

    @classmethod
    def from_reply(cls, reply: Reply, attempts: int = 1, seconds: float = 0.0) -> Completion:
        weights = reply.served.weights if reply.served else None
        who = {k: v for k, v in (("weights", weights), ("model", reply.model),
                                 ("fingerprint", reply.fingerprint)) if v}
        more = [cls(text=r.text, reasoning=r.reasoning, finish_reason=r.finish_reason, attempts=attempts,
                    served=who or None) for r in (reply.choices or [])[1:]]
        return cls(text=reply.text, reasoning=reply.reasoning, finish_reason=reply.finish_reason,
                   prompt_tokens=reply.prompt_tokens, completion_tokens=reply.completion_tokens,
                   cost=reply.cost, attempts=attempts, seconds=seconds, served=who or None, more=more or None)

    @property
    def ok(self) -> bool:
        return self.error_kind is None

    def as_stored(self) -> dict:
        """What the cache keeps of a call: the answer, its usage and what answered, not how it was
        obtained."""
        stored = {k: getattr(self, k) for k in ("text", "reasoning", "finish_reason", "prompt_tokens",
                                                 "completion_tokens", "cost", "seconds")}
        if self.served:
            stored["served"] = self.served
        return stored


def read_completion(body: dict, rates: tuple[float, float] | None, params: dict) -> Completion:
    """A chat.completion body (e.g. one line of a provider batch's output) as a Completion, priced
    at `rates`; a malformed one is a failed Completion saying so."""
    try:
        return Completion.from_reply(chat_reply(body, rates, params))
    except CallError as e:
        return Completion(attempts=1, error_kind=e.kind, error=e.message)
