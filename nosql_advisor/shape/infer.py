"""Streaming shape inference: one pass, memory bounded by the number of distinct paths.

The walk over each document only appends values to per-path lists; every few thousand
documents `_flush` turns those lists into counts and statistics with C-level builtins
(`Counter(map(type, ...))`, `min`, `max`, `set`). That split keeps the per-value work in the
Python hot loop to a dict lookup and an append, which is what makes inference fast.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from itertools import chain
from operator import attrgetter

from bson import Code, Decimal128, Int64, ObjectId

from nosql_advisor.bsontypes import (
    INT32_MAX, INT32_MIN, OBJECT_TYPES, TYPE_NAMES, bson_type_of, type_name_of_subclass,
)
from nosql_advisor.shape.detect import detect
from nosql_advisor.shape.model import ArrayShape, CollectionShape, FieldShape, PathCap
from nosql_advisor.shape.rows import DEFAULT_ROWS, RowSample
from nosql_advisor.shape.stats import DistinctSketch, Histogram

DEFAULT_MAX_PATHS = 5000
MAX_WALK_DEPTH = 400  # deeper than MongoDB allows (100); kept so a bad export cannot recurse forever
FLUSH_EVERY = 5000


class _Node:
    """Accumulator for one path; `values`/`arrays` hold the current chunk only."""

    __slots__ = (
        "path", "depth", "children", "values", "stamps", "arrays", "objects", "count", "types",
        "type_times", "add_value", "add_stamp", "value_counts",
        "array_count", "lengths", "element_types", "nesting", "strings", "distinct",
        "number_min", "number_max", "date_min", "date_max", "oid_min", "oid_max",
    )

    def __init__(self, path: str, depth: int) -> None:
        self.path = path
        self.depth = depth
        self.children: dict[str, _Node] = {}
        self.values: list = []
        self.stamps: list = []  # creation second of the document each value came from (or None)
        self.type_times: dict[str, list[int]] = {}  # type -> [first, last] creation second
        self.value_counts: Counter | None = None  # only for paths asked for (tenant keys): skew
        self.add_value = self.values.append  # bound once per chunk: one lookup per value in the walk
        self.add_stamp = self.stamps.append
        self.arrays: list[list] = []
        self.objects = 0  # occurrences of this path as an object: its children's parent count
        self.count = 0
        self.types: Counter[str] = Counter()
        self.array_count = 0
        self.lengths = Histogram()
        self.element_types: Counter[str] = Counter()
        self.nesting = 1
        self.strings = Histogram()
        self.distinct = DistinctSketch()
        self.number_min = self.number_max = None
        self.date_min = self.date_max = None
        self.oid_min = self.oid_max = None


class ShapeBuilder:
    """Feed documents one at a time with `add`, then `finish` for the CollectionShape."""

    def __init__(self, namespace: str = "", max_paths: int = DEFAULT_MAX_PATHS, enum_limit: int = 0,
                 count_values: frozenset[str] = frozenset(), rows: int = DEFAULT_ROWS) -> None:
        self.namespace = namespace
        self.rows = RowSample(rows)  # documents as value-hash rows, for joins (DM202)
        self.created_days: Counter[int] = Counter()  # documents per day of ObjectId _id creation
        self.count_values = count_values  # top-level paths whose values are counted (tenant keys)
        self.max_paths = max_paths
        self.enum_limit = enum_limit  # keep the values of string fields with at most this many
        self.root = _Node("", 0)
        self.nodes: list[_Node] = []
        self.sizes: list[int] = []
        self.size_histogram = Histogram()
        self.dropped = 0
        self.dropped_at: Counter[str] = Counter()
        self.too_deep = 0  # objects/arrays below MAX_WALK_DEPTH, not walked
        self.growth: dict[str, list] = {}  # top-level array key -> regression sums (_track_growth)
        self.pending = 0

    def add(self, document: Mapping, bson_size: int | None = None) -> None:
        _id = document.get("_id")
        stamp = int.from_bytes(_id.binary[:4], "big") if type(_id) is ObjectId else None
        self._walk_object(document, self.root, 0, stamp)
        self.rows.add(document)
        if stamp is not None:
            self.created_days[stamp // 86400] += 1
        if bson_size is not None:
            self.sizes.append(bson_size)
            if stamp is not None:
                self._track_growth(document, stamp / 86400, bson_size)
        self.pending += 1
        if self.pending >= FLUSH_EVERY:
            self._flush()

    def _track_growth(self, document: Mapping, day: float, size: int) -> None:
        """Sums for a regression of each top-level array's length (and the document's size) on
        the document's age: enough to say whether arrays grow with age, and by how much."""
        for key, value in document.items():
            if type(value) is list:
                length = len(value)
                sums = self.growth.get(key)
                if sums is None:
                    sums = self.growth[key] = [0, 0.0, 0.0, 0, 0.0, 0, 0, 0]
                sums[0] += 1
                sums[1] += day
                sums[2] += day * day
                sums[3] += length
                sums[4] += length * day
                sums[5] += length * length
                sums[6] += size
                sums[7] += size * length

    def flush(self) -> None:
        """Turn the pending chunk into statistics (before pickling a builder to merge it)."""
        self._flush()

    def merge(self, other: ShapeBuilder) -> None:
        """Fold in a builder that read another part of the same collection (a worker process)."""
        self._flush()
        other._flush()
        self.size_histogram.merge(other.size_histogram)
        self.too_deep += other.too_deep
        self.rows.merge(other.rows)
        self.created_days.update(other.created_days)
        for key, sums in other.growth.items():
            mine = self.growth.setdefault(key, [0] * len(sums))
            self.growth[key] = [a + b for a, b in zip(mine, sums)]
        self.dropped += other.dropped
        self.dropped_at.update(other.dropped_at)
        self._merge_children(self.root, other.root)

    def _merge_children(self, mine: _Node, theirs: _Node) -> None:
        _merge_node(mine, theirs)
        for key, child in theirs.children.items():
            target = mine.children.get(key)
            if target is None:
                target = self._add_child(mine, key, child.depth)
                if target is None:
                    self.dropped += child.count - 1  # _add_child counted one
                    self.dropped_at[mine.path] += child.count - 1
                    continue
            self._merge_children(target, child)

    def finish(self, documents_estimated: int | None = None) -> CollectionShape:
        self._flush()
        fields = [_field_shape(node, parent, self.enum_limit) for node, parent in self._pairs()]
        for field in fields:
            if field.array is not None and field.path in self.growth:
                field.array.growth = array_growth(self.growth[field.path])
        fields.sort(key=lambda f: f.path)
        id_node = self.root.children.get("_id")
        return CollectionShape(
            namespace=self.namespace,
            sampled=self.root.objects,
            documents_estimated=documents_estimated,
            document_size=self.size_histogram.summary(),
            id_types=dict(sorted(id_node.types.items())) if id_node else {},
            created_range=_oid_range(id_node) if id_node else None,
            created_per_month=per_month(self.created_days),
            max_depth=max((f.depth for f in fields), default=0),
            fields=fields,
            capped=self._cap(),
            too_deep=self.too_deep or None,
            rows=self.rows.rows(),
        )

    # -- the walk: appends only ------------------------------------------------------

    def _walk_object(self, doc: Mapping, node: _Node, level: int, stamp: int | None) -> None:
        node.objects += 1
        if level >= MAX_WALK_DEPTH:
            self.too_deep += 1
            return
        children = node.children
        for key, value in doc.items():
            child = children.get(key)
            if child is None:
                child = self._add_child(node, key, level + 1)
                if child is None:
                    continue
            child.add_value(value)
            child.add_stamp(stamp)
            kind = type(value)
            if kind is list:
                self._walk_array(value, child, level + 1, 1, stamp)
            elif kind in OBJECT_TYPES:
                self._walk_object(value, child, level + 1, stamp)

    def _walk_array(self, array: list, node: _Node, level: int, nesting: int, stamp: int | None) -> None:
        node.arrays.append(array)
        if nesting > node.nesting:
            node.nesting = nesting
        if level >= MAX_WALK_DEPTH:
            self.too_deep += 1
            return
        for value in array:
            kind = type(value)
            if kind in OBJECT_TYPES:
                self._walk_object(value, node, level, stamp)
            elif kind is list:
                self._walk_array(value, node, level + 1, nesting + 1, stamp)

    def _add_child(self, parent: _Node, key: str, depth: int) -> _Node | None:
        if len(self.nodes) >= self.max_paths:
            self._drop(parent, 1)
            return None
        path = f"{parent.path}.{key}" if parent.path else key
        child = parent.children[key] = _Node(path, depth)
        if path in self.count_values:
            child.value_counts = Counter()
        self.nodes.append(child)
        return child

    def _drop(self, parent: _Node, keys: int) -> None:
        self.dropped += keys
        self.dropped_at[parent.path] += keys

    def _cap(self) -> PathCap | None:
        if not self.dropped:
            return None
        return PathCap(self.max_paths, self.dropped, dict(sorted(self.dropped_at.items())))

    def _pairs(self):
        stack = [self.root]
        while stack:
            parent = stack.pop()
            for child in parent.children.values():
                yield child, parent
                stack.append(child)

    # -- the flush: statistics in bulk -----------------------------------------------

    def _flush(self) -> None:
        self.size_histogram.add_many(self.sizes)
        self.sizes = []
        self.pending = 0
        for node in self.nodes:
            if node.values or node.arrays:
                _flush_node(node)


