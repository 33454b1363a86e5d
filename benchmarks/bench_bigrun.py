"""A 200 k-row step: the toolkit's own memory and CPU per row, and a cached rerun, in one run.

The loopback server runs in its own process (its request log would otherwise count as ours), with
no latency, so the client's CPU is the bottleneck being measured.

1. First run of 200 k rows, concurrency 64:
   memory overhead per row = (peak RSS − RSS before the run − the new columns' own memory) / rows
                                                                        target ≤ 0.5 KB
   client CPU per row = process CPU time of the run / rows              target ≤ 0.35 ms
2. Cached rerun of 100 k of those rows (wall time, and CPU)             target ≤ 4 s
Usage: python benchmarks/bench_bigrun.py [rows]
"""

import os
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

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
CONCURRENCY = 64


def rss_kb(field: str) -> int:
    """VmRSS (now) or VmHWM (peak since the last reset) of this process, in KB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


def reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # Linux: VmHWM restarts from the current RSS


def server() -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "tests.loopback", "--port", "0", "--latency", "0"],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    return proc, proc.stdout.readline().strip()


def main():
    tmp = Path(tempfile.mkdtemp(prefix="bench-bigrun-"))
    prompt = tmp / "p.yaml"
    prompt.write_text("params: {max_tokens: 40}\nmessages:\n  - system: Answer tersely.\n"
                      "  - user: 'Rewrite: {text}'\n")
    df = pd.DataFrame({"chunk_id": [f"c{i}" for i in range(ROWS)],
                       "text": [f"chunk {i} of a corpus of short texts" for i in range(ROWS)]})
    proc, url = server()
    try:
        llm = tk.LLM("openai/loopback", api_base=url, api_key="k", folder=tmp / "run",
                     max_concurrent=CONCURRENCY)
        step = tk.Step("s", prompt, llm)
        step.run(df.head(200))  # warm up: connections, the cache file, first-call imports
        base = rss_kb("VmRSS")
        reset_peak()
        cpu, wall = time.process_time(), time.perf_counter()
        out = step.run(df)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        peak = rss_kb("VmHWM")
        new = out.drop(columns=df.columns).memory_usage(deep=True, index=False).sum() / 1024
        assert (out["s.status"] == "ok").all() and len(out) == ROWS
        del out
        half = df.head(ROWS // 2)
        rerun_cpu, rerun_wall = time.process_time(), time.perf_counter()
        again = step.run(half)
        rerun_cpu, rerun_wall = time.process_time() - rerun_cpu, time.perf_counter() - rerun_wall
        assert again.attrs["step"]["usage"]["calls"] == 0
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)

    overhead = (peak - base - new) / ROWS
    per_row_ms = cpu / ROWS * 1e3
    print(f"rows {ROWS}, concurrency {CONCURRENCY}, load average {os.getloadavg()[0]:.1f}")
    print(f"RSS before the run {base / 1024:.0f} MB, peak {peak / 1024:.0f} MB, "
          f"new columns {new / 1024:.0f} MB, input frame "
          f"{df.memory_usage(deep=True).sum() / 2**20:.0f} MB")
    print(f"memory overhead per row   {overhead:6.3f} KB   (target <= 0.5)")
    print(f"client CPU per row        {per_row_ms:6.3f} ms   (target <= 0.35; wall {wall:.1f} s)")
    print(f"cached rerun of {len(half)} rows {rerun_wall:6.2f} s    (target <= 4; CPU {rerun_cpu:.2f} s)")
    ok = overhead <= 0.5 and per_row_ms <= 0.35 and rerun_wall <= 4
    print("PASS" if ok else "BELOW TARGET")


if __name__ == "__main__":
    main()
