"""A fleet: one model behind several servers or providers, used as one `LLM`.

    llm = LLM("hosted_vllm/Qwen2.5-7B", deployments=[
        {"api_base": "http://gpu1:8000/v1", "max_concurrent": 16},
        {"api_base": "http://gpu2:8000/v1", "max_concurrent": 16},
        {"model": "ollama_chat/qwen2.5:7b", "api_base": "http://laptop:11434", "max_concurrent": 2}])
    llm = LLM("qwen", deployments="litellm_config.yaml")   # litellm's model_list entries named qwen

Each deployment keeps its own limits (max_concurrent, rpm, tpm). A caller takes a free slot on the
least busy healthy deployment, or waits in line for the next slot to open anywhere: a fast server
takes more of the work, and nobody queues behind a server that died. A failed request (refused
connection, timeout, 5xx, 429, malformed body) cools its deployment down and goes back to the
LLM's retry loop, which sends it at once to another deployment. The cache key is the LLM's model
name, whichever deployment answered; each answer also records the weights its deployment serves
(served.py), so deployments serving the same weights share the cache's answers.

Why not litellm.Router: it answers a caller over a deployment's limit with an immediate 429 instead
of making it wait, its per-call overhead caps a run below three 16-slot servers, and its picks
cannot see the toolkit's queues. litellm still reaches every provider that is not OpenAI-compatible.

But: the fleet balances by free slots, not by measured latency or queue depth on the server, and
it does not re-read a config file while running; a deployment added later needs a new LLM.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import tokens
from .limiter import Limiter
from .served import Served
from .transports import CallError, Reply, Transport

COOLDOWN = 5.0       # seconds a deployment sits out after a failure; doubled per failure in a row
MAX_COOLDOWN = 60.0
DEPLOYMENT_FIELDS = {"model", "api_base", "api_key", "max_concurrent", "rpm", "tpm"}


@dataclass
class Deployment:
    name: str               # how usage and errors name it: its api_base (or model)
    model: str
    transport: Transport    # one server's (connect.open_transport)
    max_concurrent: int | None
    window: Limiter         # its rpm / tpm
    busy: int = 0           # slots taken
    cooldown_until: float = 0.0
    strikes: int = 0        # failures in a row; each one doubles the next cooldown
    served: Served | None = None  # what it says it serves (Fleet.served)


class Fleet:
    """The transport of an `LLM` with deployments: picks a deployment per request.

    `open_transport(model, api_base, api_key)` makes each deployment's own transport
    (connect.open_transport: any registered transport a single server could use)."""

    def __init__(self, group: str, deployments: list[dict] | str | Path,
                 open_transport: Callable[[str, str | None, str | None], Transport], *,
                 api_key: str | None, max_concurrent: int | None, rpm: int | None, tpm: int | None):
        entries = _read(group, deployments) if isinstance(deployments, (str, Path)) else deployments
        if not entries:
            raise ValueError(f"a fleet for {group!r} needs at least one deployment")
        defaults = dict(model=group, api_key=api_key, max_concurrent=max_concurrent, rpm=rpm, tpm=tpm)
        self.group = group
        self.deployments = [_deployment(i, {**defaults, **e}, open_transport) for i, e in enumerate(entries, 1)]
        names = [d.name for d in self.deployments]
        for d in self.deployments:
            if names.count(d.name) > 1:
                d.name = f"{d.model} @ {d.name}"
        if len({d.name for d in self.deployments}) < len(names):
            raise ValueError(f"the fleet for {group!r} lists a deployment twice: {names}")
        self.usage = {d.name: {"calls": 0, "failures": 0, "last_error": None} for d in self.deployments}
        self._line: deque[asyncio.Future] = deque()  # callers waiting for a slot, first come first served

    @property
    def rates(self) -> tuple[float, float] | None:
        """The dearest deployment's prices (what a spending cap reserves at); None if one is unknown."""
        rates = [d.transport.rates for d in self.deployments]
        return None if None in rates else (max(r[0] for r in rates), max(r[1] for r in rates))

    async def served(self) -> list[Served]:
        """What each deployment says it serves, asked of all at once."""
        async def ask(d: Deployment) -> Served:
            ask = getattr(d.transport, "served", None)
            d.served = await ask() if ask else Served("unknown", (d.model,), url=d.name)
            return d.served
        return list(await asyncio.gather(*(ask(d) for d in self.deployments)))

    async def send(self, model: str, messages: list[dict], params: dict, timeout: float) -> Reply:
        d = await self._take()
        try:
            async with d.window.slot(tokens.estimate(messages, params)):
                reply = await d.transport.send(d.model, messages, params, timeout)
        except CallError as e:
            raise self._failed(d, e) from None
        finally:
            d.busy -= 1
            self._wake()
        d.strikes = 0
        self.usage[d.name]["calls"] += 1
        reply.served = d.served
        return reply

    async def _take(self) -> Deployment:
        """A slot on the least busy healthy deployment, or a place in line for the next free one."""
        woken = False
        while True:
            d = self._free()
            if d is not None and (woken or not self._line):
                d.busy += 1
                if self._free() is not None:
                    self._wake()  # more room (e.g. a deployment back from its cooldown): next in line
                return d
            waiter = asyncio.get_running_loop().create_future()
            if woken:
                self._line.appendleft(waiter)  # keeps its place: it was first
            else:
                self._line.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if not waiter.cancelled():
                    self._wake()  # woken, then cancelled: hand the slot on
                raise
            woken = True

    def _free(self) -> Deployment | None:
        """The least busy healthy deployment with a free slot; None if all are full; a retryable
        CallError if every deployment is cooling down (the LLM waits until the first is back)."""
        now = time.monotonic()
        healthy = [d for d in self.deployments if d.cooldown_until <= now]
        if not healthy:
            self._wake()  # the next in line learns it too
            back = min(d.cooldown_until for d in self.deployments) - now
            raise CallError("connection", f"every deployment of {self.group!r} is cooling down after "
                            f"failures ({self._errors()}); the first is back in {back:.1f} s",
                            retry_after=back)
        free = [d for d in healthy if d.max_concurrent is None or d.busy < d.max_concurrent]
        return min(free, key=lambda d: d.busy / (d.max_concurrent or 1), default=None)

    def _wake(self) -> None:
        while self._line:
            waiter = self._line.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _failed(self, d: Deployment, e: CallError) -> CallError:
        """Count the failure; cool the deployment down when another try elsewhere can help."""
        stats = self.usage[d.name]
        stats["failures"] += 1
        stats["last_error"] = e.message
        retry_after = e.retry_after
        if e.retryable:
            now = time.monotonic()
            if d.cooldown_until <= now:  # requests already in flight when it failed add no strike
                d.strikes += 1
                pause = min(MAX_COOLDOWN, COOLDOWN * 2 ** (d.strikes - 1))
                d.cooldown_until = now + max(pause, e.retry_after or 0)
            if any(o.cooldown_until <= now for o in self.deployments):
                retry_after = 0.0  # another deployment can take it right away
        return CallError(e.kind, f"{d.name}: {e.message}", e.status, retry_after)

    def _errors(self) -> str:
        return "; ".join(f"{name}: {s['last_error']}" for name, s in self.usage.items()
                         if s["last_error"])


