"""A provider's OpenAI-style batch service on 127.0.0.1, for tests: files, batches, polling, results.

Why a real server: batch mode's job is the conversation with the service (multipart upload, a
batch that moves through its states over several polls, output and error files) and surviving a
restarted client; only real HTTP shows that. It counts submissions and polls so a test can prove
that a resumed run did not submit twice.

    with BatchServer(polls=3, fail=lambda body: "too long" if "bad" in str(body) else None) as srv:
        llm = LLM("openai/loopback", api_base=srv.url, api_key="k", folder=run)
        ...
        assert srv.submissions == 1

A batch is `validating` when created, `in_progress` on the next polls (request_counts growing) and
`completed` on poll number `polls`, unless `hold` is set. `finish="expired"` ends it with only the
first half answered. Each output line is `{"custom_id", "response": {"status_code": 200, "body":
<chat.completion>}}`; a request `fail` names goes to the error file with status 400 and the reason.
`POST /v1/chat/completions` answers live (counted in `live`), as a provider does beside its batches.
"""
from __future__ import annotations

import itertools
import json
import threading
import time
from typing import Callable

from aiohttp import web

from tests.loopback import ThreadedApp, _error, echo_reply

MODELS = {"loopback"}  # a batch naming any other model fails validation, as at a real provider
TERMINAL = {"completed", "failed", "expired", "cancelled"}


def completion(body: dict) -> dict:
    """The chat.completion the service answers `body` with: the loopback server's echo."""
    content = echo_reply(body)
    prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
    return {"id": f"chatcmpl-{time.monotonic_ns()}", "object": "chat.completion",
            "created": int(time.time()), "model": body.get("model"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "finish_reason": "stop", "logprobs": None}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": len(content.split()),
                      "total_tokens": prompt + len(content.split())}}


class BatchServer(ThreadedApp):
    """aiohttp app in a daemon thread; see the module docstring."""

    def __init__(self, polls: int = 3, fail: Callable[[dict], str | None] | None = None,
                 finish: str = "completed"):
        self.polls, self.fail, self.finish = polls, fail, finish
        self.hold = False
        self.url: str | None = None
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict] = {}
        self.submissions = 0   # POST /v1/batches
        self.poll_count = 0    # GET /v1/batches/{id}
        self.live = 0          # POST /v1/chat/completions
        self.auth: set[str] = set()  # Authorization headers seen
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    # ---- lifecycle ---------------------------------------------------------------
    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._authorized], client_max_size=256 * 1024 ** 2)
        app.router.add_post("/v1/files", self._upload)
        app.router.add_get("/v1/files/{id}/content", self._content)
        app.router.add_post("/v1/batches", self._create)
        app.router.add_get("/v1/batches/{id}", self._retrieve)
        app.router.add_post("/v1/chat/completions", self._chat)
        return app

    # ---- handlers ----------------------------------------------------------------
    @web.middleware
    async def _authorized(self, request: web.Request, handler):
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or len(auth) <= len("Bearer "):
            return _error(401, "missing API key", "invalid_request_error")
        self.auth.add(auth)
        return await handler(request)

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}"

    async def _upload(self, request: web.Request) -> web.Response:
        fields = {}
        async for part in await request.multipart():
            fields[part.name] = (part.filename, await part.read())
        if fields.get("purpose", (None, b""))[1] != b"batch" or "file" not in fields:
            return _error(400, "expected purpose=batch and a file", "invalid_request_error")
        filename, data = fields["file"]
        file_id = self._new_id("file")
        self.files[file_id] = data
        return web.json_response({"id": file_id, "object": "file", "bytes": len(data),
                                  "created_at": int(time.time()), "filename": filename,
                                  "purpose": "batch"})

    async def _content(self, request: web.Request) -> web.Response:
        data = self.files.get(request.match_info["id"])
        if data is None:
            return _error(404, "no such file", "invalid_request_error")
        return web.Response(body=data, content_type="application/octet-stream")

    async def _create(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("input_file_id") not in self.files:
            return _error(400, "unknown input_file_id", "invalid_request_error")
        if body.get("endpoint") != "/v1/chat/completions" or body.get("completion_window") != "24h":
            return _error(400, "unsupported endpoint or completion_window", "invalid_request_error")
        with self._lock:
            self.submissions += 1
        batch = {"id": self._new_id("batch"), "object": "batch", "endpoint": body["endpoint"],
                 "errors": None, "input_file_id": body["input_file_id"], "completion_window": "24h",
                 "status": "validating", "output_file_id": None, "error_file_id": None,
                 "created_at": int(time.time()),
                 "request_counts": {"total": 0, "completed": 0, "failed": 0}}
        self.batches[batch["id"]] = {"object": batch, "polls": 0}
        return web.json_response(batch)

    async def _retrieve(self, request: web.Request) -> web.Response:
        entry = self.batches.get(request.match_info["id"])
        if entry is None:
            return _error(404, "no such batch", "invalid_request_error")
        with self._lock:
            self.poll_count += 1
        batch = entry["object"]
        if batch["status"] not in TERMINAL and not self.hold:
            entry["polls"] += 1
            self._advance(batch, entry["polls"])
        return web.json_response(batch)

    def _advance(self, batch: dict, polls: int) -> None:
        lines = [json.loads(line) for line in self.files[batch["input_file_id"]].splitlines() if line]
        bodies = {line["custom_id"]: line["body"] for line in lines}
        problems = ([f"line {i}: model {b.get('model')!r} not found" for i, b in
                     enumerate(bodies.values(), 1) if b.get("model") not in MODELS]
                    + (["duplicate custom_id"] if len(bodies) < len(lines) else []))
        if problems:
            batch.update(status="failed", errors={"object": "list", "data": [
                {"code": "invalid_request", "message": p} for p in problems]})
            return
        total = len(bodies)
        if polls < self.polls:
            batch.update(status="in_progress", request_counts={
                "total": total, "completed": total * polls // self.polls, "failed": 0})
            return
        answered = list(bodies.items())[:total // 2] if self.finish == "expired" else bodies.items()
        out, errors = [], []
        for custom_id, body in answered:
            reason = self.fail(body) if self.fail else None
            response = ({"status_code": 400, "body": {"error": {"message": reason,
                                                                "type": "invalid_request_error"}}}
                        if reason else {"status_code": 200, "body": completion(body)})
            (errors if reason else out).append(json.dumps(
                {"id": self._new_id("batch_req"), "custom_id": custom_id, "response": response,
                 "error": None}))
        batch.update(status=self.finish, request_counts={
            "total": total, "completed": len(out), "failed": len(errors)})
        for name, lines_ in (("output_file_id", out), ("error_file_id", errors)):
            if lines_:
                file_id = self._new_id("file")
                self.files[file_id] = ("\n".join(lines_) + "\n").encode()
                batch[name] = file_id

    async def _chat(self, request: web.Request) -> web.Response:
        with self._lock:
            self.live += 1
        return web.json_response(completion(await request.json()))