MAX_COUNTED_VALUES = 10_000


def _count_values(node: _Node, values: list) -> None:
    """Per-value counts for a tenant key (skew); dropped past MAX_COUNTED_VALUES distinct."""
    try:
        node.value_counts.update(values)
    except TypeError:  # an unhashable value: not a usable key
        node.value_counts = None
        return
    if len(node.value_counts) > MAX_COUNTED_VALUES:
        node.value_counts = None


def _skew(node: _Node) -> dict | None:
    counts = node.value_counts
    if not counts:
        return None
    top = max(counts.values())
    return {"distinct": len(counts), "top_count": top, "top_share": round(top / sum(counts.values()), 6)}


def _merge_node(mine: _Node, theirs: _Node) -> None:
    mine.objects += theirs.objects
    if mine.value_counts is not None:
        if theirs.value_counts is None:
            mine.value_counts = None
        else:
            mine.value_counts.update(theirs.value_counts)
    mine.count += theirs.count
    mine.types.update(theirs.types)
    mine.array_count += theirs.array_count
    mine.lengths.merge(theirs.lengths)
    mine.element_types.update(theirs.element_types)
    mine.nesting = max(mine.nesting, theirs.nesting)
    mine.strings.merge(theirs.strings)
    mine.distinct.merge(theirs.distinct)
    for low, high, value_low, value_high in (("number_min", "number_max", theirs.number_min, theirs.number_max),
                                             ("date_min", "date_max", theirs.date_min, theirs.date_max),
                                             ("oid_min", "oid_max", theirs.oid_min, theirs.oid_max)):
        if value_low is not None:
            current_low, current_high = getattr(mine, low), getattr(mine, high)
            setattr(mine, low, value_low if current_low is None else min(current_low, value_low))
            setattr(mine, high, value_high if current_high is None else max(current_high, value_high))
    for name, (first, last) in theirs.type_times.items():
        _widen(mine.type_times, name, first, last)



