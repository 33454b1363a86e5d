"""Chunk 5 MB of English and 5 MB of code-heavy text at 1500 tokens, and compare each with one plain
tiktoken pass over the same text, measured in the same run.

The plain `encode_ordinary` pass is the floor: chunking must count every token at least once.
The code-heavy text is Python's own pydoc topics (`pydoc_data.topics`: prose with indented code
and grammar blocks), repeated to 5 MB. Targets: English under 1.0 s and at most 2.5 times its
floor, code at most 2 times its floor, no chunk over the limit (exit 1 if one is).
"""

import pydoc_data.topics
import random
import sys
import time

import pandas as pd
import tiktoken

from toolkit.chunking import chunk

LIMIT = 1500
SIZE = 5_000_000
WORDS = """the of and to a in that is was he for it with as his on be at by had not are but from or
have an they which one you were her all she there would their we him been has when who will more no
if out so said what up its about into than them can only other new some could time these two may
then do first any my now such like our over man me even most made after also did many before must
through back years where much your way well down should because each just those people how too
little state good very make world still own see men work long get here between both life being under
never day same another know while last might us great old year off come since against go came right
used take three house river morning garden letter window city evening question answer mountain
village story water light hand voice night road table door country family market winter summer
quietly slowly carefully suddenly together almost perhaps already nothing something everything
remember believe understand wonder follow consider discover explain promise extraordinary
nevertheless circumstances acknowledgement responsibility neighbourhood Elizabeth Pemberton Whitcombe
Marseilles Kilimanjaro photosynthesis parliamentary unquestionably melancholy reconnaissance
bewildered chrysanthemum rhythm yacht mischievous fluorescent questionnaire conscientious
haphazard labyrinthine ephemeral quintessential serendipity idiosyncratic 1847 3.5 42nd""".split()


def english(size: int, seed: int = 0) -> str:
    """Deterministic prose: sentences of 3 to 40 words, paragraphs of 1 to 12 sentences, some dialogue,
    and one paragraph in fifty long enough (60 to 150 sentences) to need splitting at sentences."""
    rng = random.Random(seed)
    paragraphs, total = [], 0
    while total < size:
        count = rng.randint(60, 150) if rng.random() < 0.02 else rng.randint(1, 12)
        sentences = []
        for _ in range(count):
            words = rng.choices(WORDS, k=rng.randint(3, 40))
            if len(words) > 8:
                words[rng.randrange(2, len(words) - 2)] += ","
            sentence = " ".join(words).capitalize() + rng.choice(".....?!")
            sentences.append(f"“{sentence}” she said." if rng.random() < 0.05 else sentence)
        paragraphs.append(" ".join(sentences))
        total += len(paragraphs[-1]) + 2
    return "\n\n".join(paragraphs)[:size]


def best_of_three(run):
    """(seconds, result) of the fastest of three runs: other processes only ever add time."""
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        result = run()
        timings.append(time.perf_counter() - started)
    return min(timings), result


def code_heavy(size: int) -> str:
    """Python's pydoc topics in name order, repeated to `size` characters."""
    topics = "\n\n".join(pydoc_data.topics.topics[name] for name in sorted(pydoc_data.topics.topics))
    return (topics * (size // len(topics) + 1))[:size]


def measure(name: str, text: str, target: float) -> int:
    """Print the chunking time against one tiktoken pass; (largest chunk's tokens, chunk seconds)."""
    df = pd.DataFrame({"source": [f"{name}.txt"], "text": [text]})
    encoding = tiktoken.get_encoding("cl100k_base")
    floor, floor_tokens = best_of_three(lambda: len(encoding.encode_ordinary(text)))
    seconds, chunks = best_of_three(lambda: chunk(df, max_tokens=LIMIT))
    largest = int(chunks["tokens"].max())
    print(f"{name}: {len(text) / 1e6:.1f} MB, {floor_tokens} tokens (cl100k_base)")
    print(f"  floor: one encode_ordinary pass {floor:.3f} s (best of 3, as is the chunk time)")
    print(f"  chunk: {seconds:.3f} s, {len(chunks)} chunks, max {largest} tokens per chunk (limit {LIMIT})")
    print(f"  ratio to floor: {seconds / floor:.2f} (target <= {target})")
    return largest, seconds


def main() -> int:
    chunk(pd.DataFrame({"source": [], "text": []}))  # nothing to chunk, but it loads the encoding offline
    largest, seconds = measure("english", english(SIZE), 2.5)
    print(f"  under 1.0 s: {'yes' if seconds < 1.0 else 'NO'}")
    largest = max(largest, measure("code", code_heavy(SIZE), 2)[0])
    if largest > LIMIT:
        print(f"FAIL: a chunk has {largest} tokens, over the limit of {LIMIT}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
