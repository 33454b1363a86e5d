"""What a server serves: the weights behind a model name, its context window, and whether an
answer read the whole prompt.

    llm.check()      # Served(server='llama-server', models=('qwen',), context=8192, weights='...')

A model name says little: one llama-server alias can front any GGUF, an ollama tag changes when it
is pulled again, and a server with a small context answers from part of a prompt. So the toolkit
asks the server itself, where it says (one to four GET/POST requests, at most once per step run):

    llama-server      GET /v1/models (`owned_by: llamacpp`, `meta`) + GET /props:
                      `default_generation_settings.n_ctx` (per slot), `model_path`
    vLLM              GET /v1/models: `max_model_len`, `root` (the weights it loaded)
    ollama            (known by its route, `owned_by: library`, or GET /api/version answering)
                      POST /api/show (`parameters` num_ctx), GET /api/ps (`context_length` of a
                      loaded model, `digest`), GET /api/tags (the tag's `digest`)
    llama-cpp-python  GET /v1/models: the alias only (`owned_by: me`)

`weights` names what answered (a file and its size, a repo id, a digest); the cache records it with
every answer and answers a call again when the endpoint now serves other weights (llm.py).

Each answer's `usage.prompt_tokens` is checked against the toolkit's own estimate of the prompt
(`tokens.prompt_tokens`, ≈ 4 characters a token): `prompt_cut` says whether the server read
less than it was sent. The threshold was measured, not guessed: read ÷ estimate for real
tokenizers (SmolLM2's, cl100k_base, o200k_base) over the repo's data/ (115 texts and paragraphs),
docs/ (145) and toolkit/ sources (561) was at least 0.69 (median 0.93–1.20; a chat template only
adds tokens). A server that read under half the estimate (CUT_RATIO), and at least MIN_GAP tokens
fewer, cut the prompt; so did one that reports reading its whole known window.

But: a prompt cut by less than half is caught only where the server says its window (ollama
says it only for a loaded model: `/api/ps`); a server that reports only the tokens it did not
have cached (some ollama releases did) would look like a cut, and the row fails saying so.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass

from . import wire

CUT_RATIO = 0.5   # under half the estimate was read: cut (real tokenizers read ≥ 0.69 of it here)
MIN_GAP = 64      # ... and at least this many tokens fewer, so a short prompt's rounding is no cut
PROBE_SECONDS = 5.0
# where each server's context window is set, for every message that names it
RAISE = {
    "ollama": "ollama: start it with OLLAMA_CONTEXT_LENGTH=8192 (or more), or bake `PARAMETER "
              "num_ctx 8192` into a Modelfile and `ollama create` a tag from it (its OpenAI "
              "endpoint ignores a per-request num_ctx)",
    "llama-server": "llama-server: start it with a larger -c (the total, shared by the -np slots: "
                    "each request gets c / np)",
    "vLLM": "vLLM: start it with a larger --max-model-len",
    "llama-cpp-python": "llama-cpp-python's server: start it with a larger --n_ctx",
    "embedded": "the embedded model's window is local_model.N_CTX tokens: shorten the prompt "
                "(smaller chunks) or use a larger model",
}
ANY_SERVER = ("raise the server's context window (ollama: OLLAMA_CONTEXT_LENGTH or a Modelfile's "
              "num_ctx; llama-server: -c; vLLM: --max-model-len; llama-cpp-python: --n_ctx)")
OLLAMA_DEFAULT = 2048  # ollama's default window in older releases (4096 in newer ones)
# how a server words "this request does not fit" in a refusal (llama-server, vLLM, llama-cpp-python)
TOO_LONG = re.compile(r"context (?:length|size|window)|exceed_context|maximum context|n_ctx", re.I)


@dataclass(frozen=True)
class Served:
    """What one endpoint says it serves; None where it does not say."""

    server: str                   # llama-server, vLLM, ollama, llama-cpp-python, embedded, provider, ...
    models: tuple[str, ...] = ()  # the names it serves
    weights: str | None = None    # what identifies the weights behind the name
    context: int | None = None    # tokens one request may hold, prompt and answer together
    url: str | None = None

    def fix(self) -> str:
        """How to give this server a larger context window."""
        return RAISE.get(self.server, ANY_SERVER)

    def __str__(self) -> str:
        window = f"{self.context} tokens" if self.context else "not said"
        return (f"{self.server} at {self.url or 'this process'}: serves {', '.join(self.models) or '?'}; "
                f"context window {window}; weights {self.weights or 'not said'}")


def prompt_cut(sent: int, read: int, window: int | None) -> bool:
    """Did the server read less of the prompt than was sent? `sent` is the toolkit's estimate,
    `read` the answer's usage.prompt_tokens (0: not reported), `window` the server's context."""
    if read <= 0:
        return False
    if sent - read >= MIN_GAP and read < CUT_RATIO * sent:
        return True
    return window is not None and read >= window and sent > read


def cut_reason(sent: int, read: int, served: Served | None) -> str:
    window = f" ({served.context} tokens)" if served and served.context else ""
    fix = served.fix() if served else ANY_SERVER
    return (f"the server read {read} prompt tokens of the ≈ {sent} sent: it cut the prompt to fit its "
            f"context window{window} and answered from what was left. Fix the server: {fix}; "
            "then run again (this answer is not cached)")


def refusal_hint(message: str, served: Served | None) -> str:
    """A refused over-long request's message, with how to fix the server added."""
    if not TOO_LONG.search(message):
        return message
    return f"{message} — the prompt and max_tokens do not fit the server's context window. Fix the " \
           f"server: {served.fix() if served else ANY_SERVER}"


