"""The faster content kept gives what the code before it gave (tests/kept_before.py, verbatim), on
thousands of varied rows: unicode, quotes and quoted titles, numbers with commas, decimals and
units, codes, sentence and line starts, abbreviations, numbered lines, blank rows, repeated texts;
on one process and shared with a worker process (toolkit/cores.py)."""

import gc
import os
import random
import time

import pandas as pd
import pytest

import toolkit as tk
from tests import kept_before
from toolkit import cores
from toolkit.mentions import mentions

WORDS = ("the a of and to in it was he she said had not but all lantern lanterns Lantern harbour "
         "harbour's keeper keepers Keeper's watch watched sold pawned didn't he'd we'll I'm whither "
         "thereafter whereupon sea-wall well-known café naïve Zoë Ångström Müller Łódź São Paulo 東京 "
         "straße fire front system six Fitch Fitch's Marge Olsen Dunmore's Anchor Blue mr Mr. Dr. St. "
         "e.g. i.e. approx. Fig. No. J. etc. — – … / & * # (see [note] {x} <b> _under_ 'single' ‘curly’ "
         "«Bonjour» it's its Its IT OK okay U.S. A.M. p.m.").split()
NUMBERS = ("2,000 1.5 4.0 1:15 5mm 20th 3,141.59 1,00 12. 1938 1,234,567 0.50 7 2-year 10:30:15 "
           "v2 K3 TW-S5 A4-B 3rd 1st 99% $40 £3.50 4/5 1e5 08").split()
TITLES = ('"The Blue Anchor"', "“The Pilgrim’s Progress”", '"yes, all of it"', '"Come now."',
          '"War and Peace"', '"A Tale of Two Cities"', '"the lower case"', "“Ça Va”", '"Q3 Report"', '""')
ENDS = (". ", "! ", "? ", "… ", '." ', ".” ", ".) ", "; ", ", ", ": ", " ")
JOINS = (" ", " ", " ", "\n", "\n1. ", "\n2) ", "\n\n", "\n- ")


def sentence(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(1, 14)):
        r = rng.random()
        parts.append(rng.choice(NUMBERS) if r < 0.15 else rng.choice(TITLES) if r < 0.2 else rng.choice(WORDS))
    if rng.random() < 0.6:
        parts[0] = parts[0][:1].upper() + parts[0][1:]
    if rng.random() < 0.2:
        parts[0] = rng.choice(('"', "“", "(", "‘", "«", "[")) + parts[0]
    return " ".join(parts) + rng.choice(ENDS)


def text(rng: random.Random) -> str:
    return "".join(sentence(rng) + rng.choice(JOINS) for _ in range(rng.randint(1, 6))).strip()


def rewrite(original: str, rng: random.Random) -> str:
    """The original with words dropped, swapped, recased, renumbered and added: lists to fill."""
    tokens = original.split(" ")
    out = []
    for t in tokens:
        r = rng.random()
        out += ([] if r < 0.15 else [rng.choice(WORDS)] if r < 0.25 else [t.lower()] if r < 0.3
                else [rng.choice(NUMBERS)] if r < 0.33 else [t, rng.choice(WORDS)] if r < 0.38 else [t])
    return " ".join(out)