def _flush_node(node: _Node) -> None:
    values, arrays, stamps = node.values, node.arrays, node.stamps
    node.values, node.arrays, node.stamps = [], [], []
    node.add_value, node.add_stamp = node.values.append, node.stamps.append
    node.count += len(values)
    kinds = _count_types(node.types, values)
    _type_times(node, kinds, values, stamps)
    if node.value_counts is not None:
        _count_values(node, values)
    elements: list = []
    if arrays:
        node.array_count += len(arrays)
        node.lengths.add_many(list(map(len, arrays)))
        elements = list(chain.from_iterable(arrays))
        _count_types(node.element_types, elements)
    _scalar_stats(node, values + elements if elements else values)


def _count_types(counter: Counter, values: list) -> Counter:
    kinds = Counter(map(type, values))
    for kind, n in kinds.items():
        name = TYPE_NAMES.get(kind) or type_name_of_subclass(kind)
        if kind is int:
            ints = values if len(kinds) == 1 else [v for v in values if type(v) is int]
            wide = 0 if INT32_MIN <= min(ints) and max(ints) <= INT32_MAX else \
                sum(1 for v in ints if not INT32_MIN <= v <= INT32_MAX)
            if wide:
                counter["long"] += wide
                n -= wide
            if not n:
                continue
        elif kind is Code and any(type(v) is Code and v.scope is not None for v in values):
            with_scope = sum(1 for v in values if type(v) is Code and v.scope is not None)
            counter["javascriptWithScope"] += with_scope
            n -= with_scope
            if not n:
                continue
        counter[name] += n
    return kinds


