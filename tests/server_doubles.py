"""Loopback doubles of three model servers' quirks, for tests: ollama, llama-server (llama.cpp), vLLM.

Each answers the routes the toolkit reads in the shapes the real server sends (checked against
their docs and source): what it serves, its context window, and what it does with a request that
does not fit or asks for structure.

    OllamaServer   /api/show (parameters `num_ctx N`), /api/ps (`context_length`, `digest` of a
                   loaded model), /api/tags, /api/version, /v1/models (`owned_by: library`);
                   /api/chat and /v1/chat/completions CUT a prompt longer than num_ctx (the first 4
                   tokens and the tail, as its runner does), answer HTTP 200 and report the cut size
    LlamaServer    /props (`default_generation_settings.n_ctx`, `model_path`), /v1/models
                   (`owned_by: llamacpp`, `meta`); a request past n_ctx gets HTTP 400
                   `exceed_context_size_error`; accepts response_format json_schema without
                   enforcing it (answers `self.answer`)
    VLLMServer     /v1/models (`max_model_len`, `root`); a request past max_model_len gets HTTP 400
                   "maximum context length"; from 0.10 the reasoning is in `message.reasoning`; from
                   0.12 `guided_*` is ignored, response_format and structured_outputs are enforced

One word is one token here, as in the other doubles: the toolkit's own estimate (≈ 4 characters a
token) reads English words at ≈ 0.75 of a token each, a tokenizer difference like a real one's.
"""
from __future__ import annotations

import json
import threading
import time
import uuid

from aiohttp import web

from tests.loopback import ThreadedApp

TEMPLATE = 3  # tokens a chat template adds per message


def words(messages: list[dict]) -> list[str]:
    return [w for m in messages for w in ["<|role|>"] * TEMPLATE + str(m.get("content") or "").split()]


class _Server(ThreadedApp):
    url_path = ""

    def __init__(self):
        self.requests: list[dict] = []  # {"path", "headers", "body"} of every chat request
        self._lock = threading.Lock()

    @property
    def chats(self) -> int:
        with self._lock:
            return len(self.requests)

    async def _record(self, request: web.Request) -> dict:
        body = json.loads(await request.read())
        with self._lock:
            self.requests.append({"path": request.path, "headers": dict(request.headers), "body": body})
        return body

    @staticmethod
    def completion(body: dict, content: str, prompt: int, extra: dict | None = None, **message) -> web.Response:
        return web.json_response({
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model"), **(extra or {}),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content, **message}}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": len(content.split()),
                      "total_tokens": prompt + len(content.split())}})


class OllamaServer(_Server):
    """ollama: cuts an over-long prompt to num_ctx and answers from the rest (see the module doc)."""

    def __init__(self, name: str = "qwen2.5:7b", num_ctx: int = 2048, loaded: bool = False,
                 modelfile_ctx: int | None = None, digest: str = "sha256:" + "a" * 64):
        super().__init__()
        self.name, self.num_ctx, self.loaded = name, num_ctx, loaded
        self.modelfile_ctx, self.digest = modelfile_ctx, digest

    @property
    def openai_url(self) -> str:
        return self.url + "/v1"

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/chat", self._chat)
        app.router.add_post("/v1/chat/completions", self._openai)
        app.router.add_post("/api/show", self._show)
        app.router.add_get("/api/ps", self._ps)
        app.router.add_get("/api/tags", self._tags)
        app.router.add_get("/api/version", lambda r: web.json_response({"version": "0.12.6"}))
        app.router.add_get("/v1/models", lambda r: web.json_response({"object": "list", "data": [
            {"id": self.name, "object": "model", "created": 1700000000, "owned_by": "library"}]}))
        return app

    def _read(self, messages: list[dict]) -> tuple[list[str], str]:
        """The tokens the runner keeps (first 4 + tail when over num_ctx) and the answer from them."""
        self.loaded = True
        tokens = words(messages)
        if len(tokens) > self.num_ctx:
            tokens = tokens[:4] + tokens[len(tokens) - self.num_ctx + 4:]
        return tokens, "answered from: " + " ".join(t for t in tokens[-3:] if t != "<|role|>")

    async def _chat(self, request: web.Request) -> web.Response:
        body = await self._record(request)
        tokens, text = self._read(body["messages"])
        return web.json_response({"model": body["model"], "created_at": "2026-12-01T00:00:00Z",
                                  "message": {"role": "assistant", "content": text}, "done": True,
                                  "done_reason": "stop", "prompt_eval_count": len(tokens),
                                  "eval_count": len(text.split())})

    async def _openai(self, request: web.Request) -> web.Response:
        body = await self._record(request)
        tokens, text = self._read(body["messages"])
        return self.completion(body, text, len(tokens), {"system_fingerprint": "fp_ollama"})

    async def _show(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        if body.get("model", body.get("name")) not in (self.name, self.name.split(":")[0]):
            return web.json_response({"error": f"model '{body.get('model')}' not found"}, status=404)
        return web.json_response({
            "modelfile": "FROM /root/.ollama/models/blobs/sha256-x", "template": "{{ .Prompt }}",
            "parameters": (f"num_ctx                        {self.modelfile_ctx}" if self.modelfile_ctx
                           else 'stop "<|im_end|>"'),
            "details": {"format": "gguf", "family": "qwen2", "parameter_size": "7.6B", "quantization_level": "Q4_K_M"},
            "model_info": {"general.architecture": "qwen2", "qwen2.context_length": 32768},
            "capabilities": ["completion"]})

    async def _ps(self, request: web.Request) -> web.Response:
        running = [{"name": self.name, "model": self.name, "size": 5_600_000_000, "digest": self.digest[7:],
                    "details": {"format": "gguf"}, "expires_at": "2026-12-01T00:05:00Z",
                    "size_vram": 0, "context_length": self.num_ctx}] if self.loaded else []
        return web.json_response({"models": running})

    async def _tags(self, request: web.Request) -> web.Response:
        return web.json_response({"models": [{"name": self.name, "model": self.name, "size": 4_683_087_332,
                                              "digest": self.digest[7:], "details": {"format": "gguf"}}]})


class LlamaServer(_Server):
    """llama-server: refuses a request past n_ctx; takes a json_schema it may not enforce."""

    def __init__(self, alias: str = "qwen", n_ctx: int = 4096, model_path: str = "/models/qwen-a.gguf",
                 size: int = 4_683_073_184, answer: str | None = None):
        super().__init__()
        self.alias, self.n_ctx, self.model_path, self.size = alias, n_ctx, model_path, size
        self.answer = answer  # None: says which weights answered and what it was asked

    @property
    def openai_url(self) -> str:
        return self.url + "/v1"

    def swap(self, model_path: str, size: int) -> None:
        """Another GGUF behind the same alias, as after a restart with another -m."""
        self.model_path, self.size = model_path, size

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/props", lambda r: web.json_response({
            "default_generation_settings": {"id": 0, "n_ctx": self.n_ctx, "params": {"temperature": 0.8}},
            "total_slots": 1, "model_alias": self.alias, "model_path": self.model_path,
            "build_info": "b6710-74b8fc17", "modalities": {"vision": False, "audio": False}}))
        app.router.add_get("/v1/models", lambda r: web.json_response({
            "models": [{"name": self.alias, "model": self.alias, "type": "model", "details": {"format": "gguf"}}],
            "object": "list", "data": [{"id": self.alias, "aliases": [self.alias], "object": "model",
                                         "created": 1764547200, "owned_by": "llamacpp",
                                         "meta": {"vocab_type": 2, "n_vocab": 151936, "n_ctx_train": 32768,
                                                  "n_embd": 3584, "n_params": 7_615_616_512, "size": self.size}}]}))
        return app

    async def _chat(self, request: web.Request) -> web.Response:
        body = await self._record(request)
        prompt = len(words(body["messages"]))
        if prompt + (body.get("max_tokens") or 0) > self.n_ctx:
            return web.json_response({"error": {
                "code": 400, "message": "the request exceeds the available context size, try increasing it",
                "type": "exceed_context_size_error", "n_prompt_tokens": prompt, "n_ctx": self.n_ctx}}, status=400)
        last = str(body["messages"][-1].get("content"))
        text = self.answer if self.answer is not None else f"{self.model_path} says: {last}"
        return self.completion(body, text, prompt, {"system_fingerprint": "b6710-74b8fc17"})


