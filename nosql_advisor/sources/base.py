"""What every source hands to inference: a collection, its metadata, a stream of documents.

Documents travel as `(document, bson_size)` pairs: the size is what the document weighs in
BSON (what counts against the 16 MiB limit), measured where it is cheapest (the raw bytes of
a dump or a live cursor, an encode for exports).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from bson.codec_options import CodecOptions, DatetimeConversion

from nosql_advisor.errors import Problem

Document = tuple[dict, int]
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