def fit_warning(found: tuple[Served, ...], model: str, needed: int, label: str) -> str | None:
    """What to say before a run whose longest request (prompt + max_tokens: `needed` tokens, by the
    toolkit's estimate) does not fit a window the server said, or may not fit ollama's default."""
    for s in found:
        where = f"{s.server} at {s.url}" if s.url else s.server
        if s.context and needed > s.context:
            return (f"{label}: its longest request needs ≈ {needed} tokens (prompt + max_tokens) and "
                    f"{where} holds {s.context}: rows that do not fit will fail. Fix the server: {s.fix()}")
        if s.context is None and "ollama" in (s.server, kind_of(model)) and needed > OLLAMA_DEFAULT:
            return (f"{label}: its longest request needs ≈ {needed} tokens (prompt + max_tokens); {where} "
                    f"did not say its window (it says so once the model is loaded), and ollama's default is "
                    f"{OLLAMA_DEFAULT} tokens in older releases, 4096 in newer: a longer prompt is cut "
                    f"without an error (such rows fail). Fix the server: {RAISE['ollama']}")
    return None


def kind_of(model: str) -> str | None:
    """The server a model string names by its prefix, where it does (ollama's routes)."""
    return "ollama" if model.split("/", 1)[0] in ("ollama", "ollama_chat") else None


# -- asking a server -------------------------------------------------------------------------------
async def probe(api_base: str, name: str, headers: dict, kind: str | None = None) -> Served:
    """Ask an OpenAI-compatible (or ollama) server what it serves. Never raises: what it does not
    say (or a server that does not answer) is None."""
    base = api_base.rstrip("/")
    root = base[:-3] if base.endswith("/v1") else base
    get = _getter(headers)
    listing = await get(f"{root}/v1/models")
    entries = [e for e in (listing or {}).get("data") or [] if isinstance(e, dict)]
    models = tuple(str(e.get("id")) for e in entries)
    entry = next((e for e in entries if e.get("id") == name or name in (e.get("aliases") or [])),
                 entries[0] if len(entries) == 1 else None) or {}
    owner = entry.get("owned_by")
    if "max_model_len" in entry:
        return Served("vLLM", models, f"vLLM {entry.get('root') or entry.get('id')}",
                      _int(entry.get("max_model_len")), base)
    if owner == "llamacpp" or "meta" in entry:
        return await _llama_server(get, root, base, models, entry)
    if kind == "ollama" or owner == "library" or (owner != "me" and await get(f"{root}/api/version")):
        return await _ollama(get, headers, root, base, name, models)
    return Served("llama-cpp-python" if owner == "me" else "OpenAI-compatible", models, None, None, base)


async def _llama_server(get, root, base, models, entry) -> Served:
    props = await get(f"{root}/props") or {}
    meta = entry.get("meta") or {}
    window = _int((props.get("default_generation_settings") or {}).get("n_ctx")) or _int(meta.get("n_ctx"))
    parts = [props.get("model_path") or entry.get("id")] + [f"{k}={meta[k]}" for k in ("size", "n_params") if k in meta]
    return Served("llama-server", models, " ".join(str(p) for p in parts if p), window, base)


async def _ollama(get, headers, root, base, name, models) -> Served:
    tag = name if ":" in name else f"{name}:latest"
    show = await _json("POST", f"{root}/api/show", headers, json.dumps({"model": name}).encode()) or {}
    running = (await get(f"{root}/api/ps") or {}).get("models") or []
    local = (await get(f"{root}/api/tags") or {}).get("models") or []
    loaded = next((m for m in running if tag in (m.get("name"), m.get("model"))), {})
    pulled = next((m for m in local if tag in (m.get("name"), m.get("model"))), {})
    asked = re.search(r"^num_ctx\s+(\d+)", str(show.get("parameters") or ""), re.M)
    window = _int(loaded.get("context_length")) or (int(asked.group(1)) if asked else None)
    digest = loaded.get("digest") or pulled.get("digest")
    return Served("ollama", models or tuple(m.get("name") for m in local), f"ollama {tag} {digest}" if digest
                  else None, window, base)


def _getter(headers):
    async def get(url):
        return await _json("GET", url, headers)
    return get


async def _json(method: str, url: str, headers: dict, body: bytes = b"") -> dict | None:
    """The JSON object a server answers with, or None: any status but 200, no answer, not JSON."""
    sent = {**headers, "Content-Type": "application/json"} if body else headers
    try:
        r = await wire.request(method, url, body, sent, PROBE_SECONDS)
        data = json.loads(r.body) if r.status == 200 else None
    except (TimeoutError, ValueError, OSError):
        return None
    return data if isinstance(data, dict) else None


def _int(value) -> int | None:
    try:
        return int(value) if value else None
    except (TypeError, ValueError):
        return None


def embedded(name: str, path: os.PathLike, window: int) -> Served:
    """The in-process model: its weights file and the window it is loaded with."""
    size = os.stat(path).st_size
    return Served("embedded", (name,), f"{os.path.basename(path)} {size} bytes", window, None)


def provider(model: str, info: dict | None) -> Served:
    """A hosted provider: its window from litellm's model map, where it knows the model."""
    return Served("provider", (model,), None, _int((info or {}).get("max_input_tokens")), None)
