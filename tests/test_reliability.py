"""Reliability and security, end to end: the README's "What is retried, what is kept, how to resume"
and its promises about keys and escaping, each proven against a real loopback server, real
subprocesses and real files. One test per promise:

faults       1000 rows, 30 % injected faults: every row ends ok or failed with its reason, none lost
             or duplicated, and the client's retry counts equal the server's, fault kind by fault kind
crash        a step SIGKILLed midway: the cache file is intact, the rerun sends exactly the calls
             that had not finished
two writers  two processes on one cache file at once: no corruption, no lost response, and a replay
             of both sends nothing
bad input    each bad input gives a message naming its cause, before any request where it can
big file     50 MB without a newline loads and chunks within the limit in seconds
secrets      a sentinel API key reaches the server and no file: run folder, exports, executed
             notebook, recordings
escaping     HTML payloads from files and from model answers are inert in every viewer widget
"""

import collections
import functools
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import ipywidgets as W
import pandas as pd
import pytest

import toolkit as tk
from tests.loopback import Fault, LoopbackServer
from toolkit.llm.cache import FLUSH_ANSWERS, call_key
from toolkit.prompts import PromptError
from toolkit.texts import TextError

ROOT = Path(__file__).resolve().parent.parent
SENTINEL = "sk-SENTINEL-reliability-7f3a9c"
XSS = ["<img src=x onerror=alert(1)>", "<script>alert(1)</script>", '"><svg onload=alert(1)>']
TRANSPORT_FAULTS = ("429", "500", "hang", "malformed", "drop")  # retried inside LLM.call
FEEDBACK_FAULTS = ("empty", "length")  # answered, then fed back by the step: a new call each
# A call past this is a hang: far beyond any answer of the in-process server, however loaded the
# machine (a client timeout on a request the server has not read yet is a retry it never sees).
# A hang is held until the client gives up, so each one costs TIMEOUT, not a race against it.
TIMEOUT = 10.0


def body_key(body) -> str:
    return json.dumps(body["messages"], sort_keys=True)


# -- faults ----------------------------------------------------------------------------------------

class FirstSightFaults:
    """Deterministic over the request index (one seeded draw per index). A fault hits only the
    first arrival of a request body, so a retried call is answered; rows whose text says "always"
    are faulted every time, so some rows must end failed."""

    def __init__(self, rate: float, seed: int = 7):
        self.rate, self.seed = rate, seed
        self.seen: set[str] = set()
        self.by_index: dict[int, Fault] = {}

    def __call__(self, index: int, body: dict) -> Fault | None:
        row = body["messages"][1]["content"]  # the row's text, in every attempt of its row
        if row.startswith("always-500"):
            return Fault("500")
        if row.startswith("always-empty"):
            return Fault("empty")
        key = body_key(body)
        if key in self.seen:
            return None
        self.seen.add(key)
        draw = random.Random(self.seed * 1_000_003 + index)
        if draw.random() >= self.rate:
            return None
        kind = draw.choice(TRANSPORT_FAULTS + FEEDBACK_FAULTS)
        fault = Fault(kind, retry_after=draw.choice([0, 0.5, 1]) if kind == "429" else None,
                      seconds=60 * TIMEOUT if kind == "hang" else None)
        self.by_index[index] = fault
        return fault


