"""Data with a known answer for the signal tests and benchmarks: texts in a marked voice and their
plain rewrites, rewrites that drop a number, answers that cite a year their source lacks.

Every generator is seeded: the same call gives the same rows.
"""

from __future__ import annotations

import random

NOUNS = ["lantern", "harbour", "letter", "ledger", "carriage", "window", "orchard", "chapel", "bridge",
         "cellar", "garden", "kitchen", "mill", "meadow", "parlour", "tower", "wharf", "cottage", "road",
         "ferry", "market", "granary", "stable", "vicarage", "inn", "quay", "barn", "lane", "pond", "gate"]
ADJECTIVES = ["grey", "narrow", "crooked", "quiet", "cold", "ancient", "damp", "bright", "silent", "broad",
              "empty", "little", "heavy", "pale", "low"]
NAMES = ["Fennimore", "Pilbeam", "Dunmore", "Olsen", "Marlowe", "Ashby", "Thorne", "Kestrel", "Bellamy",
         "Carew", "Hollis", "Penrose"]
# The voice: (ornate original, its plain rewrite), the same slots in each.
VOICE = [
    ("It must be owned that the {a} {n1} of Mr. {name}, which stood upon the {n2}, was not without a certain "
     "charm; and I confess I regarded it for some {num} minutes whilst the {n3} grew dim.",
     "Mr. {name} had a {a} {n1} on the {n2}. It was nice. I looked at it for {num} minutes while the {n3} "
     "got dark."),
    ("Whither the {n1} led, I cannot say; but it is certain that {name}, upon the {num}th of the month, "
     "betook himself thither, and the {n2} knew him no more.",
     "I do not know where the {n1} went. On day {num} of the month {name} went there, and he did not come "
     "back to the {n2}."),
    ("The {n1}, grown {a} with the weather of some {num} winters, lay hard by the {n2}; and thither, it "
     "seemed, every soul of the {n3} repaired at dusk.",
     "The {n1} was {a} after {num} winters. It was near the {n2}. Everyone from the {n3} went there in the "
     "evening."),
    ("Of {name} I shall say little, save that he kept the {n1} with a diligence that would have shamed a "
     "bishop, and reckoned its {n2} at {num} pounds to the farthing.",
     "{name} looked after the {n1} very carefully. He said the {n2} was worth {num} pounds."),
    ("Nor was the {n1} less remarkable; for it had, by the reckoning of {name}, {num} windows, each of "
     "them {a} as the {n2} upon a winter's morning.",
     "The {n1} was also unusual. {name} counted {num} windows. Each one was {a} like the {n2} in winter."),
]


def style_pairs(n: int, copies: int = 0, seed: int = 0, sentences: int = 2) -> tuple[list, list, list]:
    """(originals, rewrites, copied): `n` originals in the ornate voice and their plain rewrites
    with the same names, numbers and nouns; the rows in `copied` instead have a rewrite that is
    the original with three words changed (a model that copied)."""
    rng = random.Random(seed)
    originals, rewrites = [], []
    for _ in range(n):
        ornate, plain = [], []
        for _ in range(sentences):
            o, p = rng.choice(VOICE)
            slots = {"n1": rng.choice(NOUNS), "n2": rng.choice(NOUNS), "n3": rng.choice(NOUNS),
                     "a": rng.choice(ADJECTIVES), "name": rng.choice(NAMES), "num": rng.randint(2, 90)}
            ornate.append(o.format(**slots))
            plain.append(p.format(**slots))
        originals.append(" ".join(ornate))
        rewrites.append(" ".join(plain))
    copied = sorted(rng.sample(range(n), copies))
    for i in copied:
        words = originals[i].split()
        for at in rng.sample(range(len(words)), 3):
            words[at] = rng.choice(NOUNS)
        rewrites[i] = " ".join(words)
    return originals, rewrites, copied
