"""Streaming shape inference: one pass, memory bounded by the number of distinct paths.

Documents are taken in chunks (a few thousand, or fewer when they are large) and walked column
by column rather than value by value: the objects met at one path are grouped by their key
sequence, and each group is turned into columns with one C-level `zip(*values)`, so a chunk of
5,000 documents sharing a layout costs a handful of Python steps per path, not one per value.
Each path's values are then turned into counts and statistics with C-level builtins
(`Counter(map(type, ...))`, `min`, `max`, `set`). Keeping per-value work out of the Python
interpreter is what makes inference fast.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from itertools import chain, compress, repeat
from operator import attrgetter, is_, itemgetter, methodcaller, mul

from bson import Code, Decimal128, Int64, ObjectId

from nosql_advisor.bsontypes import (
    INT32_MAX, INT32_MIN, OBJECT_TYPES, TYPE_NAMES, bson_type_of, type_name_of_subclass,
)
from nosql_advisor.confidence import unseen_chance
from nosql_advisor.redact import refuse_values
from nosql_advisor.shape.detect import detect
from nosql_advisor.shape.invariants import Chunk, InvariantTally, PythonChunk, TopLevel
from nosql_advisor.shape.model import ArrayShape, CollectionShape, FieldShape, PathCap
from nosql_advisor.shape.rows import DEFAULT_ROWS, RowSample
from nosql_advisor.shape.stats import OBJECTID_BYTES, DistinctSketch, Histogram
from nosql_advisor.shape.versions import VersionTally
from nosql_advisor.sources.legacy_types import decode_run

DEFAULT_MAX_PATHS = 5000
MAX_WALK_DEPTH = 400  # deeper than MongoDB allows (100); kept so a bad export cannot recurse forever
FLUSH_EVERY = 5000
FLUSH_BYTES = 32 << 20  # large documents: walk the chunk before it holds more than this
GET_ID = methodcaller("get", "_id")


class _Node:
    """Accumulator for one path. `values` and `elements` (of its arrays) hold the current chunk
    only, bucketed by Python type as the walk meets them, so the flush never sorts values by
    type again. `type_times` is widened by the walk, a group of documents at a time; only ints
    and Code, whose BSON type depends on the value, keep each value's stamp in `stamps`."""

    __slots__ = (
        "path", "depth", "children", "values", "stamps", "arrays", "elements", "objects", "count",
        "types", "type_times", "value_counts",
        "array_count", "lengths", "element_types", "nesting", "strings", "distinct",
        "number_min", "number_max", "date_min", "date_max", "oid_min", "oid_max",
        "fractional_doubles", "string_counts",
    )

    def __init__(self, path: str, depth: int) -> None:
        self.path = path
        self.depth = depth
        self.children: dict[str, _Node] = {}
        self.values: dict[type, list] = {}
        self.stamps: dict[type, list] = {}  # int/Code: creation second of each value's document
        self.type_times: dict[str, list[int]] = {}  # type -> [first, last] creation second
        self.value_counts: Counter | None = None  # only for paths asked for (tenant keys): skew
        self.arrays: list[list] = []  # every array met here, nested ones included (lengths)
        self.elements: dict[type, list] = {}
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
        self.fractional_doubles = 0  # doubles (values, not array elements) not whole: DM505
        # validators --enum N only: how often each string value (and string element) was read,
        # while there are at most N of them, for the Good–Turing chance of an unseen value
        self.string_counts: Counter | None = None


