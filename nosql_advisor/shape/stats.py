"""Bounded-memory statistics the shape keeps per field path.

Each structure here grows with the number of *distinct* values it has seen, up to a fixed
cap, never with the number of documents: a shape over a billion documents costs what a
shape over a thousand does.
"""

from __future__ import annotations

import heapq
import math
import zlib
from collections import Counter
from collections.abc import Collection, Iterable
from datetime import datetime, timedelta, timezone
from itertools import compress, repeat
from operator import and_, attrgetter, methodcaller, sub

from bson import Decimal128, ObjectId

EXACT_BELOW = 1024
SIGNIFICANT_BITS = 10


def _bucket(value: int) -> int:
    """Round a large non-negative int down to 10 significant bits (error < 0.1 %)."""
    if value < EXACT_BELOW:
        return value
    shift = value.bit_length() - SIGNIFICANT_BITS
    return (value >> shift) << shift


class Histogram:
    """Distribution of non-negative ints (lengths, byte sizes) with exact min/max/mean.

    Values under 1024 are kept exactly; larger ones are bucketed to 10 significant bits, so
    the memory is a few thousand counters at most whatever the input.
    """

    __slots__ = ("counts", "n", "total", "min", "max")

    def __init__(self) -> None:
        self.counts: Counter[int] = Counter()
        self.n = 0
        self.total = 0
        self.min: int | None = None
        self.max: int | None = None

    def add_many(self, values: list[int]) -> None:
        if not values:
            return
        lo, hi = min(values), max(values)
        self.min = lo if self.min is None else min(self.min, lo)
        self.max = hi if self.max is None else max(self.max, hi)
        self.n += len(values)
        self.total += sum(values)
        if hi < EXACT_BELOW:
            self.counts.update(values)
        else:
            self.counts.update(map(_bucket, values))

    def merge(self, other: Histogram) -> None:
        """Add another histogram's values (a worker's share of the same stream)."""
        if not other.n:
            return
        self.counts.update(other.counts)
        self.n += other.n
        self.total += other.total
        self.min = other.min if self.min is None else min(self.min, other.min)
        self.max = other.max if self.max is None else max(self.max, other.max)

    def percentile(self, p: float) -> int:
        """Nearest-rank percentile (p in 0..100): the smallest value with >= p % at or below it."""
        rank = max(1, math.ceil(p / 100 * self.n))
        seen = 0
        for value in sorted(self.counts):
            seen += self.counts[value]
            if seen >= rank:
                return min(value, self.max) if self.max is not None else value
        return self.max or 0

    def summary(self) -> dict | None:
        if not self.n:
            return None
        return {
            "min": self.min,
            "max": self.max,
            "mean": round(self.total / self.n, 3),
            "p50": self.percentile(50),
            "p95": self.percentile(95),
            "p99": self.percentile(99),
        }


HASH_SPACE = 2**32


OBJECTID_BYTES = attrgetter("_ObjectId__id")  # the 12 bytes, without ObjectId.binary's Python call


def stable_hash(value: object) -> int:
    """A 32-bit hash that is the same in every process (Python's hash() of str is salted).

    32 bits are plenty for a k-minimum-values estimate: collisions only matter near 2**32
    distinct values, far past any sample."""
    kind = type(value)
    if kind is str:
        return zlib.crc32(value.encode("utf-8", "surrogatepass"))
    if kind is ObjectId:
        return zlib.crc32(OBJECTID_BYTES(value))
    if kind is datetime:
        return _crc_of_hashes([hash(_since_epoch(value))])[0]
    if kind is tuple:
        return _crc_of_hashes([hash(value)])[0]
    return zlib.crc32(repr(value).encode())


def stable_hashes(values: Collection) -> list[int]:
    """`stable_hash` of each value. When the values share one type (the usual case) the loop
    runs in C, through map; the results are the same as value by value."""
    kinds = set(map(type, values))
    if len(kinds) == 1:
        kind = kinds.pop()
        try:
            if kind is str:
                return list(map(zlib.crc32, map(str.encode, values)))
            if kind is ObjectId:
                return list(map(zlib.crc32, map(OBJECTID_BYTES, values)))
            if kind is datetime:
                return _crc_of_hashes(map(hash, map(sub, values, repeat(EPOCH))))
            if kind is tuple:
                return _crc_of_hashes(map(hash, values))
            return list(map(zlib.crc32, map(str.encode, map(repr, values))))
        except (UnicodeEncodeError, TypeError):
            pass  # a lone surrogate, or naive and aware datetimes mixed: value by value
    return list(map(stable_hash, values))


