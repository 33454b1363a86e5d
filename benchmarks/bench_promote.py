"""tk.promote on a 200-turn draft: one row written in as a few-shot turn pair. Target: median < 50 ms.

The baseline, measured in the same run on the same file, is a plain round trip of it through
ruamel.yaml (load, dump): what rewriting the draft whole would cost before any of promote's own
work. promote writes only the new turns in (emitted by ruamel) and checks the result with libyaml,
so the ratio printed (promote / baseline) should be below 1. Each promote adds a pair to the draft,
so the file grows from 200 to 200 + 2 x REPEATS turns over the run.

    PYTHONPATH=$PWD python benchmarks/bench_promote.py
"""

import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import toolkit as tk  # noqa: E402

TURNS, REPEATS, TARGET_MS = 200, 25, 50.0


def prompt_text(turns):
    """A prompt file as users write them: comments, a folded description, literal blocks."""
    lines = ["# Rewrite passages in plain prose.\n", "description: >\n  A draft with many worked examples.\n",
             "params: {temperature: 0, max_tokens: 300}\n", "messages:\n", "  - system: You rewrite passages.\n"]
    for i in range(turns // 2):
        lines += [f"  # worked example {i}\n", "  - user: |\n      Rewrite this passage:\n\n",
                  f"      The vicar's patience, tried by winter {i}, wore thin; the roof leaked again.\n",
                  "  - assistant: |\n", f"      The vicar was tired of the winter. The roof leaked again ({i}).\n"]
    lines += ["  # the template\n", "  - user: |\n      Rewrite this passage:\n\n      {text}\n"]
    return "".join(lines)


def median_ms(action, repeats=REPEATS):
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        action(i)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main():
    folder = Path(tempfile.mkdtemp(prefix="bench-promote-"))
    source = folder / "source.yaml"
    source.write_text(prompt_text(TURNS), encoding="utf-8")
    draft = tk.draft(source, folder / "run", name="generic.yaml")
    version = tk.load_prompt(draft).version
    df = pd.DataFrame({"chunk_id": [f"c{i}" for i in range(REPEATS)],
                       "text": [f"Passage {i}: the bishop would visit on Tuesday." for i in range(REPEATS)],
                       "generic": [f"The bishop visits on Tuesday ({i})." for i in range(REPEATS)],
                       "generic.status": "ok", "generic.prompt_version": version})
    df.attrs["folder"] = str(folder / "run")

    from ruamel.yaml import YAML

    text = draft.read_text(encoding="utf-8")

    def round_trip(_):
        y = YAML(typ="rt")
        out = io.StringIO()
        y.dump(y.load(text), out)

    base = median_ms(round_trip)
    took = median_ms(lambda i: tk.promote(df, [f"c{i}"], draft))
    turns = len(tk.load_prompt(draft).messages)
    print(f"promote on a {TURNS}-turn draft: median {took:.1f} ms (target < {TARGET_MS:.0f} ms); "
          f"ruamel.yaml load+dump of the same file: {base:.1f} ms (ratio {took / base:.2f}); "
          f"the draft has {turns} messages after {REPEATS} promotions; load average {os.getloadavg()[0]:.1f}")
    ok = took < TARGET_MS
    print(f"target: promote median < {TARGET_MS:g} ms: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
