"""Batch mode: run a step through a provider's batch API (OpenAI-style /v1/files + /v1/batches).

    out = tk.batch(qa, chunks)     # the DataFrame qa.run(chunks) would give, at batch prices

Each row's request is written to a JSONL file (custom_id = its cache key; rows already in the
cache are left out), uploaded, submitted and polled with a progress bar. Every answer goes into the
cache as a live call would store it, then the step runs from the cache, so viewers, export and
reruns work unchanged. A request the batch failed stays failed with the batch's reason (the next
`tk.batch` sends it again); a feedback retry, when an answer did not parse or validate, is a
live call.

The batch id is saved in `<folder>/batches/<step>.json` the moment the batch exists: after an
interrupt or a kernel restart, running the cell again resumes polling it instead of paying twice.
A saved batch the provider no longer knows (HTTP 404: another key or account, a deleted batch)
stops the call with a `BatchError` saying so; `tk.batch(..., resubmit=True)` then sets the saved
id aside (`<step>.<batch id>.abandoned.json`) and submits a new batch. Never silently: the old
batch may still be running, and billed, under the other account.

But: only OpenAI-style batch APIs (/v1/files, /v1/batches) are wrapped; other providers' batch
services are not.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiohttp
import pandas as pd
from tqdm.auto import tqdm

from .files import atomic_write
from .llm import LLM, BatchError, Completion, http_error, loop, read_completion, token_prices
from .llm.usage import Spend
from .steps import Step

DONE = {"completed", "failed", "expired", "cancelled"}  # a batch in one of these will not change


def batch(step: Step, df: pd.DataFrame, *, poll_seconds: float = 30.0, resubmit: bool = False,
          **constants) -> pd.DataFrame:
    """Run `step` over `df` through the provider's batch API; blocks the cell while it polls.

    Interrupt it at any time: the batch keeps running at the provider, and the next call resumes.
    `resubmit=True` gives up a saved, unfinished batch (one the provider answers 404 for) and
    submits the rows again.
    """
    return loop.run_sync(abatch(step, df, poll_seconds=poll_seconds, resubmit=resubmit, **constants))


async def abatch(step: Step, df: pd.DataFrame, *, poll_seconds: float = 30.0,
                 resubmit: bool = False, **constants) -> pd.DataFrame:
    llm = step.llm
    step.reload_prompt()  # an edited prompt file: batch the new requests, not the old ones
    if llm.cache.mode == "replay":  # recorded answers only: the step raises CacheMiss for the rest
        return await step.arun(df, **constants)
    step.prompt.check([*df.columns, *constants])  # before anything is sent
    service = _Service(llm)
    state_path = llm.folder / "batches" / f"{step.name}.json"
    failed: dict[str, Completion] = {}  # cache key -> the batch's failure for it
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as http:
        state = json.loads(state_path.read_text()) if state_path.exists() else None
        if state and not state["collected"] and resubmit:
            abandoned = state_path.with_name(f"{step.name}.{state['batch_id']}.abandoned.json")
            state_path.rename(abandoned)
            print(f"{step.name}: saved batch {state['batch_id']} set aside in {abandoned}; "
                  "submitting a new batch")
        elif state and not state["collected"]:
            try:
                failed |= await service.finish(http, state, state_path, step.name, poll_seconds)
            except BatchError as e:
                if e.status != 404:
                    raise
                raise BatchError(
                    f"{step.name}: the provider does not know the saved batch {state['batch_id']} "
                    f"({e}): it was submitted {state['submitted']} under another key or account, "
                    f"or has been deleted. To submit these rows again, run tk.batch(..., resubmit=True) "
                    f"(the saved id is then kept aside, not deleted: {state_path})", 404) from None
        todo = {k: r for k, r in step.requests(df, **constants).items()
                if k not in failed and llm.cache.get(k) is None}
        if todo:
            state = await service.submit(http, todo, state_path, step)
            failed |= await service.finish(http, state, state_path, step.name, poll_seconds)
    # a request the batch failed keeps the batch's reason instead of becoming a live call
    with llm.answering(failed):
        return await step.arun(df, **constants)


class _Service:
    """One provider's batch endpoints, reached with the LLM's base URL and key."""

    def __init__(self, llm: LLM):
        try:
            self.endpoint = llm.endpoint()
        except ValueError as e:
            raise ValueError(f"batch mode needs a provider's batch API (/v1/files, /v1/batches): {e}") from None
        if llm.cache.mode != "use":
            raise ValueError(f"batch mode brings answers to the step through the cache; "
                             f"cache={llm.cache.mode!r} would not read them (use 'use')")
        self.llm = llm
        self.rates = token_prices(llm.model, batch=True)

    async def _call(self, http: aiohttp.ClientSession, method: str, path: str, **kw) -> bytes:
        async with http.request(method, self.endpoint.base + path, headers=self.endpoint.headers, **kw) as r:
            body = await r.read()
            if r.status != 200:
                raise BatchError(f"{method} {path}: {http_error(r.status, body)}", r.status)
            return body

    async def submit(self, http, todo: dict[str, list[dict]], state_path: Path, step: Step) -> dict:
        """Write, upload and submit the requests; save the batch id before anything else happens."""
        state_path.parent.mkdir(parents=True, exist_ok=True)
        requests = state_path.with_suffix(".requests.jsonl")
        with open(requests, "w", encoding="utf-8") as f:
            for key, messages in todo.items():
                f.write(json.dumps({"custom_id": key, "method": "POST", "url": "/v1/chat/completions",
                                    "body": {"model": self.endpoint.model, "messages": messages,
                                             **step.params}}, ensure_ascii=False) + "\n")
        form = aiohttp.FormData()
        form.add_field("purpose", "batch")
        form.add_field("file", requests.read_bytes(), filename=f"{step.name}.jsonl",
                       content_type="application/jsonl")
        file_id = json.loads(await self._call(http, "POST", "/files", data=form))["id"]
        created = json.loads(await self._call(http, "POST", "/batches", json={
            "input_file_id": file_id, "endpoint": "/v1/chat/completions",
            "completion_window": "24h"}))
        state = {"batch_id": created["id"], "input_file_id": file_id, "model": self.llm.model,
                 "params": step.params, "keys": list(todo), "status": created["status"],
                 "submitted": time.strftime("%Y-%m-%dT%H:%M:%S"), "collected": False}
        _save(state_path, state)
        return state

    async def finish(self, http, state: dict, state_path: Path, name: str,
                     poll_seconds: float) -> dict[str, Completion]:
        """Poll until the batch is done, put its answers in the cache; the failed requests."""
        start = time.monotonic()
        batch = await self._poll(http, state, name, poll_seconds)
        answers, failed = {}, {}
        for file_id in (batch.get("output_file_id"), batch.get("error_file_id")):
            if file_id:
                for line in (await self._call(http, "GET", f"/files/{file_id}/content")).splitlines():
                    if line.strip():
                        _read_line(json.loads(line), answers, failed, self.rates, state["params"])
        errors = [e.get("message", "") for e in (batch.get("errors") or {}).get("data") or []]
        why = "; ".join(errors[:3]) + (f" (and {len(errors) - 3} more)" if len(errors) > 3 else "")
        for key in state["keys"]:
            if key not in answers and key not in failed:
                failed[key] = f"the batch ended {batch['status']} without answering it" + (
                    f": {why}" if why else "")
        self._store(state_path, state, answers)
        state.update(status=batch["status"], request_counts=batch.get("request_counts"),
                     collected=True)
        _save(state_path, state)
        print(_summary(name, state, answers, failed, time.monotonic() - start))
        return {key: Completion(attempts=1, error_kind="batch", error=why) for key, why in failed.items()}

    async def _poll(self, http, state: dict, name: str, poll_seconds: float) -> dict:
        bar = tqdm(total=len(state["keys"]), desc=f"{name} batch", unit="request")
        try:
            while True:
                try:
                    batch = json.loads(await self._call(http, "GET", f"/batches/{state['batch_id']}"))
                except (aiohttp.ClientError, TimeoutError, BatchError) as e:
                    if isinstance(e, BatchError) and e.status != 429 and e.status < 500:
                        raise
                    bar.set_postfix_str(f"poll failed ({e}), retrying")  # the batch runs on
                else:
                    counts = batch.get("request_counts") or {}
                    bar.n = (counts.get("completed") or 0) + (counts.get("failed") or 0)
                    bar.set_postfix_str(f"{batch['id']} {batch['status']}")
                    if batch["status"] in DONE:
                        return batch
                await asyncio.sleep(poll_seconds)
        finally:
            bar.close()

    def _store(self, state_path: Path, state: dict, answers: dict[str, Completion]) -> None:
        """Put each answer in the cache under its request (read back from the submitted file)."""
        with open(state_path.with_suffix(".requests.jsonl"), encoding="utf-8") as f:
            for line in f:
                request = json.loads(line)
                c = answers.get(request["custom_id"])
                if c is None:
                    continue
                self.llm.record(request["custom_id"], request["body"]["messages"], state["params"], c)


def _read_line(line: dict, answers: dict, failed: dict, rates, params: dict) -> None:
    """One line of an output or error file: an answer, or the reason there is none."""
    key, response = line["custom_id"], line.get("response") or {}
    if response.get("status_code") == 200:
        c = read_completion(response.get("body"), rates, params)
        if c.ok:
            answers[key] = c
        else:
            failed[key] = c.error
        return
    error = line.get("error") or (response.get("body") or {}).get("error") or {}
    status = f"HTTP {response['status_code']}: " if response.get("status_code") else ""
    failed[key] = status + (error.get("message") or json.dumps(line)[:300])


def _save(path: Path, state: dict) -> None:
    with atomic_write(path) as f:
        json.dump(state, f, indent=1)


def _summary(name: str, state: dict, answers: dict, failed: dict, seconds: float) -> str:
    spend = Spend()
    for c in answers.values():
        spend.add(c)
    price = "cost unknown" if spend.cost is None else f"${spend.cost:.4f}"
    return (f"{name}: batch {state['batch_id']} {state['status']} → {len(answers)} answered, "
            f"{len(failed)} failed | {spend.prompt_tokens + spend.completion_tokens} tokens, {price}, "
            f"{seconds:.1f} s")
