"""The cache file is the cache, and a recording is the whole of what replay answers from.

Whenever nothing is in flight — a run has ended, an LLM was closed, the process ended — the
`cache.sqlite` file alone holds every answer: copying it, without its `-wal` beside it, copies
the answers. A suspicious user copies the one file and reads it somewhere else.
"""

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import toolkit as tk
from tests.scripted_model import RIGHT, ScriptedModel
from toolkit.llm import CacheMiss

ROOT = Path(__file__).resolve().parent.parent


def copied(folder: Path, to: Path) -> int:
    """Copy only cache.sqlite (not its -wal or -shm) elsewhere; the answers the copy holds."""
    to.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(folder / "cache.sqlite", to / "cache.sqlite")
    db = sqlite3.connect(to / "cache.sqlite")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return db.execute("SELECT count(*) FROM calls").fetchone()[0]
    finally:
        db.close()


def test_after_a_run_the_cache_file_alone_holds_every_answer(server, loopback_llm, prompt, rows, folder, tmp_path):
    llm = loopback_llm(server)
    out = tk.Step("gen", prompt, llm).run(rows(30))
    assert (out["gen.status"] == "ok").all() and server.count == 30
    assert copied(folder, tmp_path / "copy") == 30  # the notebook (and its LLM) is still open
    again = tk.Step("gen", prompt, loopback_llm(server, folder=tmp_path / "copy")).run(rows(30))
    assert again["gen"].tolist() == out["gen"].tolist() and server.count == 30  # all from the copy


def test_closing_an_llm_leaves_the_file_whole(server, loopback_llm, folder, tmp_path):
    llm = loopback_llm(server)
    for i in range(5):
        llm.complete(f"one call at a time {i}")  # no run: nothing checkpoints until close
    llm.close()
    assert copied(folder, tmp_path / "copy") == 5


WRITER = """
import sys
import toolkit as tk
llm = tk.LLM("openai/loopback", api_base=sys.argv[1], api_key="k", folder=sys.argv[2])
for i in range(7):
    llm.complete(f"a script's call {i}")
"""


