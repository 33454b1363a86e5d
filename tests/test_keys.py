"""Keys go only where they belong (docs/durability.md, Secrets): an environment key reaches its
provider's own host, this machine, or an https host the user named; a plain-http host elsewhere gets
a key only from api_key=, with a one-time warning.

The real test runs the server on another host: a network namespace this test makes (veth pair,
198.18.x.y, the benchmarking range), so the request crosses a real, non-loopback network link.
It needs root and iproute2 (CI has both); the host classification below runs everywhere."""

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import toolkit as tk
from toolkit.llm import connect

ROOT = Path(__file__).resolve().parent.parent
SENTINEL = "sk-ENV-SENTINEL-0123456789"


def test_which_hosts_may_get_an_environment_key():
    allowed = [None, "https://gpu-box.example:8000/v1", "http://127.0.0.1:8000/v1", "http://127.9.9.9/v1",
               "http://localhost:11434", "http://[::1]:8000/v1", "http://[::ffff:127.0.0.1]:8/v1"]
    refused = ["http://gpu-box:8000/v1", "http://10.0.0.5:8000/v1", "http://192.168.1.20:11434",
               "http://127.0.0.1.attacker.example/v1", "http://[::ffff:10.0.0.1]:8/v1", "ftp://x"]
    assert all(connect.may_carry(base) for base in allowed)
    assert not any(connect.may_carry(base) for base in refused)


def test_the_litellm_route_sends_no_environment_key_to_a_plain_http_host(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SENTINEL)
    far = connect._litellm("hosted_vllm/qwen", "http://gpu-box:8000/v1", None)
    near = connect._litellm("hosted_vllm/qwen", "http://127.0.0.1:8000/v1", None)
    assert far._api_key == connect.NO_KEY and near._api_key is None  # None: litellm reads the env


@pytest.fixture(scope="module")
def remote():
    """A loopback-protocol server on 198.18.a.2 inside a fresh network namespace; yields (url, log)."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("needs root and iproute2 to make a network namespace")
    pid = os.getpid()
    ns, here, there = f"tkkeys{pid}", f"tkk{pid % 100000}a", f"tkk{pid % 100000}b"
    net = f"198.18.{pid % 250}"
    log = Path(f"/tmp/{ns}.jsonl")
    log.unlink(missing_ok=True)

    def ip(*args, inside=False):
        cmd = ["ip", "netns", "exec", ns, "ip", *args] if inside else ["ip", *args]
        subprocess.run(cmd, check=True, capture_output=True)
    try:
        ip("netns", "add", ns)
        ip("link", "add", here, "type", "veth", "peer", "name", there)
        ip("link", "set", there, "netns", ns)
        ip("addr", "add", f"{net}.1/30", "dev", here)
        ip("link", "set", here, "up")
        ip("addr", "add", f"{net}.2/30", "dev", there, inside=True)
        ip("link", "set", there, "up", inside=True)
        ip("link", "set", "lo", "up", inside=True)
    except subprocess.CalledProcessError as e:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        pytest.skip(f"cannot make a network namespace here: {e.stderr.decode(errors='replace')}")
    server = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-m", "tests.loopback", "--host",
                               f"{net}.2", "--latency", "0", "--log", str(log)], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    try:
        yield server.stdout.readline().strip(), log
    finally:
        server.terminate()
        server.wait()
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["ip", "link", "del", here], capture_output=True)
        log.unlink(missing_ok=True)


def sent_headers(log: Path) -> list[dict]:
    return [json.loads(line)["headers"] for line in log.read_text().splitlines()]


def test_an_environment_key_does_not_reach_a_plain_http_host(remote, monkeypatch, tmp_path):
    url, log = remote
    assert not connect.is_loopback(url.split("//")[1].split(":")[0])
    monkeypatch.setenv("OPENAI_API_KEY", SENTINEL)
    log.write_text("")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to warn about: no key is sent
        answer = tk.LLM("openai/loopback", api_base=url, folder=tmp_path / "a").complete("hello")
    assert answer.ok and answer.text == "echo: hello"
    [headers] = sent_headers(log)
    assert "Authorization" not in headers and SENTINEL not in json.dumps(headers)


def test_a_key_passed_explicitly_goes_with_one_warning(remote, monkeypatch, tmp_path):
    url, log = remote
    monkeypatch.setattr(connect, "_warned", set())
    log.write_text("")
    with pytest.warns(UserWarning, match="plain http") as caught:
        llm = tk.LLM("openai/loopback", api_base=url, api_key=SENTINEL, folder=tmp_path / "b")
        tk.LLM("openai/loopback", api_base=url, api_key=SENTINEL, folder=tmp_path / "c")
    assert len([w for w in caught if "plain http" in str(w.message)]) == 1
    assert llm.complete("hi").ok
    assert [h.get("Authorization") for h in sent_headers(log)] == [f"Bearer {SENTINEL}"]


def test_an_environment_key_still_reaches_this_machine(server, monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_API_KEY", SENTINEL)
    assert tk.LLM("openai/loopback", api_base=server.url, folder=tmp_path).complete("hi").ok
    assert server.requests[0]["headers"]["Authorization"] == f"Bearer {SENTINEL}"