def _deployment(i: int, entry: dict, open_transport) -> Deployment:
    unknown = set(entry) - DEPLOYMENT_FIELDS
    if unknown:
        raise ValueError(f"deployment {i}: {', '.join(sorted(unknown))} not supported in a fleet "
                         f"(a deployment takes {', '.join(sorted(DEPLOYMENT_FIELDS))})")
    model, api_base = entry["model"], entry.get("api_base")
    if model.startswith("local/"):
        raise ValueError(f"deployment {i}: the embedded model runs in this process, not in a fleet")
    transport = open_transport(model, api_base, entry["api_key"])
    limits = {k: entry[k] for k in ("max_concurrent", "rpm", "tpm")}
    Limiter(**limits)  # validates the numbers
    return Deployment(api_base or model, model, transport, limits["max_concurrent"],
                      Limiter(rpm=limits["rpm"], tpm=limits["tpm"]))


def _read(group: str, path: str | Path) -> list[dict]:
    """The deployments named `group` in a litellm config file (its `model_list`)."""
    try:
        config = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        entries = [e for e in config["model_list"] if e["model_name"] == group]
        params = [dict(e["litellm_params"]) for e in entries]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as e:
        raise ValueError(f"{path}: not a litellm config with a model_list of model_name + "
                         f"litellm_params entries ({type(e).__name__}: {e})") from None
    if not params:
        names = sorted({str(e.get("model_name")) for e in config["model_list"]})
        raise ValueError(f"{path}: no deployment named {group!r} (model_name values: {names})")
    for p in params:
        if "max_parallel_requests" in p:  # litellm's name for it
            p["max_concurrent"] = p.pop("max_parallel_requests")
        if str(p.get("api_key", "")).startswith("os.environ/"):  # litellm's way to keep keys out
            var = p["api_key"].split("/", 1)[1]
            if var not in os.environ:
                raise ValueError(f"{path}: api_key reads the environment variable {var}, which is not set")
            p["api_key"] = os.environ[var]
    return params
