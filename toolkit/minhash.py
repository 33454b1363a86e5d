"""Word shingles, MinHash signatures and LSH candidate pairs for a column of texts, column-wise.

What dedupe and diversity share. Words are the lowercased whitespace-separated tokens of a text
(punctuation stays on its word); a text's shingles are its word 3-grams (a text of fewer than
three words is one shingle). Similarity is the Jaccard index of two texts' shingle sets, computed
exactly for every candidate pair; MinHash LSH only chooses which pairs to compare.

MinHash comes from rensa 0.5 (Rust) rather than datasketch 2.0: for 20 k passages' 64-permutation
signatures rensa took 0.72 s (with the copy into numpy), datasketch's `MinHash.bulk` 6.4 s, its
per-text Python loop dominating. The LSH banding is numpy here: rensa's index answers "is this a
duplicate", not "of which earlier text", and dup_of needs the latter.

But: one process, in memory (1 M 12-word texts: 2.5 GB peak, the frame included).
Past one machine, compute band keys per shard and join equal keys (a shuffle), as in
datatrove's or text-dedup's distributed MinHash jobs.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import rensa

SHINGLE = 3            # words per shingle
NUM_PERM = 64          # MinHash permutations: candidates only (similarity is exact), so few suffice
SEED = 0
NEIGHBOURS = 4             # within one LSH bucket, each text is compared with this many before it
_CHUNK = 50_000        # texts per digest batch: bounds the Python lists rensa hands back
_M1, _M2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9)


class Shingles:
    """Each text's unique shingle hashes: `flat[offsets[i]:offsets[i + 1]]` is text i's."""

    def __init__(self, texts: list[str]):
        words = [t.lower().split() for t in texts]
        self.lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))  # words per text
        flat = np.array(list(itertools.chain.from_iterable(words)), dtype=object)
        self.codes = pd.factorize(flat)[0].astype(np.uint64) if len(flat) else np.zeros(0, np.uint64)
        self.normal = [" ".join(w) for w in words]  # what exact duplicates are compared on
        self.flat, self.offsets = _shingle(self.codes, self.lengths)
        self.sizes = np.diff(self.offsets)

    def of(self, i: int) -> np.ndarray:
        return self.flat[self.offsets[i]:self.offsets[i + 1]]

    def jaccard(self, pairs: np.ndarray) -> np.ndarray:
        """Jaccard similarity of each (i, j) row of `pairs`: a shingle both texts have shows up twice
        among the pair's shingles (each text's are unique), and is counted so, all pairs at once."""
        out = np.empty(len(pairs))
        for start in range(0, len(pairs), 100_000):
            i, j = pairs[start:start + 100_000, 0], pairs[start:start + 100_000, 1]
            (hi, pi), (hj, pj) = self._spread(i), self._spread(j)
            pair = np.concatenate([pi, pj])
            keys = _mix(np.concatenate([hi, hj]) ^ _mix(pair.astype(np.uint64)))
            both = np.bincount(pair[pd.Series(keys).duplicated().to_numpy()], minlength=len(i))
            out[start:start + len(i)] = both / np.maximum(self.sizes[i] + self.sizes[j] - both, 1)
        return out

    def _spread(self, texts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The shingles of `texts`, flat, and for each the position of its text in `texts`."""
        sizes = self.sizes[texts]
        owner = np.repeat(np.arange(len(texts)), sizes)
        within = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        return self.flat[self.offsets[texts][owner] + within], owner


