"""A bounded sample of documents as rows of value hashes, for joins across collections.

Cross-collection rules need to line one collection's copy up with its source document (DM202:
does `reviews.product_name` still equal `products.name` of the product `reviews.product_id`
points at?). Field-level fingerprints cannot answer that; rows can. A row is one document's
scalar values outside arrays, each replaced by its hash keyed with the run's random key
(redact.py; a whole number hashed as the int it equals, whatever its numeric type: `comparable`):
`{"product_id": h1, "product_name": h2, "customer.email": h3}`. No value is kept, and no hash is
comparable with another run's (nor with a hash of a guessed value).

More things ride in a row, under keys no BSON field name can have (they start with NUL, which
ends a BSON key): TYPED holds the hash of a number as stored where the row's own hash is the
comparable int (20.0, NumberDecimal("20")), as the fields' fingerprints hash it; CANONICAL
holds, for each ObjectId or number value, the hash of its text form (the hex of an ObjectId, the
decimal text of an integer), so a reference stored as a string
can still be joined to the `_id` it names (DM203); ID_ARRAYS holds, for each array of scalar ids
(ObjectIds, ints, strings), the hashes of its elements' text forms as a sorted packed set (8 bytes
each, at most MAX_ROW_IDS per row: hashing is what a row costs, and each row kept is hashed; paths
cut short are in TRUNCATED), so two
collections listing each other's ids can be compared pair by pair (DM204).

Which documents: the `k` with the smallest stable (unkeyed, never kept) hash of `_id` (a bottom-k sample). That is a
uniform sample that does not depend on the order documents arrive in, so two workers' samples
merge exactly into the sample one pass would have kept, and the same input always gives the same
rows. Below `k` documents, every document is a row, and joins are exact.
"""

from __future__ import annotations

import heapq
import math
import struct
from collections.abc import Callable, Mapping, Sequence
from itertools import repeat
from operator import is_, itemgetter, methodcaller

from bson import Decimal128, Int64, ObjectId

from nosql_advisor.bsontypes import OBJECT_TYPES
from nosql_advisor.redact import keyed_hashes, run_key_id
from nosql_advisor.shape.stats import stable_hashes

DEFAULT_ROWS = 2000
MAX_ROW_DEPTH = 8  # nested objects deeper than this are not part of a row
CANONICAL = "\x00canonical"  # path -> hash of the text form of an ObjectId or number value
ID_ARRAYS = "\x00ids"  # path -> sorted packed 8-byte hashes of an array's scalar elements
TRUNCATED = "\x00truncated"  # paths of ID_ARRAYS cut short (the row's budget was spent)
TYPED = "\x00typed"  # path -> hash of the value as stored, where `comparable` changed it (20.0)
MAX_ROW_IDS = 256  # array elements carried per row, over all its arrays: 2 KB at most
MISSING = object()  # a chunk view's `ids()` entry for a document without an `_id`
GET_ID = methodcaller("get", "_id", MISSING)