def _type_times(node: _Node, kinds: Counter, values: list, stamps: list) -> None:
    """First and last creation time of the documents holding each type: when a type came or went."""
    if len(kinds) == 1 and (int not in kinds or INT32_MIN <= min(values) and max(values) <= INT32_MAX):
        # the usual chunk: one type, no per-value work
        dated = stamps if None not in stamps else [stamp for stamp in stamps if stamp is not None]
        if dated:
            _widen(node.type_times, bson_type_of(values[0]), min(dated), max(dated))
        return
    by_type: dict[str, list[int]] = {}
    for value, stamp in zip(values, stamps):
        if stamp is None:
            continue
        name = bson_type_of(value)
        span = by_type.get(name)
        if span is None:
            by_type[name] = [stamp, stamp]
        elif stamp < span[0]:
            span[0] = stamp
        elif stamp > span[1]:
            span[1] = stamp
    for name, (first, last) in by_type.items():
        _widen(node.type_times, name, first, last)


def _widen(times: dict[str, list[int]], name: str, first: int, last: int) -> None:
    span = times.get(name)
    times[name] = [first, last] if span is None else [min(span[0], first), max(span[1], last)]


def _scalar_stats(node: _Node, values: list) -> None:
    kinds = set(map(type, values))
    if kinds & OBJECT_TYPES or list in kinds:
        kinds -= OBJECT_TYPES | {list}
        values = [v for v in values if type(v) in kinds]
    if not values:
        return
    single = len(kinds) == 1
    seen = len(values)

    def group(kind: type) -> list:
        return values if single else [v for v in values if type(v) is kind]

    bids = None
    for kind in kinds:
        if kind is str:
            node.strings.add_many(list(map(len, group(str))))
        elif kind is int or kind is Int64:
            _number_range(node, group(kind))
        elif kind is float:
            _number_range(node, [v for v in group(float) if v == v and v not in INFINITIES])
        elif kind is Decimal128:  # to_decimal is slow pure Python: read the bits, once per value
            bids = set(map(DECIMAL_BITS, group(Decimal128)))
            _number_range(node, [f for f in map(decimal128_float, bids) if f is not None])
        elif kind is datetime:
            _date_range(node, group(datetime))
        elif kind is ObjectId:
            ids = group(ObjectId)
            lo, hi = min(ids), max(ids)
            node.oid_min = lo if node.oid_min is None else min(node.oid_min, lo)
            node.oid_max = hi if node.oid_max is None else max(node.oid_max, hi)
    if bids is not None:  # Decimal128 is unhashable: its bytes stand for it in the sketch
        values = list(bids) + ([v for v in values if type(v) is not Decimal128] if not single else [])
    node.distinct.add_many(values, seen)


INFINITIES = (float("inf"), float("-inf"))



DECIMAL_BITS = attrgetter("_Decimal128__high", "_Decimal128__low")  # C-level, unlike .bid


def decimal128_float(halves: tuple[int, int]) -> float | None:
    """The value of a Decimal128 (its high and low 64-bit halves) as a float, None for NaN and
    infinities. Reads the IEEE 754-2008 BID layout directly: sign, 14-bit exponent (bias
    6176), 113-bit coefficient; ten times faster than Decimal128.to_decimal."""
    bits = (halves[0] << 64) | halves[1]
    if (bits >> 122) & 0x1E == 0x1E:  # combination field 1111x: infinity or NaN
        return None
    if (bits >> 125) & 3 == 3:  # the 11 form holds a coefficient over 10**34: non-canonical, zero
        exponent, coefficient = (bits >> 111) & 0x3FFF, 0
    else:
        exponent, coefficient = (bits >> 113) & 0x3FFF, bits & ((1 << 113) - 1)
    power = exponent - 6176
    try:
        value = coefficient / 10 ** -power if power < 0 else float(coefficient * 10 ** power)
    except OverflowError:
        value = float("inf")
    return -value if bits >> 127 else value


def _number_range(node: _Node, numbers: list) -> None:
    if not numbers:
        return
    lo, hi = min(numbers), max(numbers)
    node.number_min = lo if node.number_min is None else min(node.number_min, lo)
    node.number_max = hi if node.number_max is None else max(node.number_max, hi)


def _date_range(node: _Node, dates: list[datetime]) -> None:
    try:
        lo, hi = _utc(min(dates)), _utc(max(dates))
    except TypeError:  # naive and aware datetimes mixed in one chunk
        dates = [_utc(d) for d in dates]
        lo, hi = min(dates), max(dates)
    node.date_min = lo if node.date_min is None else min(node.date_min, lo)
    node.date_max = hi if node.date_max is None else max(node.date_max, hi)