def test_faults_every_row_ends_ok_or_failed_and_retries_match_the_server(prompt, loopback_llm, rows):
    df = rows(995)
    df = pd.concat([df, pd.DataFrame({"chunk_id": ["a500-0", "a500-1", "aempty-0", "aempty-1", "aempty-2"],
                                      "text": ["always-500 0", "always-500 1", "always-empty 0",
                                               "always-empty 1", "always-empty 2"]})], ignore_index=True)
    faults = FirstSightFaults(rate=0.30)

    def row_echo(body):  # the row's text, also after feedback (the default echoes the feedback)
        return "echo: " + body["messages"][1]["content"]

    with LoopbackServer(latency=0.005, faults=faults, reply=row_echo) as srv:
        llm = loopback_llm(srv, timeout=TIMEOUT, max_concurrent=32)
        step = tk.Step("s", prompt, llm, max_retries=2)
        out = step.run(df)
        requests, c = srv.requests, srv.counts_by_fault()

        # Kept: every input row once, in order, ok or failed with a reason; ok answers are whole.
        assert out["chunk_id"].tolist() == df["chunk_id"].tolist()
        assert set(out["s.status"]) <= {"ok", "failed"}
        ok, failed = out[out["s.status"] == "ok"], out[out["s.status"] == "failed"]
        assert (ok["s"] == "echo: " + ok["text"]).all() and ok["s.error"].isna().all()
        assert failed["s.error"].str.len().gt(0).all()
        always = failed[failed["text"].str.startswith("always")].set_index("chunk_id")
        assert sorted(always.index) == ["a500-0", "a500-1", "aempty-0", "aempty-1", "aempty-2"]
        for cid in ("a500-0", "a500-1"):
            assert always.loc[cid, "s.error"].startswith("server: HTTP 500")
            assert always.loc[cid, "s.error"].endswith("after 6 attempt(s)")
        for cid in ("aempty-0", "aempty-1", "aempty-2"):
            assert always.loc[cid, "s.error"] == "the answer was empty"
            assert always.loc[cid, "s.attempts"] == 3 and always.loc[cid, "s.raw"] == ""
        assert set(failed["s.error"]) - set(always["s.error"]) <= {
            "the answer was empty", "the answer was cut off at max_tokens; answer more briefly"}

        # The faults really were ~30 % of first sights, and every kind occurred.
        firsts = len(faults.seen)
        assert 0.25 < len(faults.by_index) / firsts < 0.35
        kinds = collections.Counter(f.kind for f in faults.by_index.values())
        assert all(kinds[k] >= 15 for k in TRANSPORT_FAULTS + FEEDBACK_FAULTS), kinds

        # Exact accounting, client against server, by fault kind.
        u = llm.usage
        attempts = int(out["s.attempts"].sum())  # step-level calls, feedback retries included
        assert len(requests) == attempts + u.retries
        assert u.retries + u.failures == sum(c[k] for k in TRANSPORT_FAULTS)
        assert u.failures == 2  # the two always-500 calls, each after 6 attempts
        assert attempts == len(ok) + c["empty"] + c["length"] + u.failures
        assert c["ok"] == len(ok) == u.calls - c["empty"] - c["length"]
        assert u.retries < llm.retry.budget

        # Per call: a transport fault costs exactly one retry of the same body, honouring Retry-After.
        by_body = collections.defaultdict(list)
        for index, r in enumerate(requests):
            by_body[body_key(r["body"])].append(index)
        for indexes in by_body.values():
            kinds_seen = [requests[i]["fault"] or "ok" for i in indexes]
            if kinds_seen[0] in TRANSPORT_FAULTS and len(set(kinds_seen)) > 1:
                assert kinds_seen == [kinds_seen[0], "ok"], kinds_seen
                fault = faults.by_index[indexes[0]]
                if fault.kind == "429":
                    waited = requests[indexes[1]]["time"] - requests[indexes[0]]["time"]
                    assert waited >= fault.retry_after, (fault, waited)
            elif kinds_seen[0] != "500":
                assert len(kinds_seen) == 1, kinds_seen  # answered once, never sent again

        # Resume: the rerun replays every answered call from the cache, including the empty and
        # truncated answers behind failed rows; only the calls that failed in transport are sent.
        before = srv.count
        again = tk.Step("s", prompt, loopback_llm(srv, timeout=TIMEOUT, max_concurrent=32),
                        max_retries=2).run(df)
        assert srv.count - before == 2 * 6  # the two always-500 rows, 6 attempts each
        cols = ["chunk_id", "s", "s.status", "s.error", "s.attempts"]
        assert again[cols].fillna("").equals(out[cols].fillna(""))


# -- crash -----------------------------------------------------------------------------------------

KILLED = """
import sys, pandas as pd, toolkit as tk
llm = tk.LLM("openai/loopback", api_base=sys.argv[1], api_key="k", folder=sys.argv[2], max_concurrent=8)
step = tk.Step("s", sys.argv[3], llm)
df = pd.DataFrame({"text": [f"crash {i}" for i in range(500)]})
print("start", flush=True)
step.run(df)
print("finished", flush=True)
"""