def test_a_process_that_ends_normally_leaves_the_file_whole(server, folder, tmp_path):
    subprocess.run([sys.executable, "-c", WRITER, server.url, str(folder)], cwd=ROOT, check=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert server.count == 7
    assert copied(folder, tmp_path / "copy") == 7


KILLED = """
import os, signal, sys
import pandas as pd
import toolkit as tk
llm = tk.LLM("openai/loopback", api_base=sys.argv[1], api_key="k", folder=sys.argv[2])
prompt = os.path.join(sys.argv[2], "p.yaml")
with open(prompt, "w") as f:
    f.write('messages:\\n  - user: "{text}"\\n')
tk.Step("gen", prompt, llm).run(pd.DataFrame({"text": [f"row {i}" for i in range(300)]}))
os.kill(os.getpid(), signal.SIGKILL)  # as a kernel is killed when it does not shut down in time
"""


def test_a_process_killed_after_its_run_leaves_the_file_whole(server, folder, tmp_path):
    folder.mkdir()
    proc = subprocess.run([sys.executable, "-c", KILLED, server.url, str(folder)], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == -9 and server.count == 300
    assert copied(folder, tmp_path / "copy") == 300


def test_a_headless_run_leaves_the_file_whole(tmp_path):
    folder = tmp_path / "run"
    with ScriptedModel(RIGHT) as srv:
        subprocess.run([sys.executable, "-m", "toolkit", "run", "notebooks/new_pipeline.ipynb",
                        "-p", "model", "openai/loopback", "-p", "api_base", srv.url, "-p", "folder", str(folder),
                        "-p", "limit", "3"], cwd=ROOT, check=True, capture_output=True, timeout=600,
                       env={**os.environ, "OPENAI_API_KEY": "k", "PYTHONPATH": str(ROOT)})
        sent = srv.count
    assert sent > 0 and copied(folder, tmp_path / "copy") == sent


# -- replay: the recording alone ---------------------------------------------------------------

def test_replay_answers_from_the_recording_alone_not_the_folders_cache(server, loopback_llm, folder, tmp_path):
    live = loopback_llm(server)
    live.complete_many(["in the recording", "only in the folder"], max_tokens=5)
    recording = tmp_path / "rec.jsonl"
    assert live.cache.export(recording) == 2
    lines = [line for line in recording.read_text().splitlines() if "only in the folder" not in line]
    recording.write_text("\n".join(lines) + "\n")
    live.cache.flush()

    replay = loopback_llm(server, replay=recording)  # the same folder: its cache holds both answers
    assert replay.complete("in the recording", max_tokens=5).cached
    with pytest.raises(CacheMiss, match=r"no recorded answer.*'only in the folder'"):
        replay.complete("only in the folder", max_tokens=5)
    step = tk.Step("gen", tk.load_prompt(_prompt(tmp_path)), replay)
    with pytest.raises(CacheMiss, match="step 'gen'"):
        step.run(pd.DataFrame({"text": ["only in the folder"]}))
    assert server.count == 2


def _prompt(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text('params: {max_tokens: 5}\nmessages:\n  - user: "{text}"\n', encoding="utf-8")
    return path


def test_while_a_notebook_is_open_sqlite_backup_copies_every_answer(server, loopback_llm, folder, tmp_path):
    """What docs/durability.md says to do while calls may have arrived since the last run."""
    llm = loopback_llm(server)
    tk.Step("gen", _prompt(tmp_path), llm).run(pd.DataFrame({"text": [f"run {i}" for i in range(5)]}))
    for i in range(3):
        llm.complete(f"since the run {i}")  # committed, not checkpointed: cache.sqlite alone lacks them
    assert copied(folder, tmp_path / "plain") == 5
    sqlite3.connect(folder / "cache.sqlite").backup(sqlite3.connect(tmp_path / "backup.sqlite"))
    assert sqlite3.connect(tmp_path / "backup.sqlite").execute("SELECT count(*) FROM calls").fetchone()[0] == 8
    if shutil.which("sqlite3"):
        subprocess.run(["sqlite3", str(folder / "cache.sqlite"), f".backup {tmp_path / 'cli.sqlite'}"], check=True)
        assert sqlite3.connect(tmp_path / "cli.sqlite").execute("SELECT count(*) FROM calls").fetchone()[0] == 8
    assert llm.cache.export(tmp_path / "rec.jsonl") == 8


def test_an_answer_read_ahead_never_hides_one_stored_since(tmp_path):
    """A step reads a block of cached answers ahead (Cache.prefetch) from the file. An answer put
    before that and not yet committed (on the loop, a put waits up to FLUSH_SECONDS: a batch's
    answers, collected just before the step runs) is what the cache gives, before the commit and
    after it, in this run and the next: never the file's "no answer" read ahead."""
    import asyncio

    from toolkit.llm.cache import Cache

    cache = Cache(tmp_path / "cache.sqlite")

    async def on_the_loop():
        cache.put("k1", "m", [{"role": "user", "content": "hi"}], {}, {"text": "one"})  # pending
        cache.prefetch(["k1", "k2"])  # the file holds neither yet
        assert cache.get("k1") == {"text": "one"}
        cache.flush()  # committed
        assert cache.get("k1") == {"text": "one"}
        cache.prefetch(["k2"])
        cache.put("k2", "m", [{"role": "user", "content": "ho"}], {}, {"text": "two"})  # after the read
        assert cache.get("k2") == {"text": "two"}

    try:
        asyncio.run(on_the_loop())
        assert cache.get("k1") == {"text": "one"} and cache.get("k2") == {"text": "two"}
    finally:
        cache.close()


def test_answers_after_a_full_batch_are_committed_by_their_own_timer(tmp_path):
    """A full batch commits at once and the timer its first answer armed then does nothing (it
    would commit the next batch early). The answers that come next must still be committed within
    the time bound with nothing more arriving: a skeptic reads the file from another connection."""
    import asyncio

    from toolkit.llm.cache import FLUSH_ANSWERS, Cache

    cache = Cache(tmp_path / "cache.sqlite")
    answers = FLUSH_ANSWERS + 3

    def committed() -> int:
        db = sqlite3.connect(tmp_path / "cache.sqlite", timeout=30)
        try:
            return db.execute("SELECT count(*) FROM calls").fetchone()[0]
        finally:
            db.close()

    async def on_the_loop():
        for i in range(answers):
            cache.put(f"k{i}", "m", [{"role": "user", "content": str(i)}], {}, {"text": str(i)})
        assert committed() == FLUSH_ANSWERS  # the full batch, at once; 3 wait for the timer
        for _ in range(600):  # a condition polled with a generous limit, not a race
            if committed() == answers:
                break
            await asyncio.sleep(0.05)
        return committed()

    try:
        assert asyncio.run(on_the_loop()) == answers
        assert not cache._pending
    finally:
        cache.close()
