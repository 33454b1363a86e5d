"""The call layer: everything between "send these messages" and a `Completion`.

    llm.py          the LLM object: cache → limiter → transport, retries
    usage.py        accounting: live usage (what was sent) and per-row spend (cached rows included)
    cache.py        one SQLite file per run folder; recordings in and out as JSONL
    limiter.py      client-side limits (callers wait their turn instead of getting a 429)
    transports.py   how a request reaches a server: direct HTTP for OpenAI-compatible ones, litellm
    fleet.py        one model behind several servers
    local_model.py  the embedded SmolLM2, registered as litellm provider "local"
    loop.py         the background event loop every call runs on

Nothing here knows about DataFrames, prompts or steps: those sit one level up and call `LLM.call`.
"""

from . import loop
from .cache import Cache, CacheMiss
from .llm import DEFAULT_MODEL, LLM, Completion, Retry, Usage

__all__ = ["DEFAULT_MODEL", "LLM", "Cache", "CacheMiss", "Completion", "Retry", "Usage", "loop"]
