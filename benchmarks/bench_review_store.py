"""One review decision written from Python with 50,000 decisions stored against with 10: the store
appends one event per decision, so the two should stay close (the ratio is printed). Target: median < 5 ms at 50 k.

Three measures per folder, each the median of WRITES: `Store.label` alone (one INSERT committed,
then reading it back), `Store.correct` (a correction saved: the same one INSERT, after looking up
whether one stands), and a label-and-advance in the viewer (`Viewer.label(advance=True)` on a
1,000-row frame: the write, reading the new event, the next sample drawn). The 10-decision folder
is the baseline measured in the same run; the ratio is printed.

    PYTHONPATH=$PWD python benchmarks/bench_review_store.py
"""

import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from toolkit.decisions import Store  # noqa: E402
from toolkit.review.viewer import show  # noqa: E402

WRITES, ROWS, TARGET_MS = 300, 1_000, 5.0


def folder_with(decisions):
    folder = Path(tempfile.mkdtemp(prefix="bench-review-"))
    Store(folder).label_many([(f"old-{i}", f"{i:016x}") for i in range(decisions)], "good")
    return folder


def median_ms(action):
    times = []
    for i in range(WRITES):
        start = time.perf_counter()
        action(i)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure(decisions):
    folder = folder_with(decisions)
    store = Store(folder)
    write = median_ms(lambda i: store.label(f"new-{i}", "0" * 16, "bad" if i % 2 else "good"))
    fix = median_ms(lambda i: store.correct(f"new-{i}", "gen", "0" * 16, f"a better answer {i}"))
    df = pd.DataFrame({"chunk_id": [f"c{i}" for i in range(ROWS)], "text": [f"text {i}" for i in range(ROWS)],
                       "gen": [f"output {i}" for i in range(ROWS)], "gen.status": "ok"})
    viewer = show(df, right="gen", folder=folder)
    press = median_ms(lambda i: viewer.label("good", advance=True))
    return write, press, fix


def main():
    small, large = measure(10), measure(50_000)
    print(f"Store.label median: {small[0]:.2f} ms at 10 decisions, {large[0]:.2f} ms at 50,000 "
          f"(ratio {large[0] / small[0]:.2f})")
    print(f"Store.correct median: {small[2]:.2f} ms at 10 decisions, {large[2]:.2f} ms at 50,000 "
          f"(ratio {large[2] / small[2]:.2f}; {large[2] / large[0]:.2f} x Store.label at 50,000)")
    print(f"viewer label-and-advance median: {small[1]:.2f} ms at 10 decisions, {large[1]:.2f} ms at 50,000 "
          f"(ratio {large[1] / small[1]:.2f})")
    ok = large[0] < TARGET_MS and large[2] < TARGET_MS
    print(f"target: Store.label and Store.correct median < {TARGET_MS:g} ms at 50,000 decisions: "
          f"{'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