class VLLMServer(_Server):
    """vLLM at `version` (see the module doc)."""

    def __init__(self, served_name: str = "qwen", root: str = "Qwen/Qwen2.5-7B-Instruct",
                 max_model_len: int = 4096, version: tuple = (0, 12), reasoning: dict | None = None):
        super().__init__()
        self.served_name, self.root, self.max_model_len = served_name, root, max_model_len
        # message fields of the reasoning, e.g. {"reasoning": "plan"} (>= 0.10), {"reasoning_content": ..}
        self.version, self.reasoning = version, reasoning or {}

    @property
    def openai_url(self) -> str:
        return self.url + "/v1"

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", lambda r: web.json_response({"object": "list", "data": [{
            "id": self.served_name, "object": "model", "created": 1764547200, "owned_by": "vllm",
            "root": self.root, "parent": None, "max_model_len": self.max_model_len,
            "permission": [{"id": "modelperm-1", "object": "model_permission", "allow_sampling": True}]}]}))
        return app

    def _constraint(self, body: dict):
        """What this version enforces: response_format always; guided_* before 0.12; structured_outputs
        from 0.10.2."""
        extra = {**body, **(body.get("extra_body") or {})}
        rf = body.get("response_format") or {}
        if rf.get("type") == "json_schema":
            return "json", rf["json_schema"]["schema"]
        so = extra.get("structured_outputs") or {}
        if self.version >= (0, 10) and so:
            return next(iter(so.items()))
        if self.version < (0, 12):
            for key in ("guided_json", "guided_choice", "guided_regex"):
                if key in extra:
                    return key[7:], extra[key]
        return None

    async def _chat(self, request: web.Request) -> web.Response:
        body = await self._record(request)
        prompt = len(words(body["messages"]))
        asked = prompt + (body.get("max_tokens") or 0)
        if asked > self.max_model_len:
            return web.json_response({
                "object": "error", "type": "BadRequestError", "param": None, "code": 400,
                "message": f"This model's maximum context length is {self.max_model_len} tokens. However, you "
                           f"requested {asked} tokens ({prompt} in the messages, {body.get('max_tokens') or 0} "
                           "in the completion). Please reduce the length of the messages or completion."},
                status=400)
        rule = self._constraint(body)
        if rule and rule[0] == "json":
            text = json.dumps({k: 1 if v.get("type") == "integer" else "x"
                               for k, v in rule[1].get("properties", {}).items()})
        elif rule and rule[0] == "choice":
            text = rule[1][0]
        else:
            text = "Sure! Here is what you asked for: " + str(body["messages"][-1].get("content"))
        return self.completion(body, text, prompt, **self.reasoning)
