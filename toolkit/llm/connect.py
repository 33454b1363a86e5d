"""Which transport an LLM's calls take: the factory behind `LLM(...)`, and a registry to add one.

    from toolkit.llm import LLM, register_transport
    register_transport("mine", lambda model, api_base, api_key: MyTransport(api_base))
    llm = LLM("mine/model-x", transport="mine", api_base="http://gpu1:9000")

Built in: `local` (the embedded model, for `local/...`), `http` (direct HTTP to an OpenAI-compatible
`api_base`, for `openai/...` and `hosted_vllm/...`), `litellm` (every other provider), and, with
`deployments=`, a fleet of any of them. A transport is anything the `Transport` protocol describes
(transports.py): `send(...)` returning a `Reply` or raising a classified `CallError`, and `rates`.

But: the registry is this process's; a transport registered in a notebook is not known to a
`python -m toolkit run` of it unless the notebook registers it too.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import transports
from .fleet import Fleet
from .transports import Transport


@dataclass
class Connected:
    """A transport and the limits the LLM itself keeps in front of it."""

    transport: Transport
    limits: dict                # max_concurrent, rpm, tpm for the LLM's limiter (a fleet keeps its own)
    concurrency: int | None     # calls in flight at once (None: no limit), for estimates
    deployments: dict = field(default_factory=dict)  # a fleet's usage per deployment


def connect(model: str, *, api_base: str | None, api_key: str | None, transport: str = "auto",
            deployments: list[dict] | str | Path | None = None, max_concurrent: int | None = None,
            rpm: int | None = None, tpm: int | None = None) -> Connected:
    """The transport `LLM(model, ...)` sends through; an unknown model or a missing key fails here."""
    if deployments is not None:
        if api_base is not None or transport != "auto":
            raise ValueError("with deployments=, each deployment names its own api_base (and "
                             "model); api_base= and transport= are for a single server")
        fleet = Fleet(model, deployments, open_transport, api_key=api_key,
                      max_concurrent=max_concurrent, rpm=rpm, tpm=tpm)
        caps = [d.max_concurrent for d in fleet.deployments]
        return Connected(fleet, dict(max_concurrent=None, rpm=None, tpm=None),
                         None if None in caps else sum(caps), fleet.usage)
    name = choose(model, api_base, transport)
    if name == "local":
        max_concurrent = 1  # one in-process model: calls are serialized anyway
    return Connected(_registry[name](model, api_base, api_key),
                     dict(max_concurrent=max_concurrent, rpm=rpm, tpm=tpm), max_concurrent)


def register_transport(name: str, factory: Callable[[str, str | None, str | None], Transport]) -> None:
    """Make `LLM(model, transport=name)` send through `factory(model, api_base, api_key)`'s transport."""
    if name == "auto":
        raise ValueError("'auto' picks a transport by model; register yours under another name")
    _registry[name] = factory


def choose(model: str, api_base: str | None, transport: str = "auto") -> str:
    """The registered name a model's calls go through: the one given, else by the model's prefix."""
    if transport == "auto":
        prefix = model.split("/", 1)[0]
        transport = "http" if prefix in DIRECT_PREFIXES and api_base else "litellm"
    if transport == "litellm" and model.startswith("local/"):
        transport = "local"  # the embedded model is a litellm provider this process registers
    if transport not in _registry:
        raise ValueError(f"transport {transport!r} is not one of auto, {', '.join(_registry)}")
    return transport


def open_transport(model: str, api_base: str | None, api_key: str | None, transport: str = "auto") -> Transport:
    """The transport for one server (or provider): refuses an unknown model or a missing key now."""
    return _registry[choose(model, api_base, transport)](model, api_base, api_key)


def api_key(key: str | None) -> str | None:
    """The key for an OpenAI-compatible server: the one given, else OPENAI_API_KEY (or none)."""
    return key if key is not None else os.environ.get("OPENAI_API_KEY")


def _http(model: str, api_base: str | None, key: str | None) -> transports.OpenAIHTTP:
    if not api_base:
        raise ValueError(f"transport 'http' needs api_base= (the server's OpenAI base URL) for {model}")
    return transports.OpenAIHTTP(model, api_base, api_key(key))


def _litellm(model: str, api_base: str | None, key: str | None) -> transports.LiteLLM:
    transports.check_provider(model, key, api_base)
    return transports.LiteLLM(model, api_base, key)


def _local(model: str, api_base: str | None, key: str | None) -> transports.LiteLLM:
    from . import local_model  # llama-cpp and the weights only when the embedded model is used

    local_model.weights_path(model.split("/", 1)[1])  # fail now if unknown
    local_model.register()
    return transports.LiteLLM(model, api_base, key)


# model prefixes that speak the OpenAI protocol to a base URL; everything else goes through litellm
DIRECT_PREFIXES = {"openai", "hosted_vllm"}
_registry: dict[str, Callable[[str, str | None, str | None], Transport]] = {
    "http": _http, "litellm": _litellm, "local": _local}


class BatchError(RuntimeError):
    """A provider's batch service refused a request (the message has its status and answer)."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Endpoint:
    """A model's OpenAI-style base URL, its name there, and the headers that authenticate to it."""

    base: str
    model: str
    headers: dict = field(repr=False)  # the key: never printed into a notebook


def endpoint(model: str, api_base: str | None, key: str | None) -> Endpoint:
    """Where an OpenAI-style provider serves `model`, for code that reaches it another way than a
    chat call (a provider's batch API)."""
    litellm = transports.quiet_litellm()
    name, provider, found, base = litellm.get_llm_provider(model, api_base=api_base, api_key=key)
    if base is None and provider != "openai":
        raise ValueError(f"{model!r} has no OpenAI-style base URL: give LLM(..., api_base=)")
    key = api_key(found or None)
    return Endpoint((base or "https://api.openai.com/v1").rstrip("/"), name,
                    {"Authorization": f"Bearer {key}"} if key else {})