def varied_rows(n: int, seed: int) -> pd.DataFrame:
    rng = random.Random(seed)
    originals, rewrites = [], []
    for i in range(n):
        r = rng.random()
        if r < 0.05 and originals:  # a repeated original: several candidates for one text
            o = originals[-1]
        else:
            o = text(rng)
        originals.append(o)
        rewrites.append(o if r > 0.97 else rewrite(o, rng) if r > 0.4 else text(rng))
    for i in rng.sample(range(n), n // 50):  # rows without both texts
        if i % 2:
            originals[i] = rng.choice([None, "", "   ", float("nan")])
        else:
            rewrites[i] = rng.choice([None, "", "\n"])
    return pd.DataFrame({"text": originals, "generic": rewrites}, index=[f"r{i}" for i in range(n)])


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return varied_rows(4000, seed=11)


def test_the_frame_is_the_one_the_code_before_gave(rows):
    new, old = tk.content_kept(rows), kept_before.content_kept(rows)
    assert new["generic.content_flag"].ne("").sum() > 1000 and new["generic.lost_numbers"].map(len).gt(0).sum() > 500
    pd.testing.assert_frame_equal(new, old)


def test_every_texts_mentions_are_the_ones_the_code_before_read(rows):
    """grounding reads texts through the same mentions(): the dicts' order and forms too."""
    texts = [t for t in dict.fromkeys([*rows["text"], *rows["generic"]]) if isinstance(t, str)]
    for t in texts:
        a, b = mentions(t), kept_before.mentions(t)
        assert (list(a.numbers.items()), list(a.names.items()), list(a.words.items()), a.keys, a.text) == \
               (list(b.numbers.items()), list(b.names.items()), list(b.words.items()), b.keys, b.text), t


def test_shared_with_a_worker_the_frame_is_the_same(rows, monkeypatch):
    monkeypatch.setattr(cores, "AT_LEAST", 1000)
    monkeypatch.setattr(cores, "CHUNK", 150)
    pd.testing.assert_frame_equal(tk.content_kept(rows), kept_before.content_kept(rows))


def _who(items: list) -> tuple[list, list]:
    """Each item doubled, and the item negated; a worker leaves its process id in a file, and the caller's first chunk
    waits for that file: the test waits for an event (a worker read a chunk), not for a timer."""
    marker, caller = items[0][1], items[0][2]
    if os.getpid() == caller:
        while not os.path.exists(marker):
            time.sleep(0.01)
    else:
        with open(marker + ".part", "w") as f:
            f.write(str(os.getpid()))
        os.replace(marker + ".part", marker)
    return [i * 2 for i, _, _ in items], [-i for i, _, _ in items]


def test_a_worker_reads_chunks_and_the_order_is_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(cores, "AT_LEAST", 10)
    monkeypatch.setattr(cores, "CHUNK", 3)
    marker = tmp_path / "a worker read a chunk"
    out = cores.spread(_who, [(i, str(marker), os.getpid()) for i in range(40)])
    assert out == ([i * 2 for i in range(40)], [-i for i in range(40)])  # each column joined in order
    assert int(marker.read_text()) != os.getpid()  # a worker process read a chunk


def _fails_in_a_worker(items: list) -> tuple[list]:
    if os.getpid() != items[0][1]:
        os._exit(3)  # a worker that dies (killed, out of memory)
    return ([i * 2 for i, _ in items],)


def test_a_worker_that_dies_costs_nothing_but_time(monkeypatch):
    monkeypatch.setattr(cores, "AT_LEAST", 10)
    monkeypatch.setattr(cores, "CHUNK", 3)
    assert cores.spread(_fails_in_a_worker, [(i, os.getpid()) for i in range(30)]) == ([i * 2 for i in range(30)],)


def test_an_error_of_fn_is_raised_to_the_caller(monkeypatch):
    monkeypatch.setattr(cores, "AT_LEAST", 10)
    with pytest.raises(ZeroDivisionError):
        cores.spread(lambda items: ([1 / i for i in items],), list(range(-20, 20)))


def _collector(items: list) -> tuple[list]:
    return ([(os.getpid(), gc.isenabled()) for _ in items],)


def test_the_collector_is_paused_while_spread_works_and_as_before_after(monkeypatch):
    monkeypatch.setattr(cores, "AT_LEAST", 10)
    monkeypatch.setattr(cores, "CHUNK", 3)
    assert gc.isenabled()
    seen, = cores.spread(_collector, list(range(60)))
    assert len(seen) == 60 and not any(on for _, on in seen)  # off in the caller and in any worker
    assert gc.isenabled()  # on again after
    with pytest.raises(ZeroDivisionError):
        cores.spread(lambda items: ([1 / i for i in items],), list(range(-20, 20)))
    assert gc.isenabled()  # on again after an error
    gc.disable()  # a caller that turned it off itself keeps it off
    try:
        assert not any(on for _, on in cores.spread(_collector, list(range(5)))[0])
        assert not gc.isenabled()
    finally:
        gc.enable()
