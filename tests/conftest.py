"""Shared fixtures: a real OpenAI-compatible server on 127.0.0.1 and a fresh run folder per test."""

import os

import pytest

from tests.loopback import LoopbackServer

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@pytest.fixture
def server():
    with LoopbackServer(latency=0.01) as srv:
        yield srv


@pytest.fixture
def run(tmp_path):
    return tmp_path / "run"