def _utc(moment: datetime) -> datetime:
    """Naive datetimes from BSON are UTC; make every one aware so they compare."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def _iso(moment: datetime) -> str:
    return _utc(moment).astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def per_month(days: Counter) -> dict[str, int] | None:
    """Documents per calendar month ("2025-03") of their ObjectId creation day, in order."""
    if not days:
        return None
    months: Counter[str] = Counter()
    for day, count in days.items():
        months[datetime.fromtimestamp(day * 86400, timezone.utc).strftime("%Y-%m")] += count
    return dict(sorted(months.items()))


def _oid_range(node: _Node) -> dict | None:
    if node.oid_min is None:
        return None
    return {"min": _iso(node.oid_min.generation_time), "max": _iso(node.oid_max.generation_time)}


def _json_number(value):
    if isinstance(value, (int, float)):
        return int(value) if isinstance(value, int) else value
    return float(value)  # Decimal from Decimal128


def _string_values(node: _Node, limit: int) -> list[str] | None:
    """The string values of a low-cardinality string field, only when asked (for `enum`)."""
    values = node.distinct.exact
    if not limit or values is None:
        return None
    strings = [v for v in values if v is not None]
    if not strings or len(strings) > limit or not all(type(v) is str for v in strings):
        return None
    return sorted(strings)


MIN_GROWTH_DOCUMENTS = 30


def array_growth(sums: list) -> dict | None:
    """Slope and correlation of array length against document age (ObjectId time), and the bytes
    each element adds to the document (slope of size against length)."""
    n, st, stt, sl, slt, sll, ss, ssl = sums
    if n < MIN_GROWTH_DOCUMENTS:
        return None
    var_t, var_l = stt / n - (st / n) ** 2, sll / n - (sl / n) ** 2
    if var_t <= 0 or var_l <= 0:
        return None
    cov_tl, cov_sl = slt / n - st * sl / n / n, ssl / n - ss * sl / n / n
    per_day = cov_tl / var_t
    # older documents have smaller creation days: length growing with age is a negative slope on time
    return {"documents": n, "per_month": round(-per_day * 30.44, 3),
            "correlation": round(-cov_tl / (var_t * var_l) ** 0.5, 4),
            "bytes_per_element": round(cov_sl / var_l, 1)}


def _detections(node: _Node) -> dict:
    """The value detectors over the distinct strings the sketch holds (all, or a uniform sample
    of 512): order-independent, so one process and several agree."""
    strings = [value for value in node.distinct.sample() if type(value) is str]
    if not strings:
        return {}
    found = detect(strings)
    return {"detected": dict(sorted(found.items())) or None, "examined": len(strings)}


def _field_shape(node: _Node, parent: _Node, enum_limit: int = 0) -> FieldShape:
    array = None
    if node.array_count:
        array = ArrayShape(
            count=node.array_count,
            lengths=node.lengths.summary(),
            element_types=dict(sorted(node.element_types.items())),
            nesting=node.nesting,
        )
    return FieldShape(
        path=node.path,
        depth=node.depth,
        count=node.count,
        probability=round(node.count / parent.objects, 6) if parent.objects else 0.0,
        types=dict(sorted(node.types.items())),
        distinct_estimate=node.distinct.estimate(),
        fingerprints=node.distinct.fingerprints() if node.distinct.seen else None,
        string_values=_string_values(node, enum_limit),
        **_detections(node),
        value_skew=_skew(node),
        array=array,
        string_length=node.strings.summary(),
        number_range=None if node.number_min is None else {
            "min": _json_number(node.number_min), "max": _json_number(node.number_max)},
        date_range=None if node.date_min is None else {
            "min": _iso(node.date_min), "max": _iso(node.date_max)},
        objectid_time_range=_oid_range(node),
        type_times=_type_time_ranges(node) if len(node.types) > 1 else None,
    )


def _type_time_ranges(node: _Node) -> dict | None:
    if not node.type_times:
        return None
    return {name: {"first": _iso_second(first), "last": _iso_second(last)}
            for name, (first, last) in sorted(node.type_times.items())}


def _iso_second(second: int) -> str:
    return _iso(datetime.fromtimestamp(second, timezone.utc))


def infer_shape(
    documents: Iterable[tuple[Mapping, int | None]],
    namespace: str = "",
    documents_estimated: int | None = None,
    max_paths: int = DEFAULT_MAX_PATHS,
    enum_limit: int = 0,
) -> CollectionShape:
    """Infer the shape of a stream of `(document, bson_size)` pairs in one pass."""
    builder = ShapeBuilder(namespace, max_paths, enum_limit)
    for document, size in documents:
        builder.add(document, size)
    return builder.finish(documents_estimated)
