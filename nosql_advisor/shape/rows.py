"""A bounded sample of documents as rows of value hashes, for joins across collections.

Cross-collection rules need to line one collection's copy up with its source document (DM202:
does `reviews.product_name` still equal `products.name` of the product `reviews.product_id`
points at?). Field-level fingerprints cannot answer that; rows can. A row is one document's
scalar values outside arrays, each replaced by its hash keyed with the run's random key
(redact.py): `{"product_id": h1, "product_name": h2, "customer.email": h3}`. No value is kept,
and no hash is comparable with another run's (nor with a hash of a guessed value).

Which documents: the `k` with the smallest stable (unkeyed, never kept) hash of `_id` (a bottom-k sample). That is a
uniform sample that does not depend on the order documents arrive in, so two workers' samples
merge exactly into the sample one pass would have kept, and the same input always gives the same
rows. Below `k` documents, every document is a row, and joins are exact.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from operator import itemgetter

from nosql_advisor.bsontypes import OBJECT_TYPES
from nosql_advisor.redact import keyed_hashes, run_key_id
from nosql_advisor.shape.stats import stable_hashes

DEFAULT_ROWS = 2000
MAX_ROW_DEPTH = 8  # nested objects deeper than this are not part of a row


class RowSample:
    """Feed every document to `add_many`; `rows()` gives the kept rows, ordered by `_id` hash."""

    __slots__ = ("k", "heap", "kept", "key_id")

    def __init__(self, k: int = DEFAULT_ROWS) -> None:
        self.k = k
        self.key_id = run_key_id()  # rows of two keys cannot be joined: merge refuses them
        self.heap: list[int] = []  # negated _id hashes: heap[0] is minus the largest kept
        self.kept: dict[int, dict[str, int]] = {}

    def add_many(self, documents: list[Mapping]) -> None:
        """Offer a chunk of documents. Candidates go in ascending hash order, so the first one
        that does not fit ends the chunk and rows are only computed for documents that stay."""
        if self.k <= 0:
            return
        present = [document for document in documents if "_id" in document]
        keys = stable_hashes([document["_id"] for document in present])
        if len(self.heap) == self.k:
            largest = -self.heap[0]
            candidates = [(key, document) for key, document in zip(keys, present) if key < largest]
        else:
            candidates = list(zip(keys, present))
        candidates.sort(key=itemgetter(0))  # stable: of equal _ids, the first document wins
        entered = []  # ascending keys: none evicts another of the same chunk
        for key, document in candidates:
            if key in self.kept:
                continue
            if not self._make_room(key):
                break
            self.kept[key] = None
            entered.append((key, document))
        for (key, _), row in zip(entered, rows_of([document for _, document in entered])):
            self.kept[key] = row

    def merge(self, other: RowSample) -> None:
        """The sample both parts' documents would have given in one pass."""
        if other.key_id != self.key_id:
            raise RuntimeError("row samples hashed with different run keys cannot be merged "
                               "(a worker process did not share the run's key)")
        for key in sorted(other.kept):
            if key in self.kept:
                continue
            if not self._make_room(key):
                break  # the rest of other's keys are larger still
            self.kept[key] = other.kept[key]

    def _make_room(self, key: int) -> bool:
        """Whether `key` belongs among the k smallest; if so its place is taken (evicting the
        largest when full) and the caller stores its row."""
        if len(self.heap) < self.k:
            heapq.heappush(self.heap, -key)
        elif key < -self.heap[0]:
            del self.kept[-heapq.heappushpop(self.heap, -key)]
        else:
            return False
        return True

    def rows(self) -> list[dict[str, int]]:
        return [self.kept[key] for key in sorted(self.kept)]


def row_hashes(document: Mapping) -> dict[str, int]:
    """Path -> hash of each scalar value outside arrays (nested objects walked), keyed with the
    run's random key (redact.py): rows join within a run, and no hash means anything outside it."""
    return rows_of([document])[0]


def rows_of(documents: list[Mapping]) -> list[dict[str, int]]:
    """`row_hashes` of each document, hashed in one batch."""
    rows = [row_values(document) for document in documents]
    hashes = iter(keyed_hashes([value for row in rows for value in row.values()]))
    return [{path: next(hashes) for path in row} for row in rows]


def row_values(document: Mapping, prefix: str = "", depth: int = 0) -> dict[str, object]:
    """Path -> each scalar value outside arrays (nested objects walked)."""
    row: dict[str, object] = {}
    for key, value in document.items():
        path = f"{prefix}{key}"
        kind = type(value)
        if kind in OBJECT_TYPES:
            if depth < MAX_ROW_DEPTH:
                row.update(row_values(value, f"{path}.", depth + 1))
        elif kind is not list and value is not None:
            row[path] = value
    return row
