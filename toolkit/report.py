"""What a step's run did and cost: its record (the manifest line), the one-line summary, progress
for headless runs, and the projection from a sample to the full set (`estimate`).

But: figures are the client's view. Tokens are what the server reported (0 where it reported
none), and cost is litellm's price or "unknown"; a provider's own bill may round differently.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .llm.usage import Spend, Usage


def estimate(result: pd.DataFrame, full: pd.DataFrame | int) -> dict:
    """Estimate calls, tokens, cost and time for the full set from a step's run on a sample.

    Cached answers count with what they cost when they were made, so a projection made from a
    rerun (or a replayed notebook) is the same as one made from the first run. With a cap on the
    LLM (max_cost=, max_tokens_total=), `over_cap` says when the full run would pass it (else None).
    """
    s = result.attrs.get("step")
    if not s:
        raise ValueError("estimate() needs the DataFrame returned by Step.run (it carries the run's "
                         "numbers in .attrs['step'])")
    n = full if isinstance(full, int) else len(full)
    per_row = s["per_row"]
    out = {"rows": n, "calls": round(per_row["calls"] * n),
           "prompt_tokens": round(per_row["prompt_tokens"] * n),
           "completion_tokens": round(per_row["completion_tokens"] * n),
           "cost": None if per_row["cost"] is None else round(per_row["cost"] * n, 4),
           "seconds": round(per_row["seconds"] * n / min(n, s["concurrency"] or n), 1)}
    caps, over = s.get("caps") or {}, []
    if caps.get("max_cost") is not None and out["cost"] is not None and out["cost"] > caps["max_cost"]:
        over.append(f"max_cost=${caps['max_cost']:g} (projected ${out['cost']:.4f})")
    tokens = out["prompt_tokens"] + out["completion_tokens"]
    if caps.get("max_tokens_total") is not None and tokens > caps["max_tokens_total"]:
        over.append(f"max_tokens_total={caps['max_tokens_total']} (projected {tokens})")
    if any(v is not None for v in caps.values()):
        out["over_cap"] = (f"a full run would pass {' and '.join(over)}: the rows past it would end failed "
                           "with 'budget reached'; raise the cap or run fewer rows") if over else None
    return out


@dataclass
class StepRecord:
    """One step's run, as the manifest records it: what ran, with what, and what it gave.

    `usage` is the LLM's live usage during the run (cached rows free); `spend` is per-row spend
    (cached rows at what they cost when made), which `estimate` scales to the full set.
    A streamed run adds its batches' records into one (`+=`).
    """

    step: str
    prompt_version: str
    model: str
    params: dict
    concurrency: int | None
    caps: dict
    rows: int = 0
    ok: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    usage: Usage = field(default_factory=Usage)
    spend: Spend = field(default_factory=Spend)
    streamed: bool = False
    candidates: int = 1          # answers per row (a step's n=): ok / failed count answers then
    reasked: int | None = None   # with run(reask="failed"): the answers asked again

    def __iadd__(self, other: StepRecord) -> StepRecord:
        for k in ("rows", "ok", "failed", "skipped"):
            setattr(self, k, getattr(self, k) + getattr(other, k))
        if other.reasked is not None:
            self.reasked = (self.reasked or 0) + other.reasked
        self.seconds = round(self.seconds + other.seconds, 2)
        self.usage = self.usage + other.usage
        self.spend.merge(other.spend)
        return self

    def as_dict(self) -> dict:
        """The manifest line (and `.attrs["step"]` of the frame the run returned)."""
        d = {"step": self.step, "rows": self.rows, "ok": self.ok, "failed": self.failed,
             "skipped": self.skipped, "prompt_version": self.prompt_version, "model": self.model,
             "params": self.params, "seconds": self.seconds, "concurrency": self.concurrency,
             "caps": self.caps, "usage": self.usage.as_dict(), "per_row": self.spend.per_row(self.rows)}
        if self.candidates > 1:
            d["candidates"] = self.candidates
        if self.reasked is not None:
            d["reasked"] = self.reasked
        return {**d, "streamed": True} if self.streamed else d

    def report(self, folder: Path) -> None:
        """Write the manifest line and print the summary line."""
        s = self.as_dict()
        write_manifest(folder, s)
        print(summary_line(s))


def summary_line(s: dict) -> str:
    u = s["usage"]
    cost = "cost unknown" if u["cost"] is None else f"${u['cost']:.4f}"
    return (f"{s['step']}: {s['rows']} rows"
            + (f" × {s['candidates']} candidates" if s.get("candidates", 1) > 1 else "")
            + f" → {s['ok']} ok, {s['failed']} failed, {s['skipped']} skipped"
            + (f", {s['reasked']} re-asked" if s.get("reasked") is not None else "")
            + f" | {u['calls'] + u['retries'] + u['failures']} requests ({u['retries']} retried, "
            f"{u['failures']} failed), {u['cache_hits']} cache hits, "
            f"{u['prompt_tokens'] + u['completion_tokens']} tokens, {cost}, {s['seconds']} s"
            + (f", {u['refused']} not sent (budget reached)" if u.get("refused") else "")
            + "".join(f"\n  {name}: {d['calls']} calls, {d['failures']} failed"
                      + (f" (last: {d['last_error']})" if d["failures"] else "")
                      for name, d in u.get("deployments", {}).items()))


_sent: dict[str, float] = {}


def progress(step: str, done: int, total: int, ok: int, failed: int) -> None:
    """A line for `python -m toolkit run` (it tails the file TOOLKIT_PROGRESS names), ≤ 4 a second."""
    now = time.monotonic()
    if done != total and now - _sent.get(step, 0.0) < 0.25:  # asked once per row: the cheap test first
        return
    _sent[step] = now
    path = os.environ.get("TOOLKIT_PROGRESS")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{step}\t{done}\t{total}\t{ok}\t{failed}\n")


# What a manifest line can be: the key a line holds names its kind. `step`: one step's run
# (StepRecord.as_dict; a streamed run adds "streamed"); `filter`: a judge that filtered rows in
# keep(judge=...) (the agreement it relied on, the thresholds, whether it was overridden).
MANIFEST_KINDS = ("step", "filter")


def manifest_kind(entry: dict) -> str | None:
    """The kind of one manifest line (None for a line of no known kind)."""
    return next((kind for kind in MANIFEST_KINDS if kind in entry), None)


def write_manifest(folder: Path, summary: dict) -> None:
    """One JSON line per run in `<folder>/manifest.jsonl`: what ran, with what, and what it gave."""
    if manifest_kind(summary) is None:
        raise ValueError(f"a manifest line holds one of {MANIFEST_KINDS}; got keys {sorted(summary)}")
    path = Path(folder) / "manifest.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S"), **summary}, default=str) + "\n")


def read_manifest(folder: Path) -> dict[str, list[dict]]:
    """Every line of the run folder's manifest, by kind, in the order written: {"step": [...],
    "filter": [...], "other": [...]} ("other": lines of no kind this toolkit knows, e.g. written
    by a newer one). No manifest: empty lists. A line that is not a JSON object is an error
    naming the file and the line. The one reader: the data card and `python -m toolkit run`."""
    path = Path(folder) / "manifest.jsonl"
    found = {kind: [] for kind in (*MANIFEST_KINDS, "other")}
    if not path.exists():
        return found
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as e:
            entry = e
        if not isinstance(entry, dict):
            raise ValueError(f"{path}, line {n}: not a manifest line ({entry}); it was cut short or edited: "
                             "remove or fix that line")
        found[manifest_kind(entry) or "other"].append(entry)
    return found
