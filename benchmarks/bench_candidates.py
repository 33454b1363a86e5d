"""Candidates (a step's n=) cost one request per row where the server honours n, counted at a
loopback server, against the baseline measured in the same run: the same step against a server
that ignores n (llama-cpp-python's, ollama's), which needs one request per candidate.

1. 500 rows, n=4, a server that honours n: requests ÷ rows.               target 1.00
   Baseline: a server that ignores n: requests ÷ rows.                    (≈ 4)
   ratio: requests with n ÷ requests one per candidate.                   target ≤ 0.26
2. Raising n from 4 to 6: requests ÷ rows (only the 2 new ones, in one   target 1.00
   request asking for n=2).
3. The rerun: requests.                                                    target 0
Also printed: the time of each run (latency 20 ms a request, 64 in flight). Exits 1 below target.
Usage: python benchmarks/bench_candidates.py [rows]
"""

import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import pandas as pd  # noqa: E402

import toolkit as tk  # noqa: E402
from tests.loopback import LoopbackServer  # noqa: E402

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 500
PROMPT = "params: {max_tokens: 20, temperature: 0.8}\nmessages:\n  - user: 'Say something about {text}'\n"


def counting():
    numbers = iter(range(10**9))
    return lambda body: f"answer {next(numbers)}"


def run(srv, folder, prompt, df, n):
    """(requests the server got, the n each asked for, seconds, the frame) of one run of the step."""
    llm = tk.LLM("openai/loopback", api_base=srv.url, api_key="k", folder=folder, max_concurrent=64)
    before, start = srv.count, time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the baseline server's "ignores n" warning
        out = tk.Step("b", prompt, llm, n=n).run(df)
    seconds, sent = time.perf_counter() - start, srv.requests[before:]
    return len(sent), {r["body"].get("n", 1) for r in sent}, seconds, out


def main():
    tmp = Path(tempfile.mkdtemp(prefix="bench-candidates-"))
    prompt = tmp / "p.yaml"
    prompt.write_text(PROMPT)
    df = pd.DataFrame({"chunk_id": [f"c{i}" for i in range(ROWS)], "text": [f"item {i}" for i in range(ROWS)]})
    with LoopbackServer(latency=0.02, reply=counting(), n="ignore") as base:
        sent_base, _, t_base, out_base = run(base, tmp / "base", prompt, df, 4)
    with LoopbackServer(latency=0.02, reply=counting(), n="honour") as srv:
        sent, asked, t_n, out = run(srv, tmp / "n", prompt, df, 4)
        raised, asked_raised, t_raised, more = run(srv, tmp / "n", prompt, df, 6)
        again, _, t_again, _ = run(srv, tmp / "n", prompt, df, 6)
    assert len(out) == len(out_base) == 4 * ROWS and len(more) == 6 * ROWS
    assert out["b"].is_unique and (out["b.status"] == "ok").all()
    ratio = sent / sent_base
    print(f"n=4, server honours n   {sent / ROWS:6.2f} requests/row  {t_n:6.2f} s  (target 1.00)")
    print(f"n=4, server ignores n   {sent_base / ROWS:6.2f} requests/row  {t_base:6.2f} s  (baseline)")
    print(f"ratio                   {ratio:6.3f}               (target <= 0.26)")
    print(f"n 4 -> 6                {raised / ROWS:6.2f} requests/row  {t_raised:6.2f} s  "
          f"(target 1.00: the 2 new ones; n asked: {sorted(asked_raised)})")
    print(f"rerun                   {again:6d} requests      {t_again:6.2f} s  (target 0)")
    ok = sent == ROWS and asked == {4} and ratio <= 0.26 and raised == ROWS and asked_raised == {2} and again == 0
    print("PASS" if ok else "BELOW TARGET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
