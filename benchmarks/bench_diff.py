"""The review diff on two 2,000-word passages: target median < 20 ms.

Passage a is the repo's own prose (data/style_clone, repeated to 2,000 words, so words and whole
sentences recur); b has 10 % of its words replaced by other words of the passage. Baseline in the
same run: difflib's SequenceMatcher with its defaults over the same tokens (autojunk on, which
keeps it fast by never matching common tokens; without it one call takes ~2 s here). How many
words each marks is printed too.

    PYTHONPATH=$PWD python benchmarks/bench_diff.py
"""

import difflib
import random
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from toolkit.review.diff import TOKEN, segments  # noqa: E402

WORD_LIKE = re.compile(r"\w+")
WORDS, RUNS, TARGET_MS = 2_000, 30, 20
rng = random.Random(0)


def passages():
    prose = "\n\n".join(f.read_text() for f in sorted((ROOT / "data" / "style_clone").glob("*/*.md")))
    tokens, words = [], 0
    while words < WORDS:
        for t in TOKEN.findall(prose + "\n\n"):
            tokens.append(t)
            words += bool(WORD_LIKE.fullmatch(t))
            if words == WORDS:
                break
    spots = [i for i, t in enumerate(tokens) if WORD_LIKE.fullmatch(t)]
    vocabulary = sorted({tokens[i] for i in spots})
    edited = list(tokens)
    changed = 0
    for i in rng.sample(spots, WORDS // 10):
        edited[i] = rng.choice(vocabulary)
        changed += edited[i] != tokens[i]
    return "".join(tokens), "".join(edited), changed


def median_ms(run):
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        result = run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def marked_words(segs, kind):
    return sum(len(WORD_LIKE.findall(t)) for k, t in segs if k == kind)


def main():
    a, b, changed = passages()
    ours, (left, right, _) = median_ms(lambda: segments(a, b))
    ta, tb = TOKEN.findall(a), TOKEN.findall(b)
    base, opcodes = median_ms(lambda: difflib.SequenceMatcher(None, ta, tb).get_opcodes())
    base_marked = sum(sum(bool(WORD_LIKE.fullmatch(t)) for t in ta[i1:i2]) for op, i1, i2, _, _ in opcodes
                      if op != "equal")
    print(f"diff of two {WORDS:,}-word passages ({changed} words changed), median of {RUNS}")
    print(f"  segments():                          {ours:7.2f} ms  marks {marked_words(left, '-')} / "
          f"{marked_words(right, '+')} words (a / b)")
    print(f"  baseline, difflib (defaults):        {base:7.2f} ms  marks {base_marked} words in a")
    print(f"  ratio segments/difflib:              {ours / base:7.2f}x")
    ok = ours < TARGET_MS
    print(f"  target < {TARGET_MS} ms: {'OK' if ok else 'MISSED'} ({ours:.2f} ms)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
