"""Accounting: what calls used, counted two ways that answer two questions.

    Usage   live usage: what one LLM object sent in this process. A cached answer counts as a
            hit and costs nothing here; the summary line and the spending cap read it.
    Spend   per-row spend: what the answers cost when they were made, cached ones included, so
            a rerun (or a replayed notebook) gives the same per-row figures and projections.

Both add up (a streamed run's batches, a provider batch's answers) with an unknown cost staying
unknown.

But: the client's view. Tokens are what the server reported (0 where it reported none), and cost
is litellm's price or unknown; a provider's own bill may round differently.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields


@dataclass
class Usage:
    """Live usage: running totals for one LLM object; subtract two snapshots to get one run's share."""

    calls: int = 0          # requests answered by the model (not the cache)
    cache_hits: int = 0
    retries: int = 0
    failures: int = 0       # calls that still failed after retries
    refused: int = 0        # calls not sent because a spending cap was reached (budget.py)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    cost_known: bool = True  # False once any answered call had no known price
    # a fleet's share of the work: {deployment: {"calls", "failures", "last_error"}} (see fleet.py)
    deployments: dict[str, dict] = field(default_factory=dict)

    def __sub__(self, other: Usage) -> Usage:
        return self._combine(other, -1)

    def __add__(self, other: Usage) -> Usage:
        return self._combine(other, 1)

    def _combine(self, other: Usage, sign: int) -> Usage:
        return Usage(**{f.name: getattr(self, f.name) + sign * getattr(other, f.name)
                        for f in fields(self) if f.name not in ("cost_known", "deployments")},
                     cost_known=self.cost_known and (sign < 0 or other.cost_known),
                     deployments=self._deployments(other, sign))

    def _deployments(self, other: Usage, sign: int) -> dict[str, dict]:
        """Counts added or subtracted; the last error is the later run's in a sum, this one's in a difference."""
        out = {}
        for name in dict.fromkeys([*self.deployments, *(other.deployments if sign > 0 else ())]):
            a, b = self.deployments.get(name, {}), other.deployments.get(name, {})
            out[name] = {k: (a.get(k) or 0) + sign * (b.get(k) or 0)
                         if isinstance(a.get(k), int) or isinstance(b.get(k), int)
                         else (b[k] if sign > 0 and b.get(k) is not None else a.get(k))
                         for k in dict.fromkeys([*a, *b])}
        return out

    def answered(self, prompt_tokens: int, completion_tokens: int, cost: float | None) -> None:
        """Count one answer from the model (a live call's or a batch's)."""
        self.calls += 1
        self.prompt_tokens += prompt_tokens
        self.completion_tokens += completion_tokens
        if cost is None:
            self.cost_known = False
        else:
            self.cost += cost

    def as_dict(self) -> dict:
        d = asdict(self)
        d["cost"] = round(self.cost, 6) if self.cost_known else None
        del d["cost_known"]
        if not self.deployments:
            del d["deployments"]
        return d


@dataclass
class Spend:
    """Per-row spend: what answers cost when they were made, cached or not; one row's or a run's."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = 0.0
    seconds: float = 0.0    # the model's time answering, not queueing

    def add(self, c) -> None:
        """Count one `Completion` (no Spend is made for it: this runs per answer)."""
        self._count(1, c.prompt_tokens, c.completion_tokens, c.cost, c.seconds)

    def merge(self, other: Spend) -> None:
        self._count(other.calls, other.prompt_tokens, other.completion_tokens, other.cost, other.seconds)

    def _count(self, calls: int, prompt: int, completion: int, cost: float | None, seconds: float) -> None:
        """The one rule of adding spend: counts add up; a cost is unknown once any part's is."""
        self.calls += calls
        self.prompt_tokens += prompt
        self.completion_tokens += completion
        self.cost = None if self.cost is None or cost is None else self.cost + cost
        self.seconds += seconds

    def per_row(self, rows: int) -> dict:
        n = max(rows, 1)
        return {"calls": self.calls / n, "prompt_tokens": self.prompt_tokens / n,
                "completion_tokens": self.completion_tokens / n,
                "cost": None if self.cost is None else self.cost / n, "seconds": self.seconds / n}