def _shingle(codes: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Word codes (flat) → each text's unique 3-gram hashes (flat, texts in order) and their offsets."""
    n = len(lengths)
    if n == 0 or len(codes) == 0:
        return np.zeros(0, np.uint64), np.zeros(n + 1, np.int64)
    row = np.repeat(np.arange(n), lengths)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    pos = np.arange(len(codes)) - starts[row]
    length = lengths[row]
    padded = np.concatenate([codes + np.uint64(1), np.zeros(SHINGLE, np.uint64)])
    h = padded[:len(codes)]
    with np.errstate(over="ignore"):
        for k in range(1, SHINGLE):  # the next words of each position, 0 past the end of its text
            nxt = np.where(pos + k < length, padded[k:k + len(codes)], np.uint64(0))
            h = _mix(h * _M1 + nxt)
    first = (pos <= length - SHINGLE) | ((pos == 0) & (length < SHINGLE))
    # text number in the top bits, the shingle's hash below: one sort puts each text's shingles
    # together and its repeats side by side (a hash keeps 64 - log2(texts) bits; ample)
    shift = np.uint64(64 - max(1, int(n).bit_length()))
    both = np.sort((row[first].astype(np.uint64) << shift) | (h[first] >> (np.uint64(64) - shift)))
    both = both[np.concatenate([[True], both[1:] != both[:-1]])]
    row = (both >> shift).astype(np.int64)
    h = both & ((np.uint64(1) << shift) - np.uint64(1))
    offsets = np.zeros(n + 1, np.int64)
    offsets[1:] = np.cumsum(np.bincount(row, minlength=n))
    return h, offsets


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: spreads structured codes over all 64 bits."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * _M2
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def bands_for(threshold: float, num_perm: int = NUM_PERM, sure: float = 0.99) -> tuple[int, int]:
    """(bands, rows per band): the most rows per band that still makes a pair at `threshold` a
    candidate with probability ≥ `sure` (false candidates cost a check; a miss loses a duplicate)."""
    best = (num_perm, 1)
    for r in range(1, num_perm + 1):
        b = num_perm // r
        if 1 - (1 - threshold ** r) ** b >= sure:
            best = (b, r)
    return best


def candidate_pairs(sh: Shingles, rows: np.ndarray, threshold: float, num_perm: int = NUM_PERM,
                    sure: float = 0.99) -> np.ndarray:
    """(i, j) pairs, i < j, of `rows` (ascending) that share an LSH band: an (n, 2) int64 array."""
    b, r = bands_for(threshold, num_perm, sure)
    rows = rows[sh.sizes[rows] > 0]
    keys = np.empty((b, len(rows)), np.uint64)
    for start in range(0, len(rows), _CHUNK):
        part = rows[start:start + _CHUNK]
        flat = np.concatenate([sh.of(i) for i in part]) if len(part) else np.zeros(0, np.uint64)
        offsets = np.concatenate([[0], np.cumsum(sh.sizes[part])]).astype(np.uint64)
        digest = rensa.RMinHash.digest_matrix_from_flat_token_hashes(flat, offsets, b * r, SEED)
        sig = np.array(digest.to_rows(), dtype=np.uint64).reshape(len(part), b, r)
        key = np.zeros((len(part), b), np.uint64)
        with np.errstate(over="ignore"):
            for k in range(r):
                key = _mix(key * _M1 + sig[:, :, k])
        keys[:, start:start + len(part)] = key.T
    pairs = []
    for band in keys:
        order = np.argsort(band, kind="stable")  # equal keys together, earlier rows first (rows ascend)
        k, who = band[order], rows[order]
        group_start = np.ones(len(k), bool)
        group_start[1:] = k[1:] != k[:-1]
        first = who[np.maximum.accumulate(np.where(group_start, np.arange(len(k)), 0))]
        pairs.append(np.stack([first, who], 1)[first != who])  # every member with its bucket's first
        for d in range(1, NEIGHBOURS + 1):  # and with the few just before it
            same = k[d:] == k[:-d]
            pairs.append(np.stack([who[:-d][same], who[d:][same]], 1))
    if not pairs:
        return np.zeros((0, 2), np.int64)
    pairs = np.concatenate(pairs).astype(np.int64)
    n = np.int64(max(len(sh.sizes), 1))
    pairs = np.unique(pairs[:, 0] * n + pairs[:, 1])
    return np.stack([pairs // n, pairs % n], 1)
