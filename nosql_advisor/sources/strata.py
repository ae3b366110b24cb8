"""Age buckets for `--stratify time`: the arithmetic, apart from the reads (sources/live.py).

A `$sample` draws every document with the same chance, so when old documents are most of a
collection a schema change in the newest few is easily missed. Stratifying splits the time range
of the collection (the `_id`'s ObjectId time, or a date field) into equal spans and samples each
span alike: recent documents get their share of the sample whatever their number. The price is
that shares measured on such a sample are no longer estimates of the whole collection (each
bucket weighs the same, not by the documents it holds).

Times are integers of milliseconds since 1970 (what BSON dates hold); ObjectIds carry whole
seconds, so their bucket edges are whole seconds too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from bson import ObjectId
from bson.datetime_ms import DatetimeMS

BUCKETS = 10  # age buckets of a stratified sample
BUCKET_MIN_DOCS = 20  # the fewest documents a bucket is asked for: a small sample makes fewer buckets
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
ONE_MS = timedelta(milliseconds=1)


@dataclass(frozen=True)
class Bucket:
    """One age bucket: documents with `start <= time < end`; the newest bucket has no end (it
    also holds what was inserted after the range was read), `last` is the newest time seen."""

    start: int
    end: int | None
    last: int

    def filter(self, field: str, object_ids: bool) -> dict:
        """The query that matches the bucket's documents on `field`: ObjectId bounds (the _id's
        time) or date bounds."""
        to_value = object_id_at if object_ids else DatetimeMS
        bounds = {"$gte": to_value(self.start)}
        if self.end is not None:
            bounds["$lt"] = to_value(self.end)
        return {field: bounds}


def bucket_count(size: int) -> int:
    """How many buckets a sample of `size` is split into: BUCKETS, fewer when each would get
    less than BUCKET_MIN_DOCS documents."""
    return max(1, min(BUCKETS, size // BUCKET_MIN_DOCS))


def buckets(first: int, last: int, count: int, whole_seconds: bool) -> list[Bucket]:
    """`count` equal spans from `first` to `last` (fewer when the range has fewer whole seconds
    or milliseconds than `count`); empty when the range is empty (first == last)."""
    unit = 1000 if whole_seconds else 1
    start, stop = first // unit, last // unit
    edges = sorted({(start + (stop - start) * i // count) * unit for i in range(count + 1)})
    if len(edges) < 2:
        return []
    return [Bucket(edges[i], edges[i + 1] if i + 2 < len(edges) else None, last) for i in range(len(edges) - 1)]


def boundaries(plan: list[Bucket], object_ids: bool) -> list:
    """The `$bucket` boundaries of the buckets: their starts, then just past the newest time seen
    (a document inserted since counts in no bucket; the newest bucket's sample still reaches it)."""
    to_value = object_id_at if object_ids else DatetimeMS
    past = plan[-1].last + (1000 if object_ids else 1)
    return [to_value(bucket.start) for bucket in plan] + [to_value(past)]


def share_out(size: int, held: list[int]) -> list[int]:
    """How many documents to ask of each bucket: `size` split as equally as the buckets allow.
    A bucket holding no more than its fair share gives all it holds and the rest is shared by the
    others (water-filling); a remainder goes to the newest buckets first."""
    asked = [0] * len(held)
    room = [i for i, count in enumerate(held) if count > 0]
    left = size
    while small := [i for i in room if held[i] * len(room) <= left]:
        for i in small:
            asked[i] = held[i]
            left -= held[i]
        room = [i for i in room if i not in small]
    if room:
        each, extra = divmod(left, len(room))
        for rank, i in enumerate(reversed(room)):
            asked[i] = each + (rank < extra)
    return asked


def object_id_at(milliseconds: int) -> ObjectId:
    """The smallest ObjectId of that second (ObjectId.from_datetime)."""
    return ObjectId.from_datetime(EPOCH + timedelta(milliseconds=milliseconds))


def milliseconds(value) -> int | None:
    """A BSON date (datetime, naive = UTC, or DatetimeMS) or an ObjectId's time in ms; None for
    anything else."""
    if isinstance(value, ObjectId):
        value = value.generation_time
    if isinstance(value, DatetimeMS):
        return int(value)
    if isinstance(value, datetime):
        moment = value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return (moment - EPOCH) // ONE_MS
    return None


def iso(milliseconds_: int) -> str:
    """ISO-8601 in UTC ("2026-03-01T00:00:00Z"), as the shape's date ranges are written; a time
    outside Python's dates as its milliseconds."""
    try:
        return (EPOCH + timedelta(milliseconds=milliseconds_)).isoformat().replace("+00:00", "Z")
    except OverflowError:
        return f"{milliseconds_} ms since 1970"


def stratum_entry(bucket: Bucket, estimated: int) -> dict:
    """The bucket as the shape lists it: its bounds, documents held (`estimated`), documents read."""
    return {"from": iso(bucket.start), "to": iso(bucket.end if bucket.end is not None else bucket.last),
            "documents": 0, "estimated": estimated}


def undated_filter(field: str) -> dict:
    """The documents --time-field cannot place in any age bucket: no date in `field`."""
    return {field: {"$not": {"$type": "date"}}}


def undated_entry(estimated: int) -> dict:
    """The bucket of documents with no date in the time field, as the shape lists it (last)."""
    return {"from": None, "to": None, "documents": 0, "estimated": estimated, "undated": True}
