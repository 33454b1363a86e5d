"""A fleet of servers against one server, measured in this one run.

Each loopback server answers in 200 ms and holds at most 16 requests (the 17th gets a 429). The
same Step runs over one server (max_concurrent=16) and over three (16 per deployment), with as many
rows per server in both runs: throughput 3 ÷ 1, target ≥ 2.7, with no 429 reaching any server.
For reference, litellm.Router over the same three servers with max_parallel_requests=16 each and
48 callers: how many calls it answers per second and how many it fails with its own 429.
"""

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import pandas as pd  # noqa: E402

import toolkit as tk  # noqa: E402
from tests.loopback import LoopbackServer  # noqa: E402

LATENCY, SLOTS, ROWS_PER_SERVER, ROUTER_CALLS = 0.2, 16, 640, 480


def step_rate(tmp: Path, name: str, servers: list) -> float:
    """Rows per second of one Step.run over these servers (fresh cache)."""
    rows = ROWS_PER_SERVER * len(servers)
    df = pd.DataFrame({"text": [f"{name} row {i}" for i in range(rows)]})
    prompt = tmp / "p.yaml"
    prompt.write_text("messages:\n  - user: '{text}'\n")
    if len(servers) == 1:
        llm = tk.LLM("openai/loopback", api_base=servers[0].url, api_key="k", folder=tmp / name,
                     max_concurrent=SLOTS)
    else:
        llm = tk.LLM("openai/loopback", deployments=[{"api_base": s.url} for s in servers],
                     api_key="k", folder=tmp / name, max_concurrent=SLOTS)
    step = tk.Step(name, prompt, llm)
    step.run(pd.DataFrame({"text": [f"{name} warm-up"]}))  # connections, loop, first-call costs
    before = [s.count for s in servers]
    start = time.perf_counter()
    out = step.run(df)
    seconds = time.perf_counter() - start
    assert (out[f"{name}.status"] == "ok").all()
    print(f"{name}: requests per server {[s.count - b for s, b in zip(servers, before)]}")
    return rows / seconds


async def router_rate(servers: list) -> tuple[float, int]:
    """litellm.Router with per-deployment max_parallel_requests: (answers per second, its 429s)."""
    from litellm import Router

    router = Router(model_list=[{"model_name": "fleet", "litellm_params": {
        "model": "openai/loopback", "api_base": s.url, "api_key": "k",
        "max_parallel_requests": SLOTS}} for s in servers], num_retries=0)
    callers = asyncio.Semaphore(SLOTS * len(servers))
    answered = rejected = 0

    async def one(i):
        nonlocal answered, rejected
        async with callers:
            try:
                await router.acompletion(model="fleet", messages=[{"role": "user", "content": f"r{i}"}])
                answered += 1
            except Exception as e:  # noqa: BLE001 - counting the Router's refusals is the point
                rejected += type(e).__name__ == "RateLimitError"
    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(ROUTER_CALLS)))
    return answered / (time.perf_counter() - start), rejected


def main():
    tmp = Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    servers = [LoopbackServer(latency=LATENCY, max_concurrent=SLOTS).start() for _ in range(3)]
    try:
        one = step_rate(tmp, "one", servers[:1])
        three = step_rate(tmp, "three", servers)
        over_limit = sum(s.rejected for s in servers)
        router, router_429 = asyncio.run(router_rate(servers))
    finally:
        for s in servers:
            s.stop()
    ideal = SLOTS / LATENCY
    ratio = three / one
    print(f"1 server           {one:7.1f} rows/s  ({one / ideal:.0%} of {ideal:.0f}, the server's ceiling)")
    print(f"3 servers (fleet)  {three:7.1f} rows/s  ratio {ratio:.2f}  (target >= 2.7)")
    print(f"requests refused with 429 by a server: {over_limit}  (target 0: callers wait)")
    print(f"litellm.Router     {router:7.1f} answers/s over 3 servers, {router_429} of {ROUTER_CALLS} "
          "calls refused with its own 429  (reference)")
    print("PASS" if ratio >= 2.7 and over_limit == 0 else "BELOW TARGET")


if __name__ == "__main__":
    main()