# Values whose own hash() is the same in every process get a crc32 of that hash instead of their
# repr: a timedelta hashes as its (days, seconds, microseconds) tuple and a tuple of ints as its
# ints, with no salt. The crc32 spreads the bits, which a k-minimum-values sketch needs. Tuples
# are the (high, low) bit pairs that stand for Decimal128 values (unhashable) in the sketch.
EPOCH = datetime(1970, 1, 1)
EPOCH_UTC = EPOCH.replace(tzinfo=timezone.utc)
MASK64 = 2**64 - 1
EIGHT_BYTES = methodcaller("to_bytes", 8, "little")


def _crc_of_hashes(hashes: Iterable[int]) -> list[int]:
    return list(map(zlib.crc32, map(EIGHT_BYTES, map(and_, hashes, repeat(MASK64)))))


def _since_epoch(moment: datetime) -> timedelta:
    """Naive BSON datetimes are UTC: a naive and an aware spelling of one instant hash alike."""
    return moment - (EPOCH if moment.tzinfo is None else EPOCH_UTC)


class DistinctSketch:
    """Distinct-value estimate: exact up to `k` values, then a k-minimum-values sketch.

    Below `k` distinct values the answer is exact (the common case for enums and flags);
    above, the k smallest stable hashes estimate the count with a few percent error. The sketch
    keeps one value per kept hash, so it is also a uniform sample of the distinct values that
    does not depend on their order (the value detectors read it), and merges exactly.
    """

    __slots__ = ("k", "exact", "bottom", "seen")

    def __init__(self, k: int = 512) -> None:
        self.k = k
        self.exact: set | None = set()
        self.bottom: dict[int, object] = {}  # once past exact: the k smallest hashes -> a value
        self.seen = 0  # values added: no estimate may exceed it

    def add_many(self, values: list, seen: int | None = None) -> None:
        """Add a chunk of values (`seen`: how many they stand for, when already deduplicated)."""
        self.seen += len(values) if seen is None else seen
        unique = _hashable_set(values)
        if self.exact is not None:
            self.exact |= unique
            if len(self.exact) <= self.k:
                return
            unique, self.exact = self.exact, None
        if unique:
            unique = list(unique)
            self._keep(stable_hashes(unique), unique)

    def _keep(self, hashes: list[int], values: list) -> None:
        if len(self.bottom) == self.k:  # only hashes under the k-th smallest can enter (C-level filter)
            mask = list(map(max(self.bottom).__gt__, hashes))
            hashes, values = list(compress(hashes, mask)), list(compress(values, mask))
        merged = {**dict(zip(hashes, values)), **self.bottom}
        self.bottom = {h: merged[h] for h in heapq.nsmallest(self.k, merged)}

    def merge(self, other: DistinctSketch) -> None:
        """Combine with a sketch of another part of the same stream: the result is the sketch
        the whole stream would have given (unions and k-smallest hashes do not depend on order)."""
        if other.exact is not None:
            self.add_many(list(other.exact), seen=other.seen)
            return
        self.seen += other.seen
        if self.exact is not None:
            own, self.exact = list(self.exact), None
            if own:
                self._keep(stable_hashes(own), own)
        self._keep(list(other.bottom), list(other.bottom.values()))

    def estimate(self) -> int:
        if self.exact is not None:
            return len(self.exact)
        kth = max(self.bottom)
        return min(self.seen, round((self.k - 1) * HASH_SPACE / (kth + 1)))

    def fingerprints(self) -> tuple[list[int], bool, float]:
        """The held distinct values as hashes keyed with this run's random key (redact.py), sorted;
        whether they are all of them; and the share of the stable-hash space they were drawn from
        (1.0 when all). Enough to estimate how much of one field's values another field holds,
        across collections and sources, without keeping a value or a hash another run could match.
        The sample itself is chosen by the stable hash, so the same input gives the same findings."""
        from nosql_advisor.redact import keyed_hashes  # redact.py imports this module

        if self.exact is not None:
            return sorted(keyed_hashes(list(self.exact))), True, 1.0
        return sorted(keyed_hashes(list(self.bottom.values()))), False, round((max(self.bottom) + 1) / HASH_SPACE, 4)

    def sample(self) -> list:
        """The distinct values held: all of them below k, else a uniform sample of k."""
        return list(self.exact if self.exact is not None else self.bottom.values())


def _hashable_set(values: Iterable[object]) -> set:
    try:
        return set(values)
    except TypeError:  # Decimal128, Regex, ... are unhashable: stand in a hashable key
        return {_hashable(v) for v in values}


def _hashable(value: object) -> object:
    if type(value) is Decimal128:
        return value.bid
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value
