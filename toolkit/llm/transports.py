"""How a call reaches a model: litellm for every provider, plus a direct HTTP fast path.

litellm spends ≈ 4 ms of CPU per call; against a local vLLM or llama.cpp server at high concurrency
that caps a run at ≈ 240 calls/s on one core. OpenAI-compatible endpoints therefore go through a
pooled HTTP client (wire.py) that speaks the chat-completions protocol directly. Both transports answer with
the same `Reply` and raise the same `CallError`, so retries, cache and limits do not care which ran.

Both also read a reply the same way (`split_reasoning`, `finish`): the answer, its reasoning in
whichever form the server sent it, and whether it was cut off, do not depend on the transport.

A transport is anything with `send(model, messages, params, timeout) -> Reply` (raising `CallError`)
and `rates` (the `Transport` protocol); connect.py picks one by name and registers others.

But: no streaming. A call returns when the whole answer is there, which is all a pipeline needs
and keeps one code path for retries and the cache.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from . import formats, served, wire
from .served import Served

# the tag names litellm also strips from an answer's start (see its parse_content_for_reasoning)
THINK = re.compile(r"^\s*<(think|thinking|budget:thinking)>(.*?)</\1>", re.DOTALL)
# a reasoning model whose chat template already opened the tag answers "plan…</think>answer"
LONE_CLOSE = re.compile(r"</(?:think|thinking)>")
# routes whose finish_reason says nothing: litellm's ollama/ (/api/generate) always says "stop"
NO_FINISH_REASON = {"ollama"}
# providers that are somebody's own server: no price, whatever litellm's map says
LOCAL_SERVERS = {"ollama", "ollama_chat", "hosted_vllm", "vllm", "lm_studio", "llamafile"}


@dataclass
class Reply:
    text: str
    reasoning: str = ""
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None
    model: str | None = None        # the response's own `model` field: what says it answered
    fingerprint: str | None = None  # its `system_fingerprint`, where the server sends one
    served: Served | None = None    # what the endpoint that answered says it serves (a fleet sets it)
    choices: list[Reply] | None = None  # every answer, when the server sent several (n > 1): this one first


class Transport(Protocol):
    """How a request reaches a model: what the LLM's retries, cache and limits call.

    A transport may also have `async served() -> Served | list[Served]`: what its endpoint(s)
    serve (served.py); one without it is taken to say nothing. And `seed`: the seed its model
    samples with when a call names none, where that is fixed (the embedded model's)."""

    rates: tuple[float, float] | None  # per-token (prompt, completion) price; None: not known

    async def send(self, model: str, messages: list[dict], params: dict, timeout: float) -> Reply:
        """One request, answered or failed with a classified `CallError`."""


class CallError(Exception):
    """A failed request, classified so the retry policy knows whether another try can help."""

    RETRYABLE = {"rate_limit", "server", "timeout", "connection", "bad_response"}

    def __init__(self, kind: str, message: str, status: int | None = None,
                 retry_after: float | None = None):
        super().__init__(message)
        self.kind, self.message, self.status, self.retry_after = kind, message, status, retry_after

    @property
    def retryable(self) -> bool:
        return self.kind in self.RETRYABLE


def split_reasoning(text: str, *fields: str | None) -> tuple[str, str]:
    """The answer and the reasoning, from every form a reasoning model's reply takes.

    `fields` are the reasoning the server sent apart (`reasoning_content`, `reasoning`, litellm's
    flattening of thinking blocks). In the text: a leading `<think>…</think>`, or a lone
    `</think>` with no opening tag before it (R1 distills served raw: their chat template opened
    the tag), whose preceding text is then the reasoning. An answer cut off inside an unclosed
    `<think>` stays whole: it is refused as cut off, not passed on as an answer.
    """
    parts = [f.strip() for f in fields if f and f.strip()]
    text = text or ""
    m = THINK.match(text)
    if m:
        parts.append(m.group(2).strip())
        text = text[m.end():]
    else:
        close = LONE_CLOSE.search(text)
        if close and "<think" not in text[:close.start()]:
            parts.append(text[:close.start()].strip())
            text = text[close.end():]
    reasoning = "\n".join(p for p in parts if p)
    return (text.lstrip() if parts else text), reasoning


def finish(reason: str | None, completion_tokens: int, params: dict, reported: bool = True) -> str | None:
    """The finish reason, or "length" when a route that reports none spent the whole token limit."""
    limit = params.get("max_tokens") or params.get("max_completion_tokens")
    if (reason is None or not reported) and limit and completion_tokens >= limit:
        return "length"
    return reason


def _retry_after(headers) -> float | None:
    try:
        return float(headers.get("retry-after")) if headers and headers.get("retry-after") else None
    except (TypeError, ValueError):
        return None  # an HTTP date: fall back to our own backoff


def http_error(status: int, body: bytes) -> str:
    """How a refused HTTP request reads in every error message: its status and the start of its body."""
    return f"HTTP {status}: {body[:300].decode(errors='replace')}"


def _kind_for_status(status: int) -> str:
    if status == 429:
        return "rate_limit"
    if status >= 500:
        return "server"
    return {401: "auth", 403: "auth", 404: "not_found"}.get(status, "client")


class OpenAIHTTP:
    """Direct chat-completions client for OpenAI-compatible servers (vLLM, llama.cpp, proxies)."""

    def __init__(self, model: str, api_base: str, api_key: str | None, withheld: str = ""):
        self.base = api_base.rstrip("/")
        self.url = self.base + "/chat/completions"
        self._api_key = api_key
        self._withheld = withheld  # why an environment key was not sent here (connect.key_for)
        self._json_object = False  # the server refused response_format json_schema: send json_object
        self._rates = token_prices(model)  # looked up now: importing litellm later would stall the loop
        self.rates = self._rates  # the price a spending cap reserves at (budget.py)
        self._name = model.split("/", 1)[1]
        self._headers = {"Content-Type": "application/json",
                         **({"Authorization": f"Bearer {api_key}"} if api_key else {})}

    async def served(self) -> Served:
        return await served.probe(self.base, self._name, self._headers)

    async def send(self, model: str, messages: list[dict], params: dict, timeout: float) -> Reply:
        params = formats.for_openai(params)
        sent = formats.as_json_object(params) if self._json_object else params
        body = _encode({"model": model.split("/", 1)[1], "messages": messages, **sent}).encode()
        try:
            r = await wire.request("POST", self.url, body, self._headers, timeout)
        except TimeoutError:
            raise CallError("timeout", f"no answer within {timeout:g} s") from None
        except OSError as e:  # refused, unreachable, hung up, TLS
            raise CallError("connection", f"{type(e).__name__}: {e}") from None
        raw = r.body
        if r.status != 200 and not self._json_object and formats.refused(r.status, raw, params):
            self._json_object = True  # llama-cpp-python's server: same schema, its own form
            return await self.send(model, messages, params, timeout)
        if r.status != 200:
            note = self._withheld if r.status in (401, 403) else ""
            if 300 <= r.status < 400:  # wire.py follows no redirect: a key must not follow one either
                note = f" (a redirect to {r.headers.get('location')!r}: set api_base to where it points)"
            raise CallError(_kind_for_status(r.status), http_error(r.status, raw) + note,
                            r.status, _retry_after(r.headers))
        try:
            return chat_reply(json.loads(raw), self._rates, params)
        except ValueError:
            raise CallError("bad_response", f"malformed response body: {raw[:200]!r}") from None


def chat_reply(data: dict, rates: tuple[float, float] | None, params: dict | None = None) -> Reply:
    """A chat.completion body as a Reply, priced at `rates` (per prompt / completion token); with
    several choices (n > 1), each in `choices`."""
    try:
        choices = [(c, c["message"]) for c in data["choices"]]
        choice, message = choices[0]
    except (KeyError, IndexError, TypeError):
        raise CallError("bad_response", f"malformed response body: {str(data)[:200]!r}") from None
    usage = data.get("usage") or {}
    prompt, completion = usage.get("prompt_tokens", 0) or 0, usage.get("completion_tokens", 0) or 0
    cost = None if rates is None else rates[0] * prompt + rates[1] * completion
    reply = Reply(*_answer(message, choice.get("finish_reason"), completion, params or {}), prompt,
                  completion, cost, data.get("model"), data.get("system_fingerprint"))
    if len(choices) > 1:
        reply.choices = [reply] + [Reply(*_answer(m, c.get("finish_reason"), 0, params or {}))
                                   for c, m in choices[1:] if isinstance(m, dict)]
    return reply


def _answer(message: dict, reason: str | None, completion: int, params: dict) -> tuple[str, str, str | None]:
    """(text, reasoning, finish reason) of one choice's message."""
    # vLLM < 0.10 and DeepSeek send `reasoning_content`, vLLM >= 0.10 `reasoning` (some releases
    # both, the same text): litellm reads `reasoning` only when `reasoning_content` is absent, so do we
    text, reasoning = split_reasoning(message.get("content") or "",
                                      message.get("reasoning_content") or message.get("reasoning"))
    return text, reasoning, finish(reason, completion, params)


_encode = json.JSONEncoder(ensure_ascii=False).encode  # made once: json.dumps builds one per call


def quiet_litellm():
    """litellm, imported with its console output off: it prints a "Provider List" banner for every
    call to a model missing from its price map, and help lines under errors."""
    import litellm

    litellm.suppress_debug_info = True
    return litellm


class LiteLLM:
    """Any provider litellm knows (OpenAI, Anthropic, Bedrock, Ollama, ...), and the embedded model."""

    def __init__(self, model: str, api_base: str | None, api_key: str | None):
        litellm = quiet_litellm()  # now, not on the event loop during the first call
        self._model, self._api_base, self._api_key = model, api_base, api_key
        try:
            provider = litellm.get_llm_provider(model)[1]
        except Exception:  # check_provider refuses it with a clear message
            provider = None
        self._provider = provider
        self._reports_finish = provider not in NO_FINISH_REASON
        # the embedded model is free; a local server has no price; elsewhere litellm's own figure
        self._price = "free" if provider == "local" else "none" if provider in LOCAL_SERVERS else "litellm"
        self.seed = None
        if provider == "local":
            from . import local_model

            self.seed = local_model.SEED
        self.rates = (0.0, 0.0) if self._price == "free" else None if self._price == "none" else token_prices(model)

    async def served(self) -> Served:
        if self._provider == "local":
            from . import local_model

            name = self._model.split("/", 1)[1]
            return served.embedded(name, local_model.weights_path(name), local_model.N_CTX)
        if self._api_base:
            headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
            return await served.probe(self._api_base, self._model.split("/", 1)[1], headers,
                                      served.kind_of(self._model))
        return served.provider(self._model, _price_map().get(self._model))

    async def send(self, model: str, messages: list[dict], params: dict, timeout: float) -> Reply:
        import litellm

        extra = {k: v for k, v in (("api_base", self._api_base), ("api_key", self._api_key)) if v}
        if self._price == "none":
            # a local server has no price; naming one keeps litellm's logging from asking an ollama
            # server for it (a blocking POST /api/show on our event loop, with no timeout: a server
            # that accepts and never answers stalls every call in flight)
            extra.update(input_cost_per_token=0.0, output_cost_per_token=0.0)
        messages, params = formats.for_litellm(model, messages, formats.for_openai(params))
        try:
            r = await litellm.acompletion(model=model, messages=messages, timeout=timeout,
                                          max_retries=0, num_retries=0, **extra, **params)
        except litellm.exceptions.Timeout:
            raise CallError("timeout", f"no answer within {timeout:g} s") from None
        except litellm.exceptions.APIConnectionError as e:
            raise CallError("connection", _short(e)) from None
        except litellm.exceptions.BadRequestError as e:  # incl. context window exceeded: not retried
            raise CallError("client", _short(e), 400) from None
        except Exception as e:  # litellm's status errors all carry status_code (and the response)
            status = getattr(e, "status_code", None)
            if not isinstance(status, int):
                raise CallError("bad_response", _short(e)) from None
            headers = getattr(getattr(e, "response", None), "headers", None)
            note = (" (an environment key was not sent: this api_base is plain http to another machine; "
                    "pass api_key= to send one)") if status in (401, 403) and self._api_key == "no-key" else ""
            raise CallError(_kind_for_status(status), _short(e) + note, status, _retry_after(headers)) from None
        usage = getattr(r, "usage", None)
        completion = getattr(usage, "completion_tokens", 0) or 0
        try:
            answers = [self._answer(c, completion if i == 0 else 0, params) for i, c in enumerate(r.choices)]
            first = answers[0]
        except (AttributeError, IndexError, TypeError):
            raise CallError("bad_response", f"malformed response: {str(r)[:200]}") from None
        reply = Reply(*first, getattr(usage, "prompt_tokens", 0) or 0, completion, self._cost(r),
                      getattr(r, "model", None), getattr(r, "system_fingerprint", None))
        if len(answers) > 1:
            reply.choices = [reply] + [Reply(*a) for a in answers[1:]]
        return reply

    def _answer(self, choice, completion: int, params: dict) -> tuple[str, str, str | None]:
        """(text, reasoning, finish reason) of one of litellm's choices."""
        message = choice.message
        # litellm has already moved `reasoning`, a leading <think> and Anthropic's thinking blocks
        # into reasoning_content; a lone </think> is still in the text. Beside a null
        # `reasoning_content` (vLLM >= 0.10) it leaves `reasoning` in provider_specific_fields
        extra = getattr(message, "provider_specific_fields", None) or {}
        text, reasoning = split_reasoning(message.content or "",
                                          getattr(message, "reasoning_content", None) or extra.get("reasoning"))
        return text, reasoning, finish(choice.finish_reason, completion, params, self._reports_finish)

    def _cost(self, response) -> float | None:
        """litellm's own figure for the call (it prices every response it returns): not again."""
        if self._price != "litellm":
            return 0.0 if self._price == "free" else None
        cost = (getattr(response, "_hidden_params", None) or {}).get("response_cost")
        return None if cost is None else float(cost)


def _short(e: Exception) -> str:
    return f"{type(e).__name__}: {str(e)[:400]}"


def token_prices(model: str, *, batch: bool = False) -> tuple[float, float] | None:
    """Per-token (prompt, completion) prices from litellm's bundled price map, a provider batch
    API's with `batch=True`; None where it does not know the model.

    Read from the JSON file litellm ships, not through `import litellm` (≈ 3 s and ≈ 333 k objects
    that a direct-HTTP run would never use otherwise).
    """
    info = _model_info(model)
    kind = "_batches" if batch else ""
    if not info or f"input_cost_per_token{kind}" not in info:
        return None
    return info[f"input_cost_per_token{kind}"] or 0.0, info.get(f"output_cost_per_token{kind}") or 0.0


def output_limit(model: str) -> int | None:
    """The most tokens the model writes in one answer, from litellm's bundled map; None if unknown."""
    limit = (_model_info(model) or {}).get("max_output_tokens")
    return limit if isinstance(limit, int) and limit > 0 else None


def _model_info(model: str) -> dict | None:
    """litellm's map entry for `model` ("provider/name", or a bare name the map files under it)."""
    provider, _, name = model.partition("/")
    info = _price_map().get(model)
    if info is None and name:
        info = _price_map().get(name)
        if info is not None and info.get("litellm_provider") != provider:
            info = None
    return info


@functools.cache
def _price_map() -> dict:
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return {}
    path = Path(spec.submodule_search_locations[0]) / "model_prices_and_context_window_backup.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def check_provider(model: str, api_key: str | None, api_base: str | None) -> None:
    """Refuse an unknown model or a missing key before any request is made."""
    litellm = quiet_litellm()

    try:
        _, provider, _, _ = litellm.get_llm_provider(model)
    except Exception:
        raise ValueError(f"unknown model {model!r}: litellm cannot tell its provider. Use a litellm "
                         "model string such as 'openai/gpt-4o-mini', 'anthropic/claude-3-5-haiku-latest',"
                         " 'ollama_chat/llama3', or omit model= for the embedded local/smollm2") from None
    if api_key or api_base:
        return
    env = litellm.validate_environment(model)
    if not env.get("keys_in_environment", True):
        missing = ", ".join(env.get("missing_keys") or [])
        raise ValueError(f"model {model!r} needs an API key: set {missing} in the environment "
                         "(or pass api_key=); keys are never written to the cache or run folder")
