"""Which transport an LLM's calls take: the factory behind `LLM(...)`, and a registry to add one.

    from toolkit.llm import LLM, register_transport
    register_transport("mine", lambda model, api_base, api_key: MyTransport(api_base))
    llm = LLM("mine/model-x", transport="mine", api_base="http://gpu1:9000")

Built in: `local` (the embedded model, for `local/...`), `http` (direct HTTP to an OpenAI-compatible
`api_base`, for `openai/...` and `hosted_vllm/...`), `litellm` (every other provider), and, with
`deployments=`, a fleet of any of them. A transport is anything the `Transport` protocol describes
(transports.py): `send(...)` returning a `Reply` or raising a classified `CallError`, and `rates`.

Keys go only where they belong (`key_for`): an environment key (OPENAI_API_KEY, or whichever
litellm would read) is sent to its provider's own host, to this machine (loopback), or over https
to a host the user named; to a plain-http host elsewhere only when passed as `api_key=`, and then
with a one-time warning. docs/durability.md (Secrets) says the same.

But: the registry is this process's; a transport registered in a notebook is not known to a
`python -m toolkit run` of it unless the notebook registers it too.
"""

from __future__ import annotations

import ipaddress
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

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


def key_for(api_base: str | None, given: str | None, env: str = "OPENAI_API_KEY") -> tuple[str | None, str]:
    """The key a request to `api_base` carries, and why an environment key was kept back ("" when
    none was): `given` (api_key=) always, warned once per host when it goes over plain http to
    another machine; else the environment's, where `may_carry` allows it."""
    if given is not None:
        host = urlsplit(api_base or "").hostname
        if not may_carry(api_base) and host not in _warned:
            _warned.add(host)
            warnings.warn(f"api_key= is sent over plain http to {host}, where anyone on the network path "
                          "can read it: serve it over https, or reach it through an SSH tunnel on 127.0.0.1",
                          stacklevel=4)
        return given, ""
    found = os.environ.get(env)
    if found and not may_carry(api_base):
        return None, (f" ({env} is set but was not sent: {api_base} is plain http to another machine. "
                      "Pass api_key= to send a key there, or serve it over https)")
    return found, ""


def may_carry(api_base: str | None) -> bool:
    """May an environment key go to this base URL: the provider's own (None), https, or this machine."""
    if api_base is None:
        return True
    parts = urlsplit(api_base)
    return parts.scheme == "https" or is_loopback(parts.hostname)


def is_loopback(host: str | None) -> bool:
    """localhost or a loopback address; a name that merely resolves to one is not trusted (DNS can change)."""
    if not host:
        return False
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def _http(model: str, api_base: str | None, key: str | None) -> transports.OpenAIHTTP:
    if not api_base:
        raise ValueError(f"transport 'http' needs api_base= (the server's OpenAI base URL) for {model}")
    return transports.OpenAIHTTP(model, api_base, *key_for(api_base, key))


def _litellm(model: str, api_base: str | None, key: str | None) -> transports.LiteLLM:
    transports.check_provider(model, key, api_base)
    if key is None and not may_carry(api_base):
        key = NO_KEY  # litellm would send the provider's environment key to this host otherwise
    else:
        key_for(api_base, key)  # the warning for a key given for plain http
    return transports.LiteLLM(model, api_base, key)


def _local(model: str, api_base: str | None, key: str | None) -> transports.LiteLLM:
    from . import local_model  # llama-cpp and the weights only when the embedded model is used

    local_model.weights_path(model.split("/", 1)[1])  # fail now if unknown
    local_model.register()
    return transports.LiteLLM(model, api_base, key)


NO_KEY = "no-key"  # what litellm sends instead of an environment key kept from a plain-http host
_warned: set[str | None] = set()  # hosts already warned about a key sent over plain http
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
    if key is None:  # litellm's own find for the provider, else OPENAI_API_KEY: an environment key
        key = (found or os.environ.get("OPENAI_API_KEY")) if may_carry(api_base) else None
    else:
        key_for(api_base, key)
    return Endpoint((base or "https://api.openai.com/v1").rstrip("/"), name,
                    {"Authorization": f"Bearer {key}"} if key else {})