class RowSample:
    """Feed every chunk to `add_chunk` (or its documents to `add_many`); `rows()` gives the kept
    rows, ordered by `_id` hash.

    A document entering the sample is not hashed then: a bottom-k sample of k admits about
    k*(1+ln(N/k)) documents over a stream of N, most of them evicted later. What makes its row is
    kept instead (`pending`: the raw BSON bytes a view's `raw(i)` gives, else the decoded
    document), and rows are made only for documents still in the sample: when asked (`rows()`,
    `merge`, pickling for worker processes) or when the raw bytes held pass PENDING_BYTES. A row is
    a function of the document and the run's key, so the rows are the ones made at once."""

    __slots__ = ("k", "heap", "kept", "key_id", "pending", "pending_bytes")

    def __init__(self, k: int = DEFAULT_ROWS) -> None:
        self.k = k
        self.key_id = run_key_id()  # rows of two keys cannot be joined: merge refuses them
        self.heap: list[int] = []  # negated _id hashes: heap[0] is minus the largest kept
        self.kept: dict[int, dict | None] = {}  # None: the row is still to make, from `pending`
        self.pending: dict[int, object] = {}  # key -> raw BSON bytes or a decoded document
        self.pending_bytes = 0  # of the raw bytes in `pending`

    def add_many(self, documents: Sequence[Mapping]) -> None:
        """Offer a chunk of decoded documents (what `add_chunk` does for a chunk view)."""
        self._offer(list(map(GET_ID, documents)), documents.__getitem__)

    def add_chunk(self, chunk) -> None:
        """Offer a chunk through its view (invariants.Chunk): the `_id`s are hashed, and only the
        documents that enter the sample are asked for (`chunk.raw(i)`, the document's BSON bytes,
        when the view has it, else `chunk.document(i)`), so an engine that keeps raw BSON decodes
        only the documents that stay. A view may offer `id_hashes()`: each `_id`'s `stable_hash`
        (MISSING without one), or None when it cannot give them all; then no `_id` is made a
        Python value."""
        if self.k <= 0:
            return
        material = getattr(chunk, "raw", None) or chunk.document
        hashes = getattr(chunk, "id_hashes", None)
        keys = hashes() if hashes is not None else None
        if keys is None:
            self._offer(chunk.ids(), material)
        else:
            present, keys = _present(keys)
            self._enter(keys, present, material)

    def _offer(self, ids: list, document: Callable[[int], object]) -> None:
        """`ids`: each document's `_id`, MISSING when it has none (it is not offered)."""
        if self.k <= 0:
            return
        present, ids = _present(ids)
        self._enter(stable_hashes(ids), present, document)

    def _enter(self, keys: list[int], present: Sequence[int], document: Callable[[int], object]) -> None:
        """`keys`: the `_id` hashes of the documents at `present`; `document(i)`: what makes the
        row of document i (its raw BSON bytes or the decoded document). Candidates go in
        ascending hash order, so the first one that does not fit ends the chunk."""
        if len(self.heap) == self.k:
            largest = -self.heap[0]
            candidates = [(key, index) for key, index in zip(keys, present) if key < largest]
        else:
            candidates = list(zip(keys, present))
        candidates.sort(key=itemgetter(0))  # stable: of equal _ids, the first document wins
        pending = self.pending
        for key, index in candidates:
            if key in self.kept:
                continue
            if not self._make_room(key):
                break
            self.kept[key] = None
            material = pending[key] = document(index)
            if type(material) is bytes:
                self.pending_bytes += len(material)
        if self.pending_bytes > PENDING_BYTES:
            self._make_rows()

    def _make_rows(self) -> None:
        """The rows of the documents still pending, hashed in one batch."""
        if not self.pending:
            return
        from nosql_advisor.sources.base import CODEC_OPTIONS  # sources import shape: not at load
        from nosql_advisor.sources.legacy_types import decode_one

        keys = list(self.pending)
        documents = [decode_one(material, CODEC_OPTIONS) if type(material) is bytes else material
                     for material in self.pending.values()]
        for key, row in zip(keys, rows_of(documents)):
            self.kept[key] = row
        self.pending.clear()
        self.pending_bytes = 0

    def merge(self, other: RowSample) -> None:
        """The sample both parts' documents would have given in one pass."""
        if other.key_id != self.key_id:
            raise RuntimeError("row samples hashed with different run keys cannot be merged "
                               "(a worker process did not share the run's key)")
        other._make_rows()
        for key in sorted(other.kept):
            if key in self.kept:
                continue
            if not self._make_room(key):
                break  # the rest of other's keys are larger still
            self.kept[key] = other.kept[key]
        self._make_rows()

    def _make_room(self, key: int) -> bool:
        """Whether `key` belongs among the k smallest; if so its place is taken (evicting the
        largest when full, its pending material dropped unhashed) and the caller stores its row."""
        if len(self.heap) < self.k:
            heapq.heappush(self.heap, -key)
        elif key < -self.heap[0]:
            evicted = -heapq.heappushpop(self.heap, -key)
            del self.kept[evicted]
            material = self.pending.pop(evicted, None)
            if type(material) is bytes:
                self.pending_bytes -= len(material)
        else:
            return False
        return True

    def rows(self) -> list[dict]:
        self._make_rows()
        return [self.kept[key] for key in sorted(self.kept)]

    def __getstate__(self) -> dict:
        """Rows, not documents, go to and from worker processes."""
        self._make_rows()
        return {name: getattr(self, name) for name in self.__slots__}

    def __setstate__(self, state: dict) -> None:
        for name in self.__slots__:
            setattr(self, name, state[name])


