"""Judges at scale, in one run: agreement over 100,000 rows (target < 1 s), with 1,000 of them
labelled (a big review) and with every row labelled (then reading 100 k decisions from the review
store is most of the time; it is timed alone too); and a judge step over 2,000 rows on the loopback
server against a plain step making the same calls (target: the judge within 1.1 × its time). The
plain step is `Step(schema=tk.PassFail)`: the same requests, schema included; what the judge adds
is its own columns and the hash of what it judged.

    .venv/bin/python benchmarks/bench_judge.py

Each step runs on a fresh run folder (no cache hits), 64 calls in flight, 50 ms server latency,
alternating which goes first, four rounds; the best time of each is compared, so a burst of load on
the shared machine hits both alike. The CPU ratio (this process, server thread included) is printed
beside the wall-clock one. The first agreement of a process imports scikit-learn (≈ 0.3 s), so
`seconds` includes it and `seconds_again` is a second call.
"""

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.loopback, run from anywhere

import toolkit as tk  # noqa: E402
from tests.loopback import LoopbackServer  # noqa: E402
from toolkit.decisions import Store  # noqa: E402
from toolkit.outputs import output_hash  # noqa: E402

PROMPT = """params: {max_tokens: 40}
messages:
  - system: Say whether the answer is right, as JSON.
  - user: "Answer: {answer}"
"""
ROWS, CALL_ROWS, ROUNDS = 100_000, 2_000, 4


def reply(body):
    answer = body["messages"][-1]["content"]
    return json.dumps({"reason": "checked", "verdict": "fail" if answer.endswith("7") else "pass"})


def agreement_time(tmp: Path, labelled: int) -> dict:
    """A judged 100 k-row frame (columns as Judge.run leaves them) with `labelled` rows labelled."""
    folder = tmp / f"agree{labelled}"
    rng = np.random.default_rng(0)
    answers = [f"answer {i}" for i in range(ROWS)]
    df = pd.DataFrame({"chunk_id": [f"c{i}" for i in range(ROWS)], "answer": answers,
                       "right": rng.choice(["pass", "fail"], ROWS, p=[0.8, 0.2]).astype(object),
                       "right.reason": "checked", "right.status": "ok",
                       "right.judged": [output_hash(a) for a in answers]})
    df.attrs["folder"] = str(folder)
    person = np.where(rng.random(ROWS) < 0.9, df["right"].map({"pass": "good", "fail": "bad"}), "bad")
    store = Store(folder)  # setting up, not what is timed: one transaction per label value
    for value in ("good", "bad"):
        store.label_many([(f"c{i}", output_hash(answers[i])) for i in range(labelled) if person[i] == value], value)
    store.close()
    judge = tk.Judge("right", tmp / "judge.yaml", tk.LLM("openai/x", api_base="http://127.0.0.1:9", api_key="k",
                                                          folder=folder), judged="answer")
    start = time.perf_counter()
    read = Store(folder)
    read.labels()
    read.close()
    store_seconds = time.perf_counter() - start
    start = time.perf_counter()
    a = tk.agreement(df, judge)
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    tk.agreement(df, judge)
    again = time.perf_counter() - start
    return {"rows": ROWS, "labelled": labelled, "n": a.n, "kappa": round(a.kappa, 3),
            "seconds": round(seconds, 3), "seconds_again": round(again, 3),
            "store_read_alone_seconds": round(store_seconds, 3), "target_seconds": 1.0, "ok": seconds < 1.0}


def step_times(tmp: Path) -> dict:
    df = pd.DataFrame({"chunk_id": [f"c{i}" for i in range(CALL_ROWS)],
                       "answer": [f"answer {i}" for i in range(CALL_ROWS)]})
    best = {"plain": float("inf"), "judge": float("inf")}
    cpu = {"plain": float("inf"), "judge": float("inf")}
    with LoopbackServer(latency=0.05, reply=reply) as srv:
        for round_ in range(ROUNDS):
            for kind in ("plain", "judge") if round_ % 2 == 0 else ("judge", "plain"):
                llm = tk.LLM("openai/loopback", api_base=srv.url, api_key="k", folder=tmp / f"{kind}{round_}",
                             max_concurrent=64)
                step = (tk.Step("right", tmp / "judge.yaml", llm, schema=tk.PassFail) if kind == "plain"
                        else tk.Judge("right", tmp / "judge.yaml", llm, judged="answer"))
                start, start_cpu = time.perf_counter(), time.process_time()
                out = step.run(df)
                best[kind] = min(best[kind], time.perf_counter() - start)
                cpu[kind] = min(cpu[kind], time.process_time() - start_cpu)  # the server thread included
                assert (out["right.status"] == "ok").all()
    ratio = best["judge"] / best["plain"]
    return {"rows": CALL_ROWS, "plain_seconds": round(best["plain"], 2), "judge_seconds": round(best["judge"], 2),
            "ratio": round(ratio, 3), "cpu_ratio": round(cpu["judge"] / cpu["plain"], 3),
            "target_ratio": 1.1, "ok": ratio <= 1.1, "load_average": round(os.getloadavg()[0], 1)}


def main() -> None:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        (tmp / "judge.yaml").write_text(PROMPT, encoding="utf-8")
        report = {"agreement_1k_labels": agreement_time(tmp, 1_000),
                  "agreement_every_row_labelled": agreement_time(tmp, ROWS), "judge_step": step_times(tmp)}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
