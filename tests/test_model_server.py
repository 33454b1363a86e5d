"""A pipeline notebook against a real model server (llama-cpp-python's, on the embedded weights).

The loopback server checks the protocol with scripted answers; these tests check what a user sees
with a real server: a headless run through `api_base`, the rerun served from the cache, and a
server that dies mid-run and comes back. The model is tiny (≈ 60 tokens/s on 2 cores), so every
run is three rows of a one-sentence summary.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROWS = 3


def command(url: str, folder: Path) -> list[str]:
    return [sys.executable, "-m", "toolkit", "run", "notebooks/new_pipeline.ipynb",
            "-p", "model", "openai/smollm2", "-p", "api_base", url, "-p", "folder", str(folder),
            "-p", "limit", str(ROWS)]


def run_notebook(url: str, folder: Path) -> subprocess.CompletedProcess:
    out = subprocess.run(command(url, folder), cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    return out


def manifest(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "manifest.jsonl").read_text().splitlines()]


def usage(entries: list[dict], key: str) -> int:
    """One run of the notebook runs its step twice (the first draft, then the edited prompt)."""
    return sum(e["usage"][key] for e in entries)


def test_notebook_end_to_end_then_from_the_cache(model, tmp_path):
    out = run_notebook(model.url, tmp_path)
    first = manifest(tmp_path)
    assert [e["step"] for e in first] == ["first", "first"]  # the draft, then the edited prompt
    assert all(e["model"] == "openai/smollm2" and e["rows"] == ROWS for e in first)
    # a request per row, more on feedback; on a loaded machine a request may wait in the server's
    # queue past LLM(timeout=) and be sent again: the client gave it up (the proxy's status None)
    retried = usage(first, "retries")
    assert usage(first, "calls") + retried == model.proxy.count >= 2 * ROWS
    assert model.proxy.peak >= 2, "the rows were sent one at a time"
    given_up = [r for r in model.proxy.requests if r["status"] is None]
    assert len(given_up) <= retried
    assert all(r["status"] == 200 and r["body"]["model"] == "smollm2" for r in model.proxy.requests if r["status"])
    assert usage(first, "completion_tokens") > 0
    last = first[-1]
    assert f"step first: {ROWS} rows, {last['ok']} ok, {last['failed']} failed" in out.stdout
    assert (tmp_path / "new_pipeline.sharegpt.jsonl").exists()

    model.proxy.reset()
    run_notebook(model.url, tmp_path)
    again = manifest(tmp_path)[len(first):]
    assert model.proxy.count == 0, "the rerun sent requests instead of reading the cache"
    assert usage(again, "cache_hits") == usage(first, "calls")
    assert [(e["ok"], e["failed"]) for e in again] == [(e["ok"], e["failed"]) for e in first]


def test_server_killed_mid_run_then_restarted_rerun_sends_only_missing_calls(model, tmp_path):
    model.proxy.hold_after(2)
    run = subprocess.Popen(command(model.url, tmp_path), cwd=ROOT, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        # two answers are back and later requests wait in the proxy: kill the server now
        model.proxy.wait_for(lambda p: p.answered == 2 and p.held >= 1)
        model.kill()
        model.proxy.release()  # the held requests meet a dead server, as in-flight ones would
        stdout, stderr = run.communicate(timeout=600)
    finally:
        run.kill()
    assert run.returncode == 0, stdout[-2000:] + stderr[-3000:]
    answered = set(model.proxy.bodies(200))
    lost = set(model.proxy.bodies("dropped"))
    assert len(answered) == 2 and lost, "the kill did not land mid-run"
    broken = manifest(tmp_path)
    assert sum(e["failed"] for e in broken) >= 1 and usage(broken, "failures") >= 1

    model.start()
    model.proxy.reset()
    run_notebook(model.url, tmp_path)
    resent = model.proxy.bodies(None)
    assert not answered & set(resent), "a call answered before the kill was sent again"
    assert lost <= set(resent), "a call lost in the kill was not sent again"
    again = model.proxy.bodies(200)
    assert len(again) == len(set(again)), f"the model answered a call twice: {model.proxy.statuses()}"
    healed = manifest(tmp_path)[len(broken):]
    assert usage(healed, "failures") == 0 and usage(healed, "cache_hits") >= 2


def test_the_server_is_a_real_llama_cpp_server(model):
    """Not the loopback server in disguise: /v1/models names the GGUF-backed alias."""
    import urllib.request

    with urllib.request.urlopen(model.url + "/models", timeout=10) as r:
        ids = [m["id"] for m in json.load(r)["data"]]
    assert ids == ["smollm2"]
    assert model.process.poll() is None and "llama_cpp.server" in " ".join(model.process.args)
    assert os.path.exists(model.process.args[model.process.args.index("--model") + 1])