class ShapeBuilder:
    """Feed documents one at a time with `add`, then `finish` for the CollectionShape.

    A document is only referenced by `add` and read when its chunk is walked, so the caller must
    not change it afterwards (decoded documents never are)."""

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
        self.growth: dict[str, list] = {}  # array path -> regression sums (_track_growth)
        self.pending: list[Mapping] = []  # documents of the chunk not walked yet
        self.pending_sizes: list[int | None] = []
        self.pending_bytes = 0
        self.invariants = InvariantTally()  # candidate invariants and their counts (DM507)
        self.versions = VersionTally()  # version split and field ages (DM508)

    def add(self, document: Mapping, bson_size: int | None = None) -> None:
        self.pending.append(document)
        self.pending_sizes.append(bson_size)
        if bson_size is not None:
            self.pending_bytes += bson_size
        if len(self.pending) >= FLUSH_EVERY or self.pending_bytes >= FLUSH_BYTES:
            self._flush()

    engine = "python"  # what `shape --json` reports (shape/engine.py chooses the builder)

    def add_raw(self, data: bytes, starts: Sequence[int]) -> list[tuple[int, str]]:
        """Add the BSON documents of a raw batch (`data` concatenated, each beginning at one of
        `starts`, whole: length prefixes already checked by the source). Returns `(index, why)` for
        each that does not decode; it is skipped. Every source hands documents in this one form
        (raw-BSON batches); the native engine reads the bytes themselves."""
        return self.add_raw_decoded(data, starts)[1]

    def add_raw_decoded(self, data: bytes, starts: Sequence[int]) -> tuple[list[tuple[int, dict, int]], list[tuple[int, str]]]:
        """`add_raw`, also giving the documents decoded, `(index, document, size)` (a ValidationTally
        needs the objects): this engine decodes them once for both."""
        documents, problems = decode_run(data, starts)
        for _, document, size in documents:
            self.add(document, size)
        return documents, problems

    def _track_growth(self, key: str, arrays: Sequence, stamps: Sequence, sizes: Sequence) -> None:
        """Sums for a regression of the length of the arrays at path `key` (and the document's
        size) on the document's age: enough to say whether arrays grow with age, and by how much.
        Top-level arrays and arrays reached through objects (`route.coordinates`) are tracked,
        one entry per path, so the path cap bounds them as it bounds the paths."""
        kept = [(stamp / 86400, size, len(array)) for array, stamp, size in zip(arrays, stamps, sizes)
                if stamp is not None and size is not None]
        if not kept:
            return
        days, sizes, lengths = (list(part) for part in zip(*kept))
        self._add_growth(key, (len(kept), sum(days), sum(map(mul, days, days)), sum(lengths),
                               sum(map(mul, lengths, days)), sum(map(mul, lengths, lengths)),
                               sum(sizes), sum(map(mul, sizes, lengths))))

    def _add_growth(self, key: str, totals: Sequence) -> None:
        """Add one column's regression sums to the path's (the native walk hands its own)."""
        sums = self.growth.get(key)
        if sums is None:
            sums = self.growth[key] = [0, 0.0, 0.0, 0, 0.0, 0, 0, 0]
        for index, total in enumerate(totals):
            sums[index] += total

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
        self.invariants.merge(other.invariants)
        self.versions.merge(other.versions)
        self._merge_children(self.root, other.root)

    def _merge_children(self, mine: _Node, theirs: _Node) -> None:
        _merge_node(mine, theirs)
        for key, child in theirs.children.items():
            target = mine.children.get(key)
            if target is None:
                target = self._add_child(mine, key, child.depth, child.count)
                if target is None:
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
            invariants=self.invariants.results(),
            evolution=self.versions.results(),
        )

    # -- the walk: column by column ----------------------------------------------------

    def _walk(self, documents: list[Mapping], stamps: list, sizes: list) -> None:
        """Walk a chunk of documents into the path tree. A stack of (step, node, items, stamps,
        level, nesting) replaces recursion, so 400 levels of nesting cost no Python frames."""
        work: list[tuple] = [(self._walk_objects, self.root, documents, stamps, 0, sizes)]
        while work:
            step, *arguments = work.pop()
            step(*arguments, work)

    def _walk_objects(self, node: _Node, objects: Sequence[Mapping], stamps: Sequence, level: int,
                      sizes: Sequence | None, work: list) -> None:
        """Objects met at `node`. `sizes` (their documents' BSON sizes) come with the documents
        and with objects reached through objects only (`route` of a document, `route.geo` of
        that): their arrays' growth with age is tracked; arrays of objects do not pass sizes on,
        since one document holds many of their objects (`items.tags`)."""
        node.objects += len(objects)
        if level >= MAX_WALK_DEPTH:
            self.too_deep += len(objects)
            return
        for keys, rows, member_stamps, member_sizes in group_by_keys(objects, stamps, sizes):
            span = stamp_span(member_stamps)
            for key, column in zip(keys, zip(*rows)):
                child = node.children.get(key)
                if child is None:
                    child = self._add_child(node, key, level + 1, len(column))
                    if child is None:
                        continue
                split = split_by_type(column, member_stamps)
                _bucket_values(child, split, span)
                inner, inner_stamps = _objects_in(split)
                if inner:
                    work.append((self._walk_objects, child, inner, inner_stamps, level + 1,
                                 _sizes_of(split, column, member_sizes, OBJECT_TYPES)))
                if list in split:
                    arrays, array_stamps = split[list]
                    work.append((self._walk_arrays, child, arrays, array_stamps, level + 1, 1))
                    if member_sizes is not None:
                        self._track_growth(child.path, arrays, array_stamps,
                                           _sizes_of(split, column, member_sizes, (list,)))

    def _walk_arrays(self, node: _Node, arrays: Sequence[list], stamps: Sequence, level: int,
                     nesting: int, work: list) -> None:
        """Arrays met at `node`; their object elements are objects of the same path (arrays are
        transparent in dot notation), arrays inside them one nesting level deeper."""
        node.arrays.extend(arrays)
        elements = list(chain.from_iterable(arrays))
        if nesting > node.nesting:
            node.nesting = nesting
        if level >= MAX_WALK_DEPTH:
            self.too_deep += len(arrays)
            _bucket_elements(node, split_by_type(elements, None))
            return
        element_stamps = list(chain.from_iterable(map(repeat, stamps, map(len, arrays))))
        split = split_by_type(elements, element_stamps)
        _bucket_elements(node, split)
        inner, inner_stamps = _objects_in(split)
        if inner:
            work.append((self._walk_objects, node, inner, inner_stamps, level, None))
        if list in split:
            lists, list_stamps = split[list]
            work.append((self._walk_arrays, node, lists, list_stamps, level + 1, nesting + 1))

    def _add_child(self, parent: _Node, key: str, depth: int, occurrences: int) -> _Node | None:
        """A new path under `parent`, or None past the path cap (its occurrences are counted)."""
        if len(self.nodes) >= self.max_paths:
            self._drop(parent, occurrences)
            return None
        return self._new_child(parent, key, depth)

    def _new_child(self, parent: _Node, key: str, depth: int) -> _Node:
        """The node of a new path (the caller applied the path cap)."""
        path = f"{parent.path}.{key}" if parent is not self.root else key  # "" is a key too: {"": {"z"}} is ".z"
        child = parent.children[key] = _Node(path, depth)
        if path in self.count_values:
            child.value_counts = Counter()
        if self.enum_limit:
            child.string_counts = Counter()
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

    def _tally(self, chunk: Chunk, stamps: list) -> None:
        """Rows, invariants and versions of a walked chunk, read through its view (either engine's:
        the native one makes only the values they ask for), before its nodes are flushed."""
        self.rows.add_chunk(chunk)
        top = TopLevel(chunk, self.root.children)
        self.invariants.add_chunk(top)
        self.versions.add_chunk(top, stamps)

    def _flush(self) -> None:
        documents, sizes = self.pending, self.pending_sizes
        self.pending, self.pending_sizes, self.pending_bytes = [], [], 0
        if documents:
            stamps = list(map(creation_second, map(GET_ID, documents)))
            self._walk(documents, stamps, sizes)
            self._tally(PythonChunk(documents), stamps)  # before the nodes are flushed below
            self.created_days.update(stamp // 86400 for stamp in stamps if stamp is not None)
            self.size_histogram.add_many([size for size in sizes if size is not None])
        for node in self.nodes:
            if node.values or node.arrays:
                _flush_node(node)
                if node.string_counts is not None and len(node.string_counts) > self.enum_limit:
                    node.string_counts = None  # too many values for an enum: stop counting them


def creation_second(value: object) -> int | None:
    """The creation time (seconds since the epoch) an ObjectId `_id` carries, else None."""
    return int.from_bytes(OBJECTID_BYTES(value)[:4], "big") if type(value) is ObjectId else None


def group_by_keys(objects: Sequence[Mapping], stamps: Sequence,
                  sizes: Sequence | None) -> list[tuple[tuple, list[tuple], Sequence, Sequence | None]]:
    """(keys, rows of values in key order) per group of objects sharing one key set, with their
    stamps and sizes; one group, with no Python loop, when they all share the first's keys (in
    any order: same count of keys, and every one of them found)."""
    keys = tuple(objects[0])
    lengths = list(map(len, objects))
    if lengths.count(len(keys)) == len(lengths):
        try:
            return [(keys, _rows(objects, keys), stamps, sizes)]
        except KeyError:
            pass
    positions: dict[tuple, list[int]] = {}
    for position, layout in enumerate(map(tuple, objects)):
        found = positions.get(layout)
        if found is None:
            positions[layout] = [position]
        else:
            found.append(position)
    return [(layout, _rows([objects[i] for i in found], layout), [stamps[i] for i in found],
             None if sizes is None else [sizes[i] for i in found]) for layout, found in positions.items()]


def _rows(objects: Sequence[Mapping], keys: tuple) -> list[tuple]:
    """Each object's values in the order of `keys` (KeyError when one lacks a key)."""
    if len(keys) == 1:
        return [(value,) for value in map(itemgetter(keys[0]), objects)]
    return list(map(itemgetter(*keys), objects)) if keys else []


def split_by_type(values: Sequence, stamps: Sequence | None) -> dict[type, tuple[Sequence, Sequence | None]]:
    """{type: (its values, their stamps)}; a single-typed column (the usual case) is not copied."""
    types = list(map(type, values))
    if not types:
        return {}
    if types.count(types[0]) == len(types):
        return {types[0]: (values, stamps)}
    split = {}
    # in the order first met, not set order (by the types' ids: it changes from one process to the
    # next): equal values of two types (a symbol and the string it spells) then meet the distinct
    # set in the same order every run, so the same one stands for both and the shape repeats
    for kind in dict.fromkeys(types):
        mask = list(map(is_, types, repeat(kind)))
        split[kind] = (list(compress(values, mask)), None if stamps is None else list(compress(stamps, mask)))
    return split


def stamp_span(stamps: Sequence) -> tuple[int, int] | None:
    """First and last creation second among `stamps` (None: documents without an ObjectId)."""
    dated = stamps if None not in stamps else [stamp for stamp in stamps if stamp is not None]
    return (min(dated), max(dated)) if dated else None


def _bucket_values(node: _Node, split: dict, span: tuple[int, int] | None) -> None:
    """A column's values into the node's buckets; the column's time span into `type_times`
    (ints and Code keep their stamps: their BSON type is only known value by value)."""
    for kind, (part, part_stamps) in split.items():
        _file(node.values, kind, part)
        if kind is int or kind is Code:
            _file(node.stamps, kind, part_stamps)
            continue
        part_span = span if len(split) == 1 else stamp_span(part_stamps)
        if part_span is not None:
            _widen(node.type_times, TYPE_NAMES.get(kind) or type_name_of_subclass(kind), *part_span)


def _bucket_elements(node: _Node, split: dict) -> None:
    for kind, (part, _) in split.items():
        _file(node.elements, kind, part)


def _file(buckets: dict[type, list], kind: type, part: Sequence) -> None:
    held = buckets.get(kind)
    if held is None:
        buckets[kind] = list(part)
    else:
        held.extend(part)


def _sizes_of(split: dict, column: Sequence, sizes: Sequence | None, kinds: tuple) -> Sequence | None:
    """The document sizes of a column's values of `kinds`, in `split`'s order (as `_objects_in`
    joins them); the sizes themselves when the column holds one type, None without sizes."""
    if sizes is None or len(split) == 1:
        return sizes
    return list(chain.from_iterable([size for value, size in zip(column, sizes) if type(value) is kind]
                                    for kind in split if kind in kinds))


def _objects_in(split: dict) -> tuple[Sequence, Sequence]:
    """The objects (dicts, SONs) of a split column and their stamps."""
    parts = [part for kind, part in split.items() if kind in OBJECT_TYPES]
    if len(parts) <= 1:
        return parts[0] if parts else ((), ())
    return (list(chain.from_iterable(values for values, _ in parts)),
            list(chain.from_iterable(stamps for _, stamps in parts)))


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


def _merged_counts(mine: Counter | None, theirs: Counter | None) -> Counter | None:
    """Value counts of two parts of one stream; None (not counted) when either part gave up."""
    if mine is None or theirs is None:
        return None
    mine.update(theirs)
    return mine


def _merge_node(mine: _Node, theirs: _Node) -> None:
    mine.objects += theirs.objects
    mine.value_counts = _merged_counts(mine.value_counts, theirs.value_counts)
    mine.count += theirs.count
    mine.types.update(theirs.types)
    mine.array_count += theirs.array_count
    mine.lengths.merge(theirs.lengths)
    mine.element_types.update(theirs.element_types)
    mine.nesting = max(mine.nesting, theirs.nesting)
    mine.strings.merge(theirs.strings)
    mine.distinct.merge(theirs.distinct)
    mine.fractional_doubles += theirs.fractional_doubles
    mine.string_counts = _merged_counts(mine.string_counts, theirs.string_counts)
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
    values, stamps, elements, arrays = node.values, node.stamps, node.elements, node.arrays
    node.values, node.stamps, node.elements, node.arrays = {}, {}, {}, []
    scalars: dict[type, list] = {}
    for kind, part in values.items():
        node.count += len(part)
        _count_kind(node.types, kind, part)
        if kind in stamps:
            _type_times(node.type_times, part, stamps[kind])
        if kind is float:
            node.fractional_doubles += fractional(part)
        scalars[kind] = part
    if node.value_counts is not None:
        _count_values(node, list(chain.from_iterable(values.values())))
    if node.string_counts is not None:  # C-level Counter.update, one per chunk
        node.string_counts.update(values.get(str, ()))
        node.string_counts.update(elements.get(str, ()))
    if arrays:
        node.array_count += len(arrays)
        node.lengths.add_many(list(map(len, arrays)))
        for kind, part in elements.items():
            _count_kind(node.element_types, kind, part)
            scalars[kind] = scalars[kind] + part if kind in scalars else part
    _scalar_stats(node, scalars)


def fractional(doubles: list[float]) -> int:
    """How many of `doubles` are not whole numbers (a fraction, NaN or an infinity): whole
    doubles compare, sort and index like ints, so an int/double mix of them is harmless (DM505).
    `map(float.is_integer)` summed stays in C: about 1 ms per 20,000 values."""
    return len(doubles) - sum(map(float.is_integer, doubles))


def _count_kind(counter: Counter, kind: type, values: list) -> None:
    """Count `values`, all of Python type `kind`, under their BSON type names (an int is a long
    past 32 bits; Code with a scope is javascriptWithScope)."""
    n = len(values)
    if kind is int:
        wide = _wide_ints(values)
        if wide:
            counter["long"] += wide
            n -= wide
    elif kind is Code:
        with_scope = sum(1 for v in values if v.scope is not None)
        if with_scope:
            counter["javascriptWithScope"] += with_scope
            n -= with_scope
    if n:
        counter[TYPE_NAMES.get(kind) or type_name_of_subclass(kind)] += n


def _wide_ints(ints: list[int]) -> int:
    """How many of `ints` need 64 bits."""
    if INT32_MIN <= min(ints) and max(ints) <= INT32_MAX:
        return 0
    return sum(1 for v in ints if not INT32_MIN <= v <= INT32_MAX)


def _type_times(times: dict[str, list[int]], values: list, stamps: list) -> None:
    """First and last creation second of the documents holding each BSON type of ints or Code
    values (one Python type, two BSON types: int/long, javascript/javascriptWithScope)."""
    if type(values[0]) is int and not _wide_ints(values):
        span = stamp_span(stamps)
        if span is not None:
            _widen(times, "int", *span)
        return
    by_type: dict[str, list[int]] = {}
    for value, stamp in zip(values, stamps):
        if stamp is not None:
            by_type.setdefault(bson_type_of(value), []).append(stamp)
    for name, dated in by_type.items():
        _widen(times, name, min(dated), max(dated))


def _widen(times: dict[str, list[int]], name: str, first: int, last: int) -> None:
    span = times.get(name)
    times[name] = [first, last] if span is None else [min(span[0], first), max(span[1], last)]


def _scalar_stats(node: _Node, scalars: dict[type, list]) -> None:
    """String lengths, number/date/ObjectId ranges and the distinct sketch, type by type."""
    distinct: list = []
    seen = 0
    for kind, values in scalars.items():
        if kind in OBJECT_TYPES or kind is list:
            continue
        seen += len(values)
        if kind is str:
            node.strings.add_many(list(map(len, values)))
        elif kind is int or kind is Int64:
            _number_range(node, values)
        elif kind is float:
            _number_range(node, [v for v in values if v == v and v not in INFINITIES])
        elif kind is Decimal128:  # to_decimal is slow pure Python: read the bits, once per value
            values = set(map(DECIMAL_BITS, values))  # unhashable: its bits stand for it in the sketch
            _number_range(node, decimal_ends(values))
        elif kind is datetime:
            _date_range(node, values)
        elif kind is ObjectId:
            _widen_oids(node, min(values), max(values))
        distinct.append(values)
    if seen:
        node.distinct.add_many(distinct[0] if len(distinct) == 1 else list(chain.from_iterable(distinct)), seen)


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


def decimal_ends(halves: set[tuple[int, int]]) -> list[float]:
    """Floats among which are the smallest and largest of these Decimal128 values (as bit
    halves). When they share one high half with a coefficient under 2**64 (prices with two
    decimals, say: one sign, one exponent) the value follows the low half, so the two ends
    are the only ones converted; otherwise every value is."""
    highs = set(map(itemgetter(0), halves))
    if len(highs) == 1:
        high = highs.pop()
        special, large = (high >> 58) & 0x1E == 0x1E, (high >> 61) & 3 == 3 or high & ((1 << 49) - 1)
        if not special and not large:
            return [decimal128_float(min(halves)), decimal128_float(max(halves))]
    return [f for f in map(decimal128_float, halves) if f is not None]


def _number_range(node: _Node, numbers: list) -> None:
    if not numbers:
        return
    lo, hi = min(numbers), max(numbers)
    node.number_min = lo if node.number_min is None else min(node.number_min, lo)
    node.number_max = hi if node.number_max is None else max(node.number_max, hi)


def _widen_oids(node: _Node, lo: ObjectId, hi: ObjectId) -> None:
    node.oid_min = lo if node.oid_min is None else min(node.oid_min, lo)
    node.oid_max = hi if node.oid_max is None else max(node.oid_max, hi)


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
    return None if refuse_values(node.path, strings) else sorted(strings)  # no secret is kept


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
    found = detect(strings, forms=True)  # the typed forms too (DM506)
    return {"detected": dict(sorted(found.items())) or None, "examined": len(strings)}


def good_turing(counts: Counter | None, string_values: list[str] | None) -> tuple[int | None, float | None]:
    """(values seen exactly once, chance of an unseen value) for a field whose values were kept
    for an enum; (None, None) otherwise. The chance is Good–Turing's, singletons over the values
    read: a set whose every value came up many times is likely the whole set."""
    if string_values is None or not counts:
        return None, None
    singletons = sum(1 for seen in counts.values() if seen == 1)
    return singletons, round(unseen_chance(singletons, sum(counts.values())), 6)


def _field_shape(node: _Node, parent: _Node, enum_limit: int = 0) -> FieldShape:
    array = None
    if node.array_count:
        array = ArrayShape(
            count=node.array_count,
            lengths=node.lengths.summary(),
            element_types=dict(sorted(node.element_types.items())),
            nesting=node.nesting,
        )
    string_values = _string_values(node, enum_limit)
    singletons, unseen = good_turing(node.string_counts, string_values)
    return FieldShape(
        path=node.path,
        depth=node.depth,
        count=node.count,
        probability=round(node.count / parent.objects, 6) if parent.objects else 0.0,
        types=dict(sorted(node.types.items())),
        distinct_estimate=node.distinct.estimate(),
        fingerprints=node.distinct.fingerprints() if node.distinct.seen else None,
        string_values=string_values,
        singletons=singletons,
        unseen_chance=unseen,
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
        fractional_doubles=node.fractional_doubles if node.types.get("double") else None,
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
