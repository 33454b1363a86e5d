"""The call layer: everything between "send these messages" and a `Completion`.

    llm.py          the LLM object: cache → limiter → transport, retries
    completion.py   what a call gives back: the answer, its usage and what answered, or why none
    candidates.py   several answers to one call (n=): each cached apart, one request with n where it works
    usage.py        accounting: live usage (what was sent) and per-row spend (cached rows included)
    cache.py        one SQLite file per run folder; recordings in and out as JSONL
    limiter.py      client-side limits (callers wait their turn instead of getting a 429)
    tokens.py       a call's tokens before the server counts them: the estimate, and the bound
    budget.py       the spending cap (max_cost, max_tokens_total)
    transports.py   how a request reaches a server: the Transport protocol; direct HTTP, litellm
    connect.py      which transport an LLM uses (local, http, litellm, fleet); register_transport
    fleet.py        one model behind several servers
    served.py       what a server serves: its weights, its context window; did an answer read the whole prompt
    local_model.py  the embedded SmolLM2, registered as litellm provider "local"
    grammar.py      its JSON-schema grammar, bounded to close within max_tokens
    loop.py         the background event loop every call runs on

Nothing here knows about DataFrames, prompts or steps: those sit one level up and call `LLM.call`
(batch.py reaches the provider another way through `LLM.endpoint`, `read_completion`, `LLM.record`
and `LLM.answering`).
"""

from . import loop
from .cache import Cache, CacheMiss
from .completion import Completion, read_completion
from .connect import BatchError, Endpoint, register_transport
from .llm import DEFAULT_MODEL, LLM, Retry, ServerWarning
from .served import Served
from .transports import CallError, Reply, Transport, http_error, token_prices
from .usage import Spend, Usage

__all__ = ["DEFAULT_MODEL", "LLM", "Cache", "CacheMiss", "Completion", "Retry", "Usage", "Spend", "loop",
           "Transport", "Reply", "CallError", "register_transport", "Endpoint",  # the transport seam
           "BatchError", "read_completion", "http_error", "token_prices",  # for answers obtained another way (batch)
           "Served", "ServerWarning"]  # what a server says it serves (LLM.check), and warnings about it
