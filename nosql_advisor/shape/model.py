"""The shape: what a sample of one collection holds, path by path.

The shape is the one model every rule, renderer and generator reads; none of them goes back
to the documents. It is plain data (dataclasses of ints, strings and dicts) so it can be
written to report.json and read back, compared across runs, and tested by value.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

@dataclass
class ArrayShape:
    """Arrays found at one path: their lengths and what their elements are.

    Nested arrays (an array inside an array at the same path, as GeoJSON coordinates) are
    arrays at that path too: their lengths join the distribution, `nesting` says how deep.
    """

    count: int
    lengths: dict  # {"min", "max", "mean", "p50", "p95", "p99"}
    element_types: dict[str, int]
    nesting: int = 1
    # top-level arrays of documents with ObjectId _ids: how length follows document age
    # {"documents", "per_month" (elements gained per month of age), "correlation", "bytes_per_element"}
    growth: dict | None = None


@dataclass
class FieldShape:
    """One field path (dot notation, arrays transparent: `items.sku`).

    `count` is how many times the key was present, `probability` the share of its parent's
    occurrences as an object that hold it (mongodb-schema's semantics: for a field inside an
    array of subdocuments, the parent occurrences are the subdocuments).
    """

    path: str
    depth: int
    count: int
    probability: float
    types: dict[str, int]
    # the 95% interval of `probability` when it was measured on a sample ([low, high], Wilson
    # score with the finite population correction: confidence.py); None when every document was
    # read (a full read or --exact), where the share is exact
    probability_ci: list[float] | None = None
    distinct_estimate: int = 0
    array: ArrayShape | None = None
    string_length: dict | None = None
    number_range: dict | None = None  # {"min", "max"} over int/long/double/decimal values
    date_range: dict | None = None  # {"min", "max"} ISO-8601, over date values
    objectid_time_range: dict | None = None  # {"min", "max"} ISO-8601 generation times
    # for fields of several types, when each was seen: {type: {"first", "last"}} creation times
    # of the documents (from ObjectId _ids) that held it
    type_times: dict | None = None
    # how many of the `types["double"]` values are not whole numbers (a fraction, NaN or an
    # infinity); None when the field held no double, or when a shape was read back without it.
    # Whole doubles compare and index like ints, so DM505 weighs an int/double mix by this
    fractional_doubles: int | None = None
    # only when asked (validators --enum N): the values of a string field with at most N of them
    string_values: list[str] | None = None
    # with `string_values`: how many of them were read exactly once, and Good–Turing's chance
    # that the next value is one never read (singletons / string values read): an enum only when
    # it is small (schema/generate.py). 0 when every document was read (method "full": the set
    # read is the set; confidence.add_intervals)
    singletons: int | None = None
    unseen_chance: float | None = None
    # what the value detectors recognised (shape/detect.py): {detector: count} of `examined`
    # distinct strings; names and counts only, never a value
    detected: dict[str, int] | None = None
    examined: int | None = None
    # only for tenant-key paths: {"distinct", "top_count", "top_share"} (never the values)
    value_skew: dict | None = None
    # (keyed hashes of the held distinct values, whether that is every distinct value, share of
    # the hash space they cover): cross-collection matching (DM201); the hashes are keyed with a
    # per-run random key (redact.py); kept in memory, not written to report.json
    fingerprints: tuple[list[int], bool, float] | None = field(default=None, repr=False)
    # --exact: True for a path the server's pass found and the first sampling pass did not hold
    found_only_by_exact: bool | None = None


@dataclass
class PathCap:
    """Set when a collection had more distinct paths than the cap: what was left out, where."""

    limit: int
    dropped_keys: int  # key occurrences not recorded
    at: dict[str, int] = field(default_factory=dict)  # parent path ("" = top level) -> dropped


@dataclass
class CollectionShape:
    namespace: str
    sampled: int
    documents_estimated: int | None
    document_size: dict | None  # BSON bytes: {"min", "max", "mean", "p50", "p95", "p99"}
    id_types: dict[str, int]
    created_range: dict | None  # from ObjectId _ids: {"min", "max"} ISO-8601
    max_depth: int
    fields: list[FieldShape]
    capped: PathCap | None = None
    # documents per month of their ObjectId _id's creation time ({"2025-03": 120, ...}): how the
    # collection grew, for the growth rate and chart
    created_per_month: dict[str, int] | None = None
    too_deep: int | None = None  # subtrees nested deeper than the walk goes (400 levels), not read
    # a bottom-k sample of documents as {path: value hash} rows (shape/rows.py), for joins across
    # collections (DM202); kept in memory, not written to report.json
    rows: list[dict[str, int]] | None = field(default=None, repr=False)
    # consistency invariants the documents suggest, with how many break them (shape/invariants.py:
    # Invariant), for DM507; and the version split and fields only older documents hold
    # (shape/versions.py: Evolution), for DM508. Kept in memory, not written to report.json
    invariants: list | None = field(default=None, repr=False)
    evolution: object | None = field(default=None, repr=False)
    # how the documents were read: "sample" ($sample on a live server), "full" (every document),
    # "file-sample" (a seeded uniform sample of a file), "exact" (the server computed the figures
    # over every document: --exact). Shares of "sample"/"file-sample" carry intervals
    method: str = "full"
    # --stratify time: the age buckets sampled, [{"from", "to", "documents"}] (ISO-8601 bounds)
    strata: list[dict] | None = None
    # --stratify time that could not split the collection by age: why (a plain $sample was read)
    stratify_fallback: str | None = None
    # --exact: what the server's pass did: {"passes", "documents", "fallbacks": {figure: why},
    # "found_only_by_exact": [paths]}
    exact: dict | None = None

    def field(self, path: str) -> FieldShape | None:
        """The field at `path`, or None when the sample never held it."""
        for candidate in self.fields:
            if candidate.path == path:
                return candidate
        return None

    def to_dict(self) -> dict:
        """JSON-ready form: the `collections[]` entry of report.json (DESIGN.md)."""
        data = asdict(replace(self, rows=None, invariants=None, evolution=None))
        data["fields"] = [_drop_none({k: v for k, v in entry.items() if k not in hidden})
                          for entry, hidden in zip(data["fields"], map(_hidden, self.fields))]
        for entry in data["fields"]:
            if "array" in entry:
                entry["array"] = _drop_none(entry["array"])
        # documents_estimated stays, null when unknown (a live count that failed): the schema requires it
        return {k: v for k, v in data.items() if v is not None or k == "documents_estimated"}


def _hidden(field: FieldShape) -> set[str]:
    """What of a field is not written: its hashes, and for a field holding secrets or personal
    data (a birth date's range is two people's birth dates) any value it holds."""
    from nosql_advisor.redact import values_hidden  # redact.py imports shape

    return {"fingerprints", "number_range", "date_range", "string_values"} if values_hidden(field) else {"fingerprints"}


def _drop_none(data: dict) -> dict:
    return {k: v for k, v in data.items() if v is not None}
