"""Shared fixtures: a real OpenAI-compatible server on 127.0.0.1, a fresh run folder per test, an
LLM pointed at the server, prompt files and sample rows."""

import os

import pandas as pd
import pytest

import toolkit as tk
from tests.loopback import LoopbackServer

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

ECHO_PROMPT = """params: {max_tokens: 40}
messages:
  - system: You answer tersely.
  - user: "{text}"
"""


@pytest.fixture
def server():
    with LoopbackServer(latency=0.01) as srv:
        yield srv


@pytest.fixture
def admissions(monkeypatch):
    """Each rate limiter's admission times, as it recorded them ({limiter id: [monotonic time]}),
    under a one-second "minute". What the limiter promises is about when it lets a request go; a
    server's arrival times add the machine's scheduling on top, so a test of rpm/tpm reads these."""
    from toolkit.llm import limiter

    monkeypatch.setattr(limiter, "RATE_PERIOD", 1.0)
    seen, wait = {}, limiter.Limiter._wait_for_window

    async def recording(self, tokens):
        await wait(self, tokens)
        if self.rpm or self.tpm:  # a limiter without a window admits at once and records nothing
            seen.setdefault(id(self), []).append(self._sent[-1][0])  # the entry just admitted: ours

    monkeypatch.setattr(limiter.Limiter, "_wait_for_window", recording)
    return seen


@pytest.fixture
def folder(tmp_path):
    """A run folder that does not exist yet (the LLM creates it)."""
    return tmp_path / "run"


@pytest.fixture
def loopback_llm(folder):
    """loopback_llm(server, model="openai/loopback", **kw): an LLM on the direct HTTP path to
    `server` (a list of servers: a fleet of them; None: give api_base= or deployments=), in the
    test's run folder, with key "k" and quick retries; any keyword overrides these."""
    def make(srv=None, model="openai/loopback", **kw):
        kw.setdefault("folder", folder)
        kw.setdefault("api_key", "k")
        kw.setdefault("retry", tk.llm.Retry(base_delay=0.01, max_delay=0.05))
        if isinstance(srv, (list, tuple)):
            kw["deployments"] = [{"api_base": s.url} for s in srv]
        elif srv is not None:
            kw["api_base"] = srv.url
        return tk.LLM(model, **kw)
    return make


@pytest.fixture
def prompt_file(tmp_path):
    """prompt_file(text=ECHO_PROMPT, name="echo.yaml"): a prompt file in the test's tmp folder."""
    def write(text=ECHO_PROMPT, name="echo.yaml"):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path
    return write


@pytest.fixture
def prompt(prompt_file):
    """The echo prompt (ECHO_PROMPT) as a file."""
    return prompt_file()


@pytest.fixture
def rows():
    """rows(n, prefix="row", **columns): n samples (chunk_id c0.., text "<prefix> 0"..) plus any
    columns given (even ones named n or prefix)."""
    def make(n, prefix="row", /, **columns):
        return pd.DataFrame({"chunk_id": [f"c{i}" for i in range(n)],
                             "text": [f"{prefix} {i}" for i in range(n)], **columns})
    return make


@pytest.fixture(scope="session")
def model_server():
    """llama-cpp-python's server on the embedded weights behind a counting proxy (tests/model_server.py)."""
    from tests.model_server import ModelServer

    with ModelServer() as srv:
        yield srv


@pytest.fixture
def model(model_server):
    """The real model server with a fresh request count (restarted first if a test killed it)."""
    if model_server.process is None:
        model_server.start()
    model_server.proxy.reset()
    return model_server
