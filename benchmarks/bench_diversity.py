"""tk.diversity on 100 k step outputs: the goal is < 5 s, cheap enough to run after every step.

    nice -n 5 .venv/bin/python benchmarks/bench_diversity.py [rows=100000]

Also prints the time of one pass of `str.split` over the same texts, measured in the same run, so a
loaded machine shows as a high baseline rather than as a slow toolkit.
"""

import sys
import time

import pandas as pd
from bench_dedupe import corpus


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    texts, _ = corpus(n, words=40)
    frame = pd.DataFrame({"answer": texts})
    import toolkit as tk

    t = time.perf_counter()
    words = sum(len(s.lower().split()) for s in texts)
    split_s = time.perf_counter() - t
    t = time.perf_counter()
    table = tk.diversity(frame, "answer")
    seconds = time.perf_counter() - t
    print(table.to_string())
    print(f"tk.diversity of {n} rows ({words} words): {seconds:.2f} s (goal < 5 s); one str.split pass "
          f"over them: {split_s:.2f} s, so {seconds / split_s:.0f} × that")


if __name__ == "__main__":
    main()
