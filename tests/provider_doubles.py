"""Loopback doubles of three providers' HTTP APIs, for tests: Anthropic, Ollama, OpenAI-compatible.

Why real servers: what the toolkit must get right with these providers (key headers, thinking
blocks, cut-off answers, token counts) happens in the bytes litellm and the direct client exchange
with them. Each route is written from the provider's public API reference:

    POST /v1/messages          Anthropic Messages API: `x-api-key` + `anthropic-version` headers;
                               content blocks (`thinking`, `text`); stop_reason `end_turn` or
                               `max_tokens`; usage.input_tokens / output_tokens
    POST /api/chat             Ollama chat: message.content (+ message.thinking); done_reason
                               `stop` or `length`; prompt_eval_count / eval_count; options.num_predict
    POST /api/generate         Ollama generate: the same, with `response` (+ `thinking`) for a prompt
    POST /v1/chat/completions  OpenAI chat completions, with `reasoning_content` / `reasoning` fields

    with ProviderDouble() as srv:
        srv.answer = Answer("FINAL", thinking="plan")       # what every route answers next
        llm = LLM("anthropic/claude-3-5-haiku-latest", api_base=srv.url, api_key="k", folder=run)

Answers are cut at the request's token limit (one token = one word here) and reported as cut off
the way each provider does. Every request is recorded (`srv.requests`: route, headers, body).
"""
from __future__ import annotations

import json
import re
import threading
import time
import uuid
from dataclasses import dataclass

from aiohttp import web

from tests.loopback import ThreadedApp


@dataclass
class Answer:
    """What the double answers: `text`, optional `thinking`, and how it is delivered."""

    text: str = "FINAL"
    thinking: str | None = None
    # OpenAI route only: "reasoning_content", "reasoning" (a message field) or "tags" (in content)
    reasoning_field: str = "reasoning_content"


def _words(text: str) -> list[str]:
    return re.findall(r"\S+\s*", text)


def _cut(text: str, limit: int | None) -> tuple[str, bool]:
    words = _words(text)
    if limit is None or len(words) <= limit:
        return text, False
    return "".join(words[:limit]).rstrip(), True


def _count(messages) -> int:
    def text(c):
        if isinstance(c, list):
            return " ".join(p.get("text", "") for p in c if isinstance(p, dict))
        return c or ""
    return sum(len(text(m.get("content")).split()) for m in messages)


class ProviderDouble(ThreadedApp):
    """aiohttp app in a daemon thread; see the module docstring."""

    def __init__(self, api_key: str | None = None):
        self.api_key = api_key  # Anthropic route: the key it accepts (None: any non-empty key)
        self.answer = Answer()
        self.requests: list[dict] = []
        self.url: str | None = None  # http://127.0.0.1:<port> (Anthropic and Ollama bases)
        self._lock = threading.Lock()

    @property
    def openai_url(self) -> str:
        return self.url + "/v1"

    def routes(self) -> list[str]:
        with self._lock:
            return [r["route"] for r in self.requests]

    # ---- lifecycle ---------------------------------------------------------------
    url_path = ""  # the Anthropic and Ollama bases; openai_url adds /v1

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/messages", self._anthropic)
        app.router.add_post("/api/chat", self._ollama_chat)
        app.router.add_post("/api/generate", self._ollama_generate)
        app.router.add_post("/v1/chat/completions", self._openai)
        return app

    async def _record(self, request: web.Request, route: str) -> dict:
        body = json.loads(await request.read())
        with self._lock:
            self.requests.append({"route": route, "headers": dict(request.headers), "body": body})
        return body

    # ---- Anthropic Messages API --------------------------------------------------------
    async def _anthropic(self, request: web.Request) -> web.Response:
        body = await self._record(request, "anthropic")
        key = request.headers.get("x-api-key")
        if not key or (self.api_key is not None and key != self.api_key):
            return web.json_response({"type": "error", "error": {
                "type": "authentication_error", "message": "invalid x-api-key"}}, status=401)
        if not request.headers.get("anthropic-version"):
            return web.json_response({"type": "error", "error": {
                "type": "invalid_request_error", "message": "anthropic-version header is required"}},
                status=400)
        a = self.answer
        text, cut = _cut(a.text, body["max_tokens"])
        content = []
        if a.thinking is not None:
            content.append({"type": "thinking", "thinking": a.thinking, "signature": "c2lnbmF0dXJl"})
        content.append({"type": "text", "text": text})
        system = body.get("system") or ""
        system = system if isinstance(system, str) else " ".join(b.get("text", "") for b in system)
        return web.json_response({
            "id": f"msg_{uuid.uuid4().hex[:24]}", "type": "message", "role": "assistant",
            "model": body["model"], "content": content,
            "stop_reason": "max_tokens" if cut else "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": _count(body["messages"]) + len(system.split()),
                      "output_tokens": len(text.split()) + len((a.thinking or "").split())}})

    # ---- Ollama ------------------------------------------------------------------------
    def _ollama(self, body: dict, prompt_tokens: int) -> tuple[dict, str]:
        a = self.answer
        raw = a.text if a.reasoning_field != "tags" or a.thinking is None else \
            f"<think>{a.thinking}</think>{a.text}"
        text, cut = _cut(raw, (body.get("options") or {}).get("num_predict"))
        return {"model": body["model"], "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "done": True, "done_reason": "length" if cut else "stop",
                "total_duration": 1000, "prompt_eval_count": prompt_tokens,
                "eval_count": len(text.split())}, text

    def _thinking(self) -> dict:
        a = self.answer
        return {"thinking": a.thinking} if a.thinking is not None and a.reasoning_field != "tags" else {}

    async def _ollama_chat(self, request: web.Request) -> web.Response:
        body = await self._record(request, "ollama_chat")
        out, text = self._ollama(body, _count(body["messages"]))
        out["message"] = {"role": "assistant", "content": text, **self._thinking()}
        return web.json_response(out)

    async def _ollama_generate(self, request: web.Request) -> web.Response:
        body = await self._record(request, "ollama_generate")
        out, text = self._ollama(body, len(body.get("prompt", "").split()))
        out.update(response=text, context=[1, 2, 3], **self._thinking())
        return web.json_response(out)

    # ---- OpenAI-compatible chat completions (reasoning fields of vLLM, DeepSeek, llama.cpp) --
    async def _openai(self, request: web.Request) -> web.Response:
        body = await self._record(request, "openai")
        a = self.answer
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        message = {"role": "assistant"}
        if a.thinking is not None and a.reasoning_field == "tags":
            content, cut = _cut(f"<think>{a.thinking}</think>{a.text}", limit)
        else:
            content, cut = _cut(a.text, limit)
            if a.thinking is not None:
                message[a.reasoning_field] = a.thinking
        message["content"] = content
        prompt = _count(body["messages"])
        return web.json_response({
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion",
            "created": int(time.time()), "model": body["model"],
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": "length" if cut else "stop"}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": len(content.split()),
                      "total_tokens": prompt + len(content.split())}})