PENDING_BYTES = 64 << 20  # raw BSON held for rows still to make: past it, the rows are made


def _present(ids: list) -> tuple[Sequence[int], list]:
    """(the positions of the entries that are not MISSING, those entries)."""
    if any(map(is_, ids, repeat(MISSING))):
        present = [index for index, value in enumerate(ids) if value is not MISSING]
        return present, [ids[index] for index in present]
    return range(len(ids)), ids


def row_hashes(document: Mapping) -> dict:
    """Path -> hash of each scalar value outside arrays (nested objects walked), keyed with the
    run's random key (redact.py): rows join within a run, and no hash means anything outside it.
    Plus, when the document has them, CANONICAL, ID_ARRAYS and TRUNCATED (see the module's doc)."""
    return rows_of([document])[0]


def rows_of(documents: list[Mapping]) -> list[dict]:
    """`row_hashes` of each document, hashed in one batch."""
    walked = [_walk(document) for document in documents]
    canonical = [{path: text for path, value in row.items() if (text := canonical_text(value)) is not None}
                 for row, _ in walked]
    arrays = [id_arrays(found) for _, found in walked]
    compared = [{path: comparable(value) for path, value in row.items()} for row, _ in walked]
    typed = [{path: value for path, value in row.items() if same[path] is not value}
             for (row, _), same in zip(walked, compared)]
    hashes = iter(keyed_hashes([value for row in compared for value in row.values()]
                               + [text for texts in canonical for text in texts.values()]
                               + [e for found, _ in arrays for elements in found.values() for e in elements]
                               + [value for values in typed for value in values.values()]))
    made = [{path: next(hashes) for path in row} for row in compared]
    for row, texts in zip(made, canonical):
        if texts:
            row[CANONICAL] = {path: next(hashes) for path in texts}
    for row, (found, truncated) in zip(made, arrays):
        if found:
            row[ID_ARRAYS] = {path: _packed([next(hashes) for _ in elements]) for path, elements in found.items()}
        if truncated:
            row[TRUNCATED] = frozenset(truncated)
    for row, values in zip(made, typed):
        if values:
            row[TYPED] = {path: next(hashes) for path in values}
    return made


def comparable(value: object) -> object:
    """The value as a copy is compared: a whole number as the int it equals, whether stored as
    int, long, double or Decimal128 (MongoDB holds 20, NumberLong(20), 20.0 and
    NumberDecimal("20") equal), so a price copied as an int beside a double source joins as one
    value. Other values as they are; the text form DM203 reads is CANONICAL's, kept apart."""
    kind = type(value)  # a long is an int already: it hashes as its digits
    if kind is float:
        return int(value) if math.isfinite(value) and value.is_integer() and abs(value) < LONG_LIMIT else value
    if kind is Decimal128:
        number = value.to_decimal()
        # only whole numbers a long could hold: NumberDecimal("1E+6000") is whole too, but its int
        # has 6,001 digits (past what Python will print) and equals no int or long anyway
        whole = number.is_finite() and number.adjusted() < 19 and number == number.to_integral_value()
        return int(number) if whole and abs(number) < LONG_LIMIT else value
    return value


LONG_LIMIT = 2**63  # a BSON long holds -2**63 .. 2**63 - 1: no int compares equal past it


