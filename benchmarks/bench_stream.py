"""tk.stream over a 1 M-row Parquet input: the peak RSS of the streaming process.  target < 1 GB

The run folder's cache is primed with answers for all but the first LIVE rows (a resumed run, as
after a crash), so the million rows finish in minutes on a 2-core machine while LIVE rows still go
over HTTP to the loopback server (its own process). The stream runs in a fresh process; its peak
RSS (VmHWM) is compared with what `Step.run` would need just to hold the input and output frames.
Usage: python benchmarks/bench_stream.py [rows]
"""

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

import toolkit as tk  # noqa: E402
from toolkit.llm.cache import Cache, call_key  # noqa: E402

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
LIVE = 20_000
PROMPT = "params: {max_tokens: 40}\nmessages:\n  - user: 'Rewrite: {text}'\n"

CHILD = """
import sys, time, toolkit as tk
from pathlib import Path
llm = tk.LLM("openai/loopback", api_base=sys.argv[1], api_key="k", folder=sys.argv[2], max_concurrent=64)
start = time.perf_counter()
out = tk.stream(sys.argv[3], tk.Step("s", sys.argv[4], llm), shard_rows=10_000)
seconds = time.perf_counter() - start
peak = next(int(l.split()[1]) for l in Path("/proc/self/status").read_text().splitlines()
            if l.startswith("VmHWM:"))
print(seconds, peak, llm.usage.calls, llm.usage.cache_hits, out)
"""


def main():
    tmp = Path(tempfile.mkdtemp(prefix="bench-stream-"))
    prompt, source, folder = tmp / "p.yaml", tmp / "chunks.parquet", tmp / "run"
    prompt.write_text(PROMPT)
    df = pd.DataFrame({"chunk_id": [f"c{i}" for i in range(ROWS)],
                       "text": [f"chunk {i} of a corpus of short texts" for i in range(ROWS)]})
    df.to_parquet(source, row_group_size=50_000)
    frames_mb = df.memory_usage(deep=True).sum() / 2**20

    start = time.perf_counter()
    step = tk.Step("s", prompt, tk.LLM("openai/loopback", api_base="http://127.0.0.1:9/v1", folder=folder))
    cache = Cache(folder / "cache.sqlite")
    for text in df["text"].iloc[LIVE:]:
        messages = step.prompt.render({"text": text})
        cache.put(call_key("openai/loopback", messages, step.params), "openai/loopback", messages,
                  step.params, {"text": f"echo: Rewrite: {text}", "reasoning": "", "finish_reason": "stop",
                                "prompt_tokens": 8, "completion_tokens": 9, "cost": None, "seconds": 0.0})
    cache.close()
    primed = time.perf_counter() - start
    del df

    srv = subprocess.Popen([sys.executable, "-m", "tests.loopback", "--port", "0", "--latency", "0"],
                           cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        url = srv.stdout.readline().strip()
        out = subprocess.run([sys.executable, "-c", CHILD, url, str(folder), str(source), str(prompt)],
                             capture_output=True, text=True, check=False,
                             env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    finally:
        srv.terminate()
        srv.wait()
    assert out.returncode == 0, out.stderr[-3000:]
    seconds, peak_kb, calls, hits, shards = out.stdout.split()[-5:]
    result = pd.read_parquet(shards, columns=["s.status"])
    ok_rows = int((result["s.status"] == "ok").sum())
    shutil.rmtree(tmp, ignore_errors=True)

    peak_mb = int(peak_kb) / 1024
    print(f"rows {ROWS} ({LIVE} over HTTP, {int(hits)} from the primed cache; priming took {primed:.0f} s)")
    print(f"streamed run {float(seconds):.0f} s, {int(calls)} calls, {ok_rows} rows ok in the shards")
    print(f"peak RSS of the streaming process {peak_mb:6.0f} MB   (target < 1024 MB; the input frame "
          f"alone is {frames_mb:.0f} MB in memory)")
    print("PASS" if peak_mb < 1024 and ok_rows == ROWS else "BELOW TARGET")
    print(json.dumps({"rows": ROWS, "peak_rss_mb": round(peak_mb), "seconds": round(float(seconds))}))


if __name__ == "__main__":
    main()