def test_sigkill_midway_then_rerun_sends_only_the_calls_that_had_not_finished(folder, prompt, loopback_llm):
    # Event-driven: 200 calls are answered, the next 8 (max_concurrent) are held at the server, so
    # the kill always lands mid-run with 8 calls in flight, however loaded the machine is.
    with LoopbackServer(latency=0.02) as srv:
        srv.hold(from_index=200)
        proc = subprocess.Popen([sys.executable, "-c", KILLED, srv.url, str(folder), str(prompt)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline().strip() == "start", proc.stderr.read()
            srv.wait_for(200 + 8)
            assert srv.held == 8
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=30)
            srv.release()  # the held handlers answer a dead client; the rerun is not held
        assert proc.returncode == -signal.SIGKILL
        seen = srv.requests
        assert len(seen) == 208  # a client stuck on 8 held calls sent nothing more

        db = sqlite3.connect(folder / "cache.sqlite")
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        stored = {json.dumps(json.loads(r)["messages"], sort_keys=True)
                  for (r,) in db.execute("SELECT request FROM calls")}
        db.close()
        sent = {body_key(r["body"]) for r in seen}
        assert stored <= sent and len(sent) == len(seen)
        unfinished = sent - stored  # reached the server, answer never stored: in flight at the kill
        assert len(unfinished) <= 8 + FLUSH_ANSWERS  # in flight + the durability window (cache.py)

        rerun = loopback_llm(srv)
        out = tk.Step("s", prompt, rerun).run(pd.DataFrame({"text": [f"crash {i}" for i in range(500)]}))
        resent = {body_key(r["body"]) for r in srv.requests[len(seen):]}
        assert (out["s.status"] == "ok").all() and (out["s"] == "echo: " + out["text"]).all()
        assert srv.count - len(seen) == 500 - len(stored) == len(resent)
        assert resent.isdisjoint(stored) and unfinished <= resent
        assert rerun.usage.cache_hits == len(stored) and len(rerun.cache) == 500


# -- two writers -----------------------------------------------------------------------------------

WRITER = """
import json, sys, pandas as pd, toolkit as tk
url, run, prompt, rows = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
llm = tk.LLM("openai/loopback", api_base=url, api_key="k", folder=run, max_concurrent=8)
step = tk.Step("s", prompt, llm)
df = pd.DataFrame({"text": [f"shared {i}" for i in rows]})
print("ready", flush=True)
sys.stdin.readline()
out = step.run(df)
print(json.dumps({"ok": int((out["s.status"] == "ok").sum()),
                  "right": bool((out["s"] == "echo: " + df["text"]).all()),
                  "calls": llm.usage.calls, "hits": llm.usage.cache_hits}), flush=True)
"""


def test_two_processes_on_one_cache_lose_nothing_and_corrupt_nothing(folder, prompt, loopback_llm):
    rows_a, rows_b = list(range(0, 400)), list(range(599, 199, -1))  # overlap 200..399, met head-on
    with LoopbackServer(latency=0.01) as srv:
        procs = [subprocess.Popen([sys.executable, "-c", WRITER, srv.url, str(folder), str(prompt),
                                   json.dumps(rows)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
                 for rows in (rows_a, rows_b)]
        try:
            for p in procs:
                assert p.stdout.readline().strip() == "ready", p.stderr.read()
            for p in procs:  # both start together
                p.stdin.write("go\n")
                p.stdin.flush()
            results = []
            for p in procs:
                out, err = p.communicate(timeout=120)
                assert p.returncode == 0, err[-3000:]
                results.append(json.loads(out.strip().splitlines()[-1]))
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
        a, b = results
        assert (a["ok"], b["ok"]) == (400, 400) and a["right"] and b["right"]
        assert a["calls"] + b["calls"] == srv.count  # every request sent was answered and counted
        assert a["calls"] + a["hits"] == 400 and b["calls"] + b["hits"] == 400
        assert 600 <= srv.count <= 800

        db = sqlite3.connect(folder / "cache.sqlite")
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert db.execute("SELECT count(*), count(DISTINCT key) FROM calls").fetchone() == (600, 600)
        stored = dict(db.execute("SELECT key, response FROM calls"))
        db.close()
        step = tk.Step("s", prompt, loopback_llm(srv))
        for i in range(600):
            messages = step.prompt.render({"text": f"shared {i}"})
            response = json.loads(stored[call_key("openai/loopback", messages, step.params)])
            assert response["text"] == f"echo: shared {i}"
        manifest = [json.loads(line) for line in (folder / "manifest.jsonl").read_text().splitlines()]
        assert [m["rows"] for m in manifest] == [400, 400]

        before = srv.count
        replay = loopback_llm(srv, cache="replay")
        for rows in (rows_a, rows_b):
            out = tk.Step("s", prompt, replay).run(pd.DataFrame({"text": [f"shared {i}" for i in rows]}))
            assert (out["s.status"] == "ok").all()
        assert srv.count == before and replay.usage.cache_hits == 800


# -- bad input -------------------------------------------------------------------------------------

def _missing_folder(tmp_path, llm, folder, prompt, rows):
    tk.load_texts(tmp_path / "no-such-folder")


def _empty_folder(tmp_path, llm, folder, prompt, rows):
    (tmp_path / "empty").mkdir()
    tk.load_texts(tmp_path / "empty")


def _binary_file(tmp_path, llm, folder, prompt, rows):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    tk.load_texts(tmp_path / "data")


def _invalid_utf8(tmp_path, llm, folder, prompt, rows):
    (tmp_path / "latin1.txt").write_bytes("line one\nna\xefve caf\xe9".encode("latin-1"))
    tk.load_texts(tmp_path / "latin1.txt")


def _malformed_yaml(tmp_path, llm, folder, prompt, rows):
    (tmp_path / "bad.yaml").write_text("params: {max_tokens: 40}\nmessages:\n  - user: [unclosed\n")
    tk.Step("s", tmp_path / "bad.yaml", llm())


def _missing_placeholder(tmp_path, llm, folder, prompt, rows):
    tk.Step("s", prompt, llm()).run(pd.DataFrame({"chunk_id": ["c0"], "body": ["x"]}))


def _unknown_model(tmp_path, llm, folder, prompt, rows):
    tk.LLM("nosuchprovider/some-model", folder=folder)


def _no_api_key(tmp_path, llm, folder, prompt, rows):
    tk.LLM("anthropic/claude-3-5-haiku-latest", folder=folder)


def _key_as_step_parameter(tmp_path, llm, folder, prompt, rows):
    tk.Step("s", prompt, llm(), api_key="sk-leak").run(rows(3, "r"))


def _unknown_cache_mode(tmp_path, llm, folder, prompt, rows):
    llm(cache="replya")


BAD_INPUTS = {  # cause -> (exception, exact message pattern); none may send a request
    "missing folder": (_missing_folder, TextError,
                       r"no-such-folder: no such file or folder \(resolved to /.*relative paths start "
                       r"from the working directory\)\.$"),
    "empty folder": (_empty_folder, TextError,
                     r"empty: no files match \['\*\.txt', .*\]; it has no files \(hidden ones are not "
                     r"searched\)\. Choose files with patterns=, e\.g\. patterns=\['\*\.txt'\]\.$"),
    "binary file": (_binary_file, TextError,
                    r"photo\.txt: looks like a binary file \(it contains NUL bytes\), not text\. Leave it "
                    r"out with patterns=.*encoding='utf-16'\.$"),
    "invalid UTF-8": (_invalid_utf8, TextError,
                      r"latin1\.txt: not valid utf-8 at byte offset 11 \(line 2, bytes b'\\xefve '\)\. If the "
                      r"file uses another encoding, pass it: load_texts\(\.\.\., encoding='cp1252'\)\.$"),
    "malformed prompt YAML": (_malformed_yaml, PromptError, r"bad\.yaml, line \d+: not valid YAML \(.+\)$"),
    "missing placeholder": (_missing_placeholder, PromptError,
                            r"echo\.yaml, line 4: placeholder \{text\} has no value\. The step's inputs are: "
                            r"chunk_id, body\. Add a column or pass text=\.\.\. to run\(\)"),
    "unknown model name": (_unknown_model, ValueError,
                           r"^unknown model 'nosuchprovider/some-model': litellm cannot tell its provider\."),
    "provider with no API key": (_no_api_key, ValueError,
                                 r"^model 'anthropic/claude-3-5-haiku-latest' needs an API key: set "
                                 r"ANTHROPIC_API_KEY in the environment \(or pass api_key=\)"),
    "key passed as a step parameter": (_key_as_step_parameter, ValueError,
                                       r"^api_key belong to LLM\(\.\.\.\), not to a call: they would leak "
                                       r"into the cache key$"),
    "unknown cache mode": (_unknown_cache_mode, ValueError,
                           r"^cache mode 'replya' is not one of use, replay, refresh, off$"),
}


@pytest.mark.parametrize("cause", list(BAD_INPUTS))
def test_bad_input_names_its_cause_before_any_request(cause, tmp_path, server, folder, prompt, monkeypatch,
                                                      loopback_llm, rows):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    make, error, message = BAD_INPUTS[cause]
    with pytest.raises(error, match=message) as caught:
        make(tmp_path, functools.partial(loopback_llm, server), folder, prompt, rows)
    assert type(caught.value) is error  # the toolkit's own error, not a library's traceback
    assert server.count == 0


def test_a_parser_or_validator_that_raises_fails_its_row_with_the_exception_named(server, prompt, loopback_llm, rows):
    """Any exception from user code is caught per row, named, and fed back like a ParseError (the
    model may have answered in a shape the code did not expect), up to max_retries."""
    def parse(text):
        return {"question": json.loads(text)["question"]}  # the echo is not JSON: JSONDecodeError

    def validate(value, row):
        return value["missing"]  # KeyError

    out = tk.Step("p", prompt, loopback_llm(server), parse=parse, max_retries=1).run(
        rows(3, "r"))
    assert (out["p.status"] == "failed").all() and (out["p.attempts"] == 2).all()
    assert set(out["p.error"]) == {"parser raised JSONDecodeError: Expecting value: line 1 column 1 (char 0)"}
    assert out["p.raw"].str.startswith("echo: ").all() and server.count == 6
    feedback = server.requests[-1]["body"]["messages"][-1]["content"]
    assert feedback.startswith("Your answer could not be used: parser raised JSONDecodeError")

    out = tk.Step("v", prompt, loopback_llm(server), parse=lambda t: {"answer": t},
                  validate=validate, max_retries=0).run(rows(3, "r"))
    assert set(out["v.error"]) == {"validator raised KeyError: 'missing'"} and (out["v.attempts"] == 1).all()
    assert server.count == 6  # the same first calls as above: cached, nothing sent


def test_a_dead_or_wrong_endpoint_fails_rows_with_the_reason_and_404_is_not_retried(folder, prompt, rows):
    dead = tk.LLM("openai/loopback", api_base="http://127.0.0.1:9/v1", api_key="k", folder=folder,
                  retry=tk.llm.Retry(max_attempts=3, base_delay=0.01, max_delay=0.05))
    out = tk.Step("s", prompt, dead).run(rows(4, "r"))
    assert (out["s.status"] == "failed").all()
    assert out["s.error"].str.match(r"connection: ConnectionRefusedError.*after 3 attempt\(s\)$").all()
    assert dead.usage.retries == 8 and dead.usage.failures == 4 and len(dead.cache) == 0
    with LoopbackServer(latency=0) as srv:
        wrong = tk.LLM("openai/loopback", api_base=srv.url + "/wrong", api_key="k", folder=folder / "w")
        out = tk.Step("s", prompt, wrong).run(rows(2, "r"))
    assert out["s.error"].str.match(r"not_found: HTTP 404: .*after 1 attempt\(s\)$").all()
    assert wrong.usage.retries == 0


# -- a 50 MB file without a newline ----------------------------------------------------------------

BIG = """
import json, resource, sys, time
import tiktoken, toolkit as tk
start = time.process_time()  # CPU seconds, not wall time: the same on a loaded machine
chunks = tk.chunk(tk.load_texts(sys.argv[1]), max_tokens=1500)
seconds = time.process_time() - start
text = open(sys.argv[1], encoding="utf-8").read()
encoding = tiktoken.get_encoding("cl100k_base")
gaps = [text[e:s] for e, s in zip([0, *chunks["end"][:-1]], chunks["start"])] + [text[chunks["end"].iat[-1]:]]
print(json.dumps({
    "seconds": seconds, "chunks": len(chunks), "max_tokens": int(chunks["tokens"].max()),
    "mean_tokens": float(chunks["tokens"].mean()),
    "exact": all(text[s:e] == t for s, e, t in zip(chunks["start"], chunks["end"], chunks["text"])),
    "only_spaces_between": all(not g.strip() for g in gaps),
    "counts_true": all(len(encoding.encode_ordinary(t)) == n
                       for t, n in zip(chunks["text"][::50], chunks["tokens"][::50])),
    "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def test_a_50_mb_file_without_a_newline_loads_and_chunks_within_the_limit(tmp_path):
    """One 50 MB line: 25 MB of sentences, 25 MB of words without a sentence end, 200 kB without a
    space. Before the fix in toolkit/chunking.py (a piece per word, each counted alone) this took
    20 s and 2 GB; 50 MB of words alone took 46 s and 3.2 GB, 50 MB without a space 114 s."""
    rng = random.Random(3)
    words = "the river ran past a quiet village where nobody remembered the name of the old mill".split()
    sentences = " ".join(" ".join(rng.choice(words) for _ in range(rng.randint(4, 30))).capitalize()
                         + rng.choice([".", "!", "?", ";"]) for _ in range(12_000))[:1_000_000]
    no_ends = " ".join(rng.choice(words) for _ in range(200_000))[:1_000_000]
    no_spaces = "".join(rng.choice("abcdefghij0123456789+/") for _ in range(200_000))
    path = tmp_path / "one_line.txt"
    path.write_text(" ".join([sentences] * 25 + [no_ends] * 25 + [no_spaces]), encoding="utf-8")
    assert path.stat().st_size > 50_000_000 and b"\n" not in path.read_bytes()
    out = subprocess.run([sys.executable, "-c", BIG, str(path)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["exact"] and r["only_spaces_between"] and r["counts_true"]
    assert r["max_tokens"] <= 1500 and r["mean_tokens"] > 1300  # chunks stay nearly full
    assert r["seconds"] < 20 and r["rss_mb"] < 1500, r  # measured: 5.5 s CPU and 530 MB on 2 cores


# -- secrets ---------------------------------------------------------------------------------------

def test_a_sentinel_key_is_used_and_written_nowhere(tmp_path, folder, prompt_file, rows, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SENTINEL)
    answer = "Q: What does the front matter list?\nA: The document revisions."
    with LoopbackServer(latency=0, reply=lambda body: answer) as srv:
        # In-process: the key from the environment (direct transport) and given (litellm transport).
        llm = tk.LLM("openai/loopback", api_base=srv.url, folder=folder)
        prompt = prompt_file(name="qa.yaml")
        out = tk.Step("qa", prompt, llm, parse=r"Q: (.*)").run(rows(4, "c"))
        viewer = tk.show(out, left="text", right="qa", folder=folder)
        viewer.label("good", note="fine")
        kept, _ = tk.keep(tk.labels(out, folder), steps=["qa"])
        pairs = tk.sharegpt(kept, human="{qa}", gpt="{qa.raw}")
        tk.export_jsonl(pairs, folder / "pairs.sharegpt.jsonl")
        tk.export_jsonl(pairs, folder / "pairs.openai.jsonl", format="openai")
        tk.export_hf(pairs, folder / "hf", card={"model": llm.model, "prompt": str(prompt)})
        via_litellm = tk.LLM("openai/loopback", api_base=srv.url, api_key=SENTINEL, transport="litellm",
                             folder=folder)
        assert via_litellm.complete("through litellm", max_tokens=30).ok
        recordings = tmp_path / "recordings" / "run.jsonl"
        recordings.parent.mkdir()
        assert llm.cache.export(recordings) == 5
        assert SENTINEL not in repr(llm) + repr(out.attrs) + out.to_json()

        # Headless notebook run with the key in the environment.
        notebook = subprocess.run(
            [sys.executable, "-m", "toolkit", "run", "notebooks/new_pipeline.ipynb", "-p", "model",
             "openai/loopback", "-p", "api_base", srv.url, "-p", "folder", str(folder), "-p", "limit", "3"],
            cwd=ROOT, capture_output=True, text=True, timeout=600,
            env={**os.environ, "OPENAI_API_KEY": SENTINEL})
        assert notebook.returncode == 0, notebook.stderr[-3000:]
        headers = [r["headers"].get("Authorization") for r in srv.requests]
    assert len(headers) >= 4 + 1 + 3 and set(headers) == {f"Bearer {SENTINEL}"}  # the key was used
    assert SENTINEL not in notebook.stdout + notebook.stderr

    files = [p for p in folder.rglob("*") if p.is_file()] + [recordings]
    files += [p for p in (ROOT / "notebooks" / "recordings").rglob("*") if p.is_file()]
    names = {p.name for p in files}
    for expected in ("cache.sqlite", "manifest.jsonl", "review.sqlite", "pairs.sharegpt.jsonl",
                     "pairs.openai.jsonl", "dataset_info.json", "README.md", "new_pipeline.ipynb",
                     "run.jsonl"):
        assert expected in names, f"{expected} was not written, so it was not checked"
    assert any(p.suffix == ".arrow" for p in files)
    assert any(n.startswith("new_pipeline") and n.endswith(".jsonl") for n in names)  # the notebook's export
    leaks = [str(p) for p in files if SENTINEL.encode() in p.read_bytes()]
    assert leaks == []


# -- escaping --------------------------------------------------------------------------------------

def html_values(widget) -> list[str]:
    """Every string a widget in the tree hands to the browser as HTML."""
    values = []
    if isinstance(widget, (W.HTML, W.HTMLMath)):
        values.append(widget.value)
    if getattr(widget, "description_allow_html", False):
        values.append(widget.description)
    for child in getattr(widget, "children", ()):
        values += html_values(child)
    return values


def assert_inert(values: list[str], seen: list[str]) -> None:
    """No payload, nor the start of its tag, in any HTML value; the values are kept in `seen`."""
    for value in values:
        for payload in XSS:
            assert payload not in value, value
        for tag in ("<img", "<script", "<svg"):
            assert tag not in value.lower(), value
    seen += values


def test_html_payloads_from_files_and_model_answers_are_escaped_in_every_widget(tmp_path, folder, prompt, loopback_llm):
    data = tmp_path / "data"
    data.mkdir()
    filler = "and some plain words around it " * 5
    paragraphs = [f"Paragraph {i}: {p} {filler}end." for i, p in enumerate(XSS * 2)]
    (data / "payloads.txt").write_text("\n\n".join(paragraphs))
    (data / f"{XSS[0]}.md").write_text(f"A file named after a payload. {XSS[1]}")
    (data / f"{XSS[2]}.txt").write_text("Another file named after a payload.")
    chunks = tk.chunk(tk.load_texts(data), max_tokens=60)  # one paragraph, so one whole payload, a chunk
    assert chunks["source"].str.contains("<img").any() and chunks["text"].str.contains("<script>").any()

    def reply_a(body):
        user = body["messages"][-1]["content"]
        return f"{XSS[len(user) % 3]} answer to: {user}"

    def reply_b(body):
        return f"{XSS[2]} {XSS[0]} other answer: " + body["messages"][-1]["content"][::-1]

    def validate(value, row):  # fails some rows with a message quoting the answer
        return f"rejected {value[:40]}" if row["position"] % 2 or row["source"].endswith(".md") else None

    with LoopbackServer(latency=0, reply=reply_a) as srv:
        a = tk.Step("rw", prompt, loopback_llm(srv), validate=validate, max_retries=0).run(chunks)
        srv.reply = reply_b
        b = tk.Step("rw", prompt, loopback_llm(srv, folder=folder / "b")).run(chunks)
    assert set(a["rw.status"]) == {"ok", "failed"}

    # The review widgets hand the page no HTML at all: every text goes in as a JSON string that the
    # front-end sets with textContent (the browser test shows the payloads inert in Chromium).
    from toolkit.review.front import ESM
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"):
        assert sink not in ESM
    seen: list[str] = []
    viewer = tk.show(a, left="text", right="rw", folder=folder)
    for view in ("diff", "plain"):
        viewer.set_filter(view=view)
        for i in range(len(a)):
            viewer.go(i)
            if i == 0:
                viewer.label("bad", note=XSS[0])
            assert_inert(html_values(viewer), seen)
            seen.append(json.dumps(viewer.view, ensure_ascii=False))
    viewer.set_filter(search="onerror")
    assert_inert(html_values(viewer), seen)

    comparison = tk.compare(a, b, "rw")
    assert comparison.counts["changed"] > 0
    for show in ("all", "changed", "newly failed"):
        comparison.set_filter(show)
        for i in range(comparison.view["n"]):
            comparison.go(i)
            assert_inert(html_values(comparison), seen)
            seen.append(json.dumps(comparison.view, ensure_ascii=False))
    shown = "".join(seen)
    assert all(json.dumps(p, ensure_ascii=False)[1:-1] in shown for p in XSS), \
        "a payload was never shown, so never checked"