def row_values(document: Mapping) -> dict[str, object]:
    """Path -> each scalar value outside arrays (nested objects walked)."""
    return _walk(document)[0]


def _walk(document: Mapping) -> tuple[dict[str, object], dict[str, list]]:
    """(path -> each scalar value outside arrays, path -> each array outside arrays), nested
    objects walked down to MAX_ROW_DEPTH, in one pass."""
    scalars: dict[str, object] = {}
    arrays: dict[str, list] = {}
    stack = [(document, "", 0)]
    while stack:
        node, prefix, depth = stack.pop()
        for key, value in node.items():
            kind = type(value)
            if kind in OBJECT_TYPES:
                if depth < MAX_ROW_DEPTH:
                    stack.append((value, f"{prefix}{key}.", depth + 1))
            elif kind is list:
                arrays[f"{prefix}{key}"] = value
            elif value is not None:
                scalars[f"{prefix}{key}"] = value
    return scalars, arrays


def _int_text(value: int) -> str:
    return str(int(value))


def _float_text(value: float) -> str | None:
    return str(int(value)) if math.isfinite(value) and value.is_integer() else None


TEXT_FORMS = {ObjectId: str, int: _int_text, Int64: _int_text, float: _float_text}


def canonical_text(value: object) -> str | None:
    """The text an ObjectId or a whole number is written as when stored as a string (hex of the
    ObjectId, decimal digits: int and long alike, as MongoDB compares them as one number), or None
    for any other value: a string is its own text form."""
    form = TEXT_FORMS.get(type(value))
    return form(value) if form is not None else None


ID_TYPES = frozenset({ObjectId, str, int, Int64})


def id_arrays(arrays: dict[str, list]) -> tuple[dict[str, list], set[str]]:
    """Path -> the text forms (canonical_text, or the string itself) of the elements of each
    non-empty array of scalar ids (top-level arrays first) while the row's budget (MAX_ROW_IDS)
    lasts, and the paths cut short. Text forms, so a list of ids meets the `_id`s it names whatever type
    either side stores them as."""
    found: dict[str, list] = {}
    truncated: set[str] = set()
    budget = MAX_ROW_IDS
    for path, elements in arrays.items():
        if not elements or not set(map(type, elements)) <= ID_TYPES:
            continue
        if len(elements) > budget:
            truncated.add(path)
        if budget:
            kept = elements[:budget]
            found[path] = [e if type(e) is str else TEXT_FORMS[type(e)](e) for e in kept]
            budget -= len(kept)
    return found, truncated


def _packed(hashes: list[int]) -> bytes:
    unique = sorted(set(hashes))
    return struct.pack(f"<{len(unique)}Q", *unique)


# -- reading a row ---------------------------------------------------------------------------------

def canonical(row: Mapping, path: str) -> int | None:
    """The hash of the value's text form: a string's own hash, an ObjectId's hex, a number's digits."""
    return row.get(CANONICAL, {}).get(path, row.get(path))


def typed(row: Mapping, path: str) -> int | None:
    """The hash of the value as stored (20.0, a whole Decimal128), as the fields' fingerprints hash it; the
    row's own hash at `path` is the comparable one (a whole number as an int)."""
    return row.get(TYPED, {}).get(path, row.get(path))


def is_text(row: Mapping, path: str) -> bool:
    """Whether the value at `path` has no other text form than itself (a string, a date...):
    it equals an ObjectId or a number only as text, never as MongoDB compares values."""
    return path not in row.get(CANONICAL, {})


def ids(row: Mapping, path: str) -> set[int]:
    """The text-form hashes of the array of ids at `path` (empty when the row holds none): compare
    them with `canonical(row, "_id")` of the documents they name."""
    packed = row.get(ID_ARRAYS, {}).get(path, b"")
    return set(struct.unpack(f"<{len(packed) // 8}Q", packed))


def ids_complete(row: Mapping, path: str) -> bool:
    """Whether `ids(row, path)` is every element the document held there."""
    return path not in row.get(TRUNCATED, ())
