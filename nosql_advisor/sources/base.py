"""What every source hands to inference: its collections, each with its metadata
(CollectionInfo) and its documents as raw-BSON batches (RawBatch).

Raw BSON is the one currency: a dump's records, a live cursor's documents and the NDJSON lines
libbson turns into BSON all travel as whole documents concatenated, undecoded, so the inference
engine reads the bytes themselves (shape/engine.py) and Python objects are made only where
Python needs them (validation against a declared schema). What libbson cannot take (legacy
`$symbol`/`$undefined`/`$dbPointer` lines, NaN) travels already decoded in the same batch, in its
place. A document's size is its BSON length (an encode for a decoded one).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol
from fnmatch import fnmatchcase

from bson.codec_options import CodecOptions, DatetimeConversion

from nosql_advisor.errors import Problem, ProblemList
from nosql_advisor.sources.legacy_types import decode_run

Document = tuple[dict, int]  # a decoded document and its BSON size
Advance = Callable[[int], None]

# Dates outside Python's datetime range (year 0 or 10000+) decode as DatetimeMS instead of
# failing the whole document; naive datetimes are UTC.
CODEC_OPTIONS = CodecOptions(datetime_conversion=DatetimeConversion.DATETIME_AUTO)

SYSTEM_DATABASES = frozenset({"admin", "local", "config"})


@dataclass(frozen=True)
class Selection:
    """Which namespaces to read and how much of each."""

    databases: tuple[str, ...] = ()  # globs; empty = every non-system database
    collections: tuple[str, ...] = ()  # globs; empty = every non-system collection
    sample_size: int | None = None  # None: every document (files) / 1000 (live)
    seed: int = 0

    def wants_database(self, database: str) -> bool:
        if self.databases:
            return any(fnmatchcase(database, g) for g in self.databases)
        return database not in SYSTEM_DATABASES

    def wants(self, database: str, collection: str) -> bool:
        if collection.startswith("system.") or not self.wants_database(database):
            return False
        return not self.collections or any(fnmatchcase(collection, g) for g in self.collections)


@dataclass
class CollectionInfo:
    """A collection found in a source, before any document is read."""

    namespace: str
    location: str  # file path or redacted URI: safe to print
    kind: str  # "live" | "dump" | "export"
    estimated_count: int | None = None
    indexes: list[dict] = field(default_factory=list)
    options: dict = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    has_metadata: bool = False  # dump: a .metadata.json was read (so options are known)
    # live: $collStats storageStats in bytes {"size", "storage_size", "total_index_size",
    # "index_sizes": {name: bytes}}; None where the source does not say (dumps, exports)
    storage: dict | None = None
    # how far the collection was read: "complete", or "incomplete" / "dropped" / "timed_out"
    # with `status_reason` in words; anything but complete makes the run exit 4
    status: str = "complete"
    status_reason: str | None = None
    # rules that could not be checked on this collection, rule id -> reason in words
    # ("not authorised for $indexStats"): report.json's `coverage`, never a silent pass
    not_checked: dict[str, str] = field(default_factory=dict)
    # how its documents are read, as the shape's `method` says: "sample" ($sample), "full" (every
    # document), "file-sample" (a seeded uniform sample of a file), "exact" (--exact)
    method: str = "full"
    strata: list[dict] | None = None  # --stratify time: the age buckets read (live.stratified_documents)
    stratify_fallback: str | None = None  # --stratify time not applied: why (live.stratified_documents)

    @property
    def knows_metadata(self) -> bool:
        """Whether the source says what the collection's indexes and options (validator included)
        are: a live server, or a dump whose .metadata.json was read. An export file never does."""
        return self.kind == "live" or (self.kind == "dump" and self.has_metadata)


def split_namespace(namespace: str) -> tuple[str, str]:
    database, _, collection = namespace.partition(".")
    return database, collection


def reservoir(records: Iterator, size: int, seed: int) -> list:
    """A uniform random sample of `size` records, the same for the same seed and input.

    Keeps at most `size` records in memory; returns them in their input order.
    """
    import random

    rng = random.Random(seed)
    kept: list = []
    for index, record in enumerate(records):
        if index < size:
            kept.append((index, record))
        else:
            slot = rng.randrange(index + 1)
            if slot < size:
                kept[slot] = (index, record)
    kept.sort(key=lambda pair: pair[0])
    return [record for _, record in kept]


@dataclass
class RawBatch:
    """Documents of one stretch of a source, as the inference engine takes them: `data` holds
    whole BSON documents concatenated, document i starting at `starts[i]` (length prefixes
    already checked by the source). `decoded` holds documents the source had to decode itself
    (export lines libbson cannot take), each `(before, document, bson_size)` fed just before raw
    document `before` (len(starts): after the last), so the order is the source's. `problems`
    are what the source found building the batch (lines that are no document), `records` the
    records the batch accounts for (the file's count: bad ones included)."""

    data: bytes
    starts: list[int]
    where: Callable[[int], str]  # names raw document i in a problem (file@offset, file:line)
    records: int = 0
    decoded: list[tuple[int, Mapping, int]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # what raw document i, which does not decode (`why`), becomes: a problem (the default), or a
    # document read another way (an export line: json_util decides, as it always did)
    rescue: Callable[[int, str], Document | Problem] | None = None

    def undecodable(self, index: int, why: str) -> Document | Problem:
        if self.rescue is not None:
            return self.rescue(index, why)
        return Problem(self.where(index), f"invalid BSON document skipped: {why}")

    def pieces(self) -> Iterator[tuple[int, bytes, list[int]] | Document]:
        """The batch in order: runs of raw documents as `(first index, data, starts)` (starts
        into that data), and the decoded documents between them as `(document, size)`. Without
        decoded documents: one run, the batch's own bytes, not copied."""
        if not self.decoded:
            if self.starts:
                yield 0, self.data, self.starts
            return
        first = 0
        for before, document, size in self.decoded:
            if before > first:
                yield first, *self._run(first, before)
            yield document, size
            first = max(first, before)
        if first < len(self.starts):
            yield first, *self._run(first, len(self.starts))

    def _run(self, first: int, stop: int) -> tuple[bytes, list[int]]:
        begin = self.starts[first]
        end = self.starts[stop] if stop < len(self.starts) else len(self.data)
        return self.data[begin:end], [start - begin for start in self.starts[first:stop]]


def document_starts(data: bytes) -> list[int]:
    """Where each document of `data` (whole documents, lengths already checked) starts."""
    starts, position, unpack = [], 0, struct.Struct("<i").unpack_from
    while position < len(data):
        starts.append(position)
        position += unpack(data, position)[0]
    return starts


def joined(records: Sequence[bytes]) -> tuple[bytes, list[int]]:
    """Raw documents as one batch's data and starts."""
    starts, position = [], 0
    for record in records:
        starts.append(position)
        position += len(record)
    return b"".join(records), starts


class Intake(Protocol):
    """Where a source's batches go: the scan's inference pass (a ShapeBuilder of the engine in
    use, and the validation tally when a schema is declared). A file source read in several
    processes feeds a fresh one in each and merges them (parallel.py)."""

    documents: int  # documents added so far

    def feed(self, batch: RawBatch) -> ProblemList:
        """Add the batch's documents; the problems of those that are no document, in order."""

    def fresh(self) -> Intake:
        """An empty intake of the same kind (a worker process's)."""

    def merge(self, other: Intake) -> None:
        """Fold in one that read another part of the same collection."""

    def adopt(self, other: Intake) -> None:
        """Become `other` (the merged intakes of the workers)."""

    def flush(self) -> None:
        """Finish pending work (before it is pickled back from a worker)."""


def decode_batch(batch: RawBatch) -> tuple[list[Document], ProblemList]:
    """Every document of the batch decoded, in order, and the problems of those that do not
    decode: what a ValidationTally (or a test) needs; inference itself takes the bytes."""
    documents: list[Document] = []
    problems = ProblemList()
    problems.extend(batch.problems)
    for piece in batch.pieces():
        if len(piece) == 2:
            documents.append(piece)
            continue
        first, data, starts = piece
        decoded, failures = decode_run(data, starts)
        documents.extend((document, size) for _, document, size in decoded)
        for index, why in failures:
            rescued = batch.undecodable(first + index, why)
            (problems if isinstance(rescued, Problem) else documents).append(rescued)
    return documents, problems
