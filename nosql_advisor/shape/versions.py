"""Schema evolution read from the documents (DM508): a version field's split, and the fields that
only older documents hold.

- A top-level `schema_version`, `schemaVersion`, `_v` or `version` holding at most a dozen distinct
  int or string values splits the documents by version (documents without `schema_version`,
  `schemaVersion` or `_v` are a version of their own: the field often arrives with the second
  shape): how many documents each version has, and how many of them hold each top-level field.
  (Mongoose's `__v` counts a document's edits, it is not a schema version.) The generic name
  `version` is one only when its values are small ints from 1 (or "v1"/"1" strings): "1.2.3" is a
  product's version, and values from 0, or a `version` beside Spring's `_class` or Mongoose's
  `__v`, are an optimistic-lock counter; documents without `version` are another kind of
  document, not an older version.
- For each top-level field: how many documents with a creation time (their ObjectId `_id`'s, else a
  created_at-like date's) hold it, and the last day one of them was created; with the documents
  per creation day, the rule tells a field that documents created lately no longer hold (written
  before, still held by the older ones) from one merely optional at every age. Beside them, what
  tells a field set later in a document's life: the newest updated_at-like day of the documents
  holding it, and how much earlier than all the documents created up to its last day its holders
  were created (a field set by age is held more often by the oldest).

Only counts, maxima and per-day counters are kept: merged tallies equal one pass over both parts.
A chunk is read through its view (invariants.TopLevel over a `Chunk`): a field every document
holds costs no pass at all, another one pass over presence flags, and values are made only for
the version, creation and update fields.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import accumulate, compress, repeat
from operator import attrgetter, floordiv, sub

from bson import Int64

from nosql_advisor.rules.audit import CREATED, UPDATED
from nosql_advisor.shape.invariants import TopLevel, merge_value_counts

VERSION_FIELDS = ("schema_version", "schemaVersion", "_v", "version")
MAX_VERSIONS = 12
VERSION_TYPES = frozenset({int, Int64, float, str})  # bool is not a version
UNVERSIONED_IS_A_VERSION = ("schema_version", "schemaVersion", "_v")  # not `version`: another kind
LOCK_COMPANIONS = ("_class", "__v")  # Spring Data's and Mongoose's: `version` beside them counts edits
NUMBERED = re.compile(r"^[vV]?([0-9]+)$")  # "v2", "2"; not "1.2.3"
DAY = 86400


@dataclass
class Version:
    value: int | str | None  # None: the documents without the version field
    documents: int
    fields: dict[str, int]  # top-level field -> documents of this version that hold it


@dataclass
class FieldAge:
    """A top-level field that no document created after `last_seen` holds."""

    path: str
    documents: int  # documents with a creation time that hold it
    last_seen: str  # creation day (ISO date) of the newest of them
    older: int  # documents created up to that day, with or without the field
    newer: int  # documents created after it: none holds the field
    written_until: str | None = None  # newest updated_at-like day of the documents holding it
    # how many standard errors earlier its holders were created, on average, than all the
    # documents created up to `last_seen` (0 when every one of them holds it)
    held_earlier: float = 0.0


@dataclass
class Evolution:
    version_field: str | None
    versions: list[Version]
    dated: dict[str, int]  # what gave documents their creation time: {"_id": n, "created_at": m}
    newest: str | None  # creation day of the newest dated document
    aged: list[FieldAge] = field(default_factory=list)


class VersionTally:
    def __init__(self) -> None:
        self.documents = 0
        self.held: Counter[str] = Counter()  # top-level field -> documents holding it
        self.days: Counter[int] = Counter()  # documents per creation day
        self.dated_by: Counter[str] = Counter()
        self.last_day: dict[str, int] = {}  # top-level field -> newest creation day holding it
        self.dated_held: Counter[str] = Counter()  # top-level field -> dated documents holding it
        self.day_sum: Counter[str] = Counter()  # top-level field -> sum of its dated holders' creation days
        self.written: dict[str, int] = {}  # top-level field -> newest updated_at-like day holding it
        # version field -> value -> [documents, Counter of the fields they hold]; None: not a version field
        self.versions: dict[str, dict | None] = {}

    def add_chunk(self, chunk: TopLevel, stamps: Sequence[int | None]) -> None:
        """`stamps`: each document's ObjectId `_id` creation second, or None."""
        self.documents += chunk.size
        days = self._days(chunk, stamps)
        dated = [day for day in days if day is not None] if None in days else days
        self.days.update(dated)
        newest = max(dated, default=None)
        names = [name for name in VERSION_FIELDS if name in chunk.kinds and self.versions.get(name, {}) is not None]
        versions = {name: chunk.column(name) for name in names}
        updated = _updated_days(chunk)
        for key in chunk.kinds:
            if chunk.uniform(key):
                self.held[key] += chunk.size
                self._aged(key, dated, newest)
                self._written(key, updated)
                for name, column in versions.items():
                    self._version_counts(name, key, column)
                continue
            held = chunk.held_by(key)
            self.held[key] += sum(held)
            key_days = _dated(list(compress(days, held)))
            self._aged(key, key_days, max(key_days, default=None))
            if updated is not None:
                self._written(key, list(compress(updated, held)))
            for name, column in versions.items():
                self._version_counts(name, key, list(compress(column, held)))

    def _days(self, chunk: TopLevel, stamps: Sequence[int | None]) -> list[int | None]:
        """Each document's creation day: its ObjectId `_id`'s, else its created_at-like date's."""
        if None not in stamps:
            self.dated_by["_id"] += len(stamps)
            return list(map(floordiv, stamps, repeat(DAY)))
        if len(stamps) > stamps.count(None):
            self.dated_by["_id"] += len(stamps) - stamps.count(None)
        created = next((key for key in chunk.holding({datetime}) if CREATED.match(key)), None)
        dates = _days_of(chunk.column(created)) if created is not None else repeat(None)
        days = []
        for stamp, date in zip(stamps, dates):
            if stamp is None and date is not None:
                self.dated_by[created] += 1
                days.append(date)
            else:
                days.append(None if stamp is None else stamp // DAY)
        return days

    def _aged(self, key: str, days: list[int], newest: int | None) -> None:
        if days:
            self.dated_held[key] += len(days)
            self.day_sum[key] += sum(days)
            self.last_day[key] = max(newest, self.last_day.get(key, newest))

    def _written(self, key: str, updated: list[int | None] | None) -> None:
        newest = max(_dated(updated), default=None) if updated is not None else None
        if newest is not None:
            self.written[key] = max(newest, self.written.get(key, newest))

    def _version_counts(self, name: str, key: str, values: Sequence) -> None:
        """Documents holding `key` per value of the version field `name` (the values of those
        documents); when `key` is the version field itself, the versions' own counts too."""
        counts = self.versions.get(name, {})
        if counts is None:
            return
        for value, documents in Counter(map(_version_value, values)).items():
            if value is MISSING:
                continue
            entry = counts.get(value)
            if entry is None:
                if value is None or len(counts) >= MAX_VERSIONS:
                    self.versions[name] = None
                    return
                entry = counts[value] = [0, Counter()]
            if key == name:
                entry[0] += documents
            entry[1][key] += documents
        self.versions[name] = counts

    def merge(self, other: VersionTally) -> None:
        self.documents += other.documents
        self.held.update(other.held)
        self.days.update(other.days)
        self.dated_by.update(other.dated_by)
        self.dated_held.update(other.dated_held)
        self.day_sum.update(other.day_sum)
        for key, day in other.last_day.items():
            self.last_day[key] = max(day, self.last_day.get(key, day))
        for key, day in other.written.items():
            self.written[key] = max(day, self.written.get(key, day))
        for name, theirs in other.versions.items():
            self.versions[name] = merge_value_counts(self.versions.get(name, {}), theirs, MAX_VERSIONS)

    def results(self) -> Evolution | None:
        if not self.documents:
            return None
        name, versions = self._version_split()
        newest = max(self.days) if self.days else None
        days = sorted(self.days)
        up_to = list(accumulate(self.days[day] for day in days))  # documents created up to each day
        day_sums = list(accumulate(self.days[day] * day for day in days))
        square_sums = list(accumulate(self.days[day] * day * day for day in days))
        aged = []
        for key, day in sorted(self.last_day.items()):
            index = bisect_right(days, day) - 1
            older = up_to[index]
            if older < up_to[-1]:
                written = self.written.get(key)
                earlier = _held_earlier(self.dated_held[key], self.day_sum[key], older, day_sums[index],
                                        square_sums[index])
                aged.append(FieldAge(key, self.dated_held[key], _iso_day(day), older, up_to[-1] - older,
                                     _iso_day(written) if written is not None else None, earlier))
        return Evolution(name, versions, dict(sorted(self.dated_by.items())),
                         _iso_day(newest) if newest is not None else None, aged)

    def _version_split(self) -> tuple[str | None, list[Version]]:
        """The first version field (in VERSION_FIELDS order) with two versions or more, counting
        the documents without it as one (not for `version`)."""
        for name in VERSION_FIELDS:
            counts = self.versions.get(name)
            if not counts or (name == "version" and not self._schema_version(counts)):
                continue
            versions = [Version(value, documents, dict(sorted(held.items())))
                        for value, (documents, held) in sorted(counts.items(), key=_version_order)]
            without = self.documents - sum(v.documents for v in versions)
            if without and name in UNVERSIONED_IS_A_VERSION:
                held = self.held - sum((Counter(v.fields) for v in versions), Counter())
                versions.insert(0, Version(None, without, dict(sorted(held.items()))))
            if len(versions) >= 2:
                return name, versions
        return None, []

    def _schema_version(self, counts: dict) -> bool:
        """Whether a field named `version` numbers schemas: small ints from 1 ("v1", "1"), not
        a product's "1.2.3", nor a lock counter (from 0, or beside `_class`/`__v`)."""
        if any(self.held[companion] for companion in LOCK_COMPANIONS):
            return False
        numbers = [_numbered(value) for value in counts]
        return all(number is not None and 1 <= number <= MAX_VERSIONS for number in numbers)


def _numbered(value) -> int | None:
    if type(value) is int:
        return value
    match = NUMBERED.match(value) if type(value) is str else None
    return int(match.group(1)) if match else None


def _dated(days: list) -> list:
    """The days that are not None (the list itself when none is: a C-level test)."""
    return days if None not in days else [day for day in days if day is not None]


def _updated_days(chunk: TopLevel) -> list[int | None] | None:
    """Each document's updated_at-like day (None without one), or None when no field is one."""
    updated = next((key for key in chunk.holding({datetime}) if UPDATED.match(key)), None)
    if updated is None:
        return None
    return _days_of(chunk.column(updated))


def _days_of(values: Sequence) -> list[int | None]:
    """Each value's day (`_day`) when it is a datetime, else None. Naive datetimes from 1970 to
    2200 (BSON's, as decoded) are days since the epoch in C, `(date - EPOCH).days`: the same
    day as the timestamp's (a double is exact to the microsecond there, so it never rounds up
    to the next second); any other value goes through `_day`."""
    try:
        if set(map(type, values)) == {datetime} and EPOCH <= min(values) and max(values) < LATEST:
            return list(map(DAYS, map(sub, values, repeat(EPOCH))))
    except TypeError:  # aware datetimes (or naive and aware mixed)
        pass
    return [_day(value) if type(value) is datetime else None for value in values]


EPOCH, LATEST = datetime(1970, 1, 1), datetime(2200, 1, 1)
DAYS = attrgetter("days")


def _day(date: datetime) -> int:
    moment = date if date.tzinfo is not None else date.replace(tzinfo=timezone.utc)
    return int(moment.timestamp()) // DAY


def _held_earlier(held: int, held_days: int, documents: int, days: int, squares: int) -> float:
    """How many standard errors the mean creation day of the `held` holders lies before the mean
    of all `documents` created up to the last holder (`days`, `squares`: their sums): holders drawn
    at random among those documents land within about 2 either side."""
    if held >= documents or documents < 2:
        return 0.0
    mean = days / documents
    variance = max(squares / documents - mean * mean, 0.0)
    error = math.sqrt(variance * (documents - held) / (held * (documents - 1)))
    return round((mean - held_days / held) / error, 2) if error else 0.0


MISSING = object()  # a document without the version field


def _version_value(value):
    """A version as one value (2, 2.0 and Int64(2) are version 2), None when the value cannot be
    a schema version (an object, a fraction, a bool)."""
    kind = type(value)
    if value is None:
        return MISSING
    if kind not in VERSION_TYPES:
        return None
    if kind is float:
        return int(value) if value.is_integer() else None
    return int(value) if kind is Int64 else value


def _version_order(item) -> tuple:
    value = item[0]
    return (type(value) is str, value)


def _iso_day(day: int) -> str:
    return datetime.fromtimestamp(day * DAY, timezone.utc).date().isoformat()
