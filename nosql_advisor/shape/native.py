"""The native engine: the reference inference (infer.ShapeBuilder) with each chunk's per-value work in C.

The shape's state is the reference's own `_Node` tree: finish(), merge(), pickling for worker
processes and the field shapes stay infer.py's code. What changes is a chunk's walk: the C `Walker`
(native/walker.c) walks the raw BSON of a chunk's documents column by column, as infer.py walks
decoded ones, and hands back per node what the reference's flush would have added (counts, type
counts and times, histograms, ranges, the values new to the distinct sketch), which is applied here
a few Python steps per node, not per value.

The walker reads exactly only some documents (every value of the common kinds, no duplicate keys,
bounded nesting: `Walker.check`). Any other document is decoded here as the reference decodes it
(a problem if it does not decode), and a chunk holding one is walked by the reference itself, the
walker then told of the nodes it made: the same tree, the same shape, never an approximation.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from operator import sub

from bson import Binary, Decimal128, Int64, ObjectId

from nosql_advisor import _shapecore
from nosql_advisor.shape.infer import (
    DEFAULT_MAX_PATHS, FLUSH_BYTES, FLUSH_EVERY, ShapeBuilder, _count_values, _date_range, _Node,
    _number_range, _widen, _widen_oids, decimal128_float, decimal_ends,
)
from nosql_advisor.shape.rows import DEFAULT_ROWS, MISSING
from nosql_advisor.shape.stats import HASH_SPACE, Histogram
from nosql_advisor.sources.base import CODEC_OPTIONS
from nosql_advisor.sources.legacy_types import DECODE_ERRORS, decode_many, decode_one, decode_run

# the Python types of the walker's kinds, in walker.c's K_ order
KIND_TYPES = (float, str, dict, list, bytes, ObjectId, bool, datetime, type(None), int, Int64, Decimal128, Binary)


def decoded_segment(data, starts: Sequence[int], ends: Sequence[int]) -> list[dict]:
    """The documents of one run of a batch (already checked whole), decoded as the reference decodes them."""
    return decode_many(bytes(data[starts[0]:ends[-1]]), list(map(sub, ends, starts)), CODEC_OPTIONS)


def new_walker(max_paths: int) -> _shapecore.Walker:
    """A walker whose values become the Python objects the reference's decoder makes."""
    walker = _shapecore.Walker(max_paths)
    walker.setup(KIND_TYPES, Int64, ObjectId, decode_one, CODEC_OPTIONS)
    return walker


class NativeShapeBuilder(ShapeBuilder):
    """infer.ShapeBuilder's interface and results; raw-BSON batches walked in C."""

    engine = "native"

    def __init__(self, namespace: str = "", max_paths: int = DEFAULT_MAX_PATHS, enum_limit: int = 0,
                 count_values: frozenset[str] = frozenset(), rows: int = DEFAULT_ROWS) -> None:
        super().__init__(namespace, max_paths, enum_limit, count_values, rows)
        self._start()

    def _start(self) -> None:
        self._walker = new_walker(self.max_paths)
        self._index: dict[int, int] = {}  # id(node) -> its index in self.nodes (the walker's too)
        self._entries: list[tuple] = []  # the chunk: ("raw", data, starts, ends) / ("doc", document, size)
        self._count = 0
        self._bytes = 0
        self._decoded = False  # the chunk holds a decoded document: the reference walks it
        self.walked = Counter()  # chunks walked by each engine ("native", "python"): for tests and the bench

    # -- intake: chunks close exactly where the reference closes them ---------------------------

    def add(self, document: Mapping, bson_size: int | None = None) -> None:
        self._entries.append(("doc", document, bson_size))
        self._decoded = True
        self._count += 1
        if bson_size is not None:
            self._bytes += bson_size
        if self._count >= FLUSH_EVERY or self._bytes >= FLUSH_BYTES:
            self._flush()

    def add_raw(self, data: bytes, starts: Sequence[int]) -> list[tuple[int, str]]:
        """As infer.ShapeBuilder.add_raw: documents the walker reads enter as references into
        `data`; any other is decoded here (skipped with bson's message when it does not decode)."""
        if not len(starts):
            return []
        if type(data) is not bytes:  # the chunk keeps references into it: a reused buffer must not change under them
            data = bytes(data)
        ends = [*starts[1:], len(data)]
        refused = self._walker.check(data, starts, ends)
        if not refused:
            self._add_run(data, starts, ends)
            return []
        problems = []
        previous = 0
        for index in refused:
            if index > previous:
                self._add_run(data, starts[previous:index], ends[previous:index])
            start, end = starts[index], ends[index]
            try:
                document = decode_one(bytes(data[start:end]), CODEC_OPTIONS)
            except DECODE_ERRORS as error:
                problems.append((index, str(error)))
            else:
                self.add(document, end - start)
            previous = index + 1
        if previous < len(starts):
            self._add_run(data, starts[previous:], ends[previous:])
        return problems

    def add_raw_decoded(self, data: bytes, starts: Sequence[int]) -> tuple[list[tuple[int, dict, int]], list[tuple[int, str]]]:
        """`add_raw` reads the bytes; the documents are decoded only for the caller (a ValidationTally)."""
        problems = self.add_raw(data, starts)
        failed = {index for index, _ in problems}
        return [entry for entry in decode_run(data, starts)[0] if entry[0] not in failed], problems

    def _add_run(self, data, starts: Sequence[int], ends: Sequence[int]) -> None:
        sizes = list(map(sub, ends, starts))
        at, n = 0, len(sizes)
        while at < n:
            take = min(FLUSH_EVERY - self._count, n - at)
            total = sum(sizes[at:at + take])
            if self._bytes + total >= FLUSH_BYTES:  # large documents: the byte limit closes the chunk
                total, take = 0, 0
                while self._bytes + total < FLUSH_BYTES:
                    total += sizes[at + take]
                    take += 1
            self._entries.append(("raw", data, starts[at:at + take], ends[at:at + take]))
            self._count += take
            self._bytes += total
            at += take
            if self._count >= FLUSH_EVERY or self._bytes >= FLUSH_BYTES:
                self._flush()

    # -- the flush ---------------------------------------------------------------------------------

    def _flush(self) -> None:
        entries, decoded = self._entries, self._decoded
        self._entries, self._count, self._bytes, self._decoded = [], 0, 0, False
        if not entries:
            return
        if decoded:
            self.walked["python"] += 1
            self._reference_flush(entries)
        else:
            self.walked["native"] += 1
            self._native_flush([entry[1:] for entry in entries])

    def _reference_flush(self, entries: list[tuple]) -> None:
        """A chunk holding a decoded document: decode the rest, walk it with the reference."""
        documents: list = []
        sizes: list = []
        for entry in entries:
            if entry[0] == "doc":
                documents.append(entry[1])
                sizes.append(entry[2])
            else:
                _, data, starts, ends = entry
                documents.extend(decoded_segment(data, starts, ends))
                sizes.extend(map(sub, ends, starts))
        self.pending, self.pending_sizes = documents, sizes
        ShapeBuilder._flush(self)
        self._sync()

    def _native_flush(self, segments: list[tuple]) -> None:
        new_nodes, drops, growth, too_deep = self._walker.walk(segments)
        for parent, key, depth in new_nodes:
            self._make_node(parent, key, depth)
        for parent, occurrences in drops:
            self._drop(self._node(parent), occurrences)
        for index, totals in growth:
            self._add_growth(self.nodes[index].path, totals)
        self.too_deep += too_deep
        chunk = NativeChunk(self, segments)
        self._tally(chunk, chunk.stamps())  # rows, invariants, versions: before the nodes' flush
        results, days, sizes = self._walker.flush()
        self.created_days.update(days)
        _merge_histogram(self.size_histogram, sizes)
        for result in results:
            self._apply(result)

    def _apply(self, result: tuple) -> None:
        """infer._flush_node of one node, from what the walker gathered of the chunk."""
        (index, objects, count, types, times, fractional, nesting, array_count, lengths, element_types,
         strings, ranges, date_lo, date_hi, oid_lo, oid_hi, fresh, seen, counted, texts) = result
        node = self._node(index)
        node.objects += objects
        if nesting > node.nesting:
            node.nesting = nesting
        if not count and not array_count:
            return
        node.count += count
        node.types.update(types)
        for name, (first, last) in times.items():
            _widen(node.type_times, name, first, last)
        node.fractional_doubles += fractional
        if node.value_counts is not None:
            if counted is False:  # an object or array: not a usable key
                node.value_counts = None
            else:
                _count_values(node, counted)
        if node.string_counts is not None:
            node.string_counts.update(texts)
        if array_count:
            node.array_count += array_count
            _merge_histogram(node.lengths, lengths)
            node.element_types.update(element_types)
        _merge_histogram(node.strings, strings)
        for form, low, high in ranges:  # kind by kind, in _scalar_stats' order
            if form == 0:  # an int, Int64 or float kind's ends
                _number_range(node, [low, high])
            elif form == 1:  # Decimal128 values of one high half: decimal_ends' two ends
                _number_range(node, [decimal128_float(low), decimal128_float(high)])
            else:  # their distinct bit pairs, first met first: decimal_ends itself
                _number_range(node, decimal_ends(set(low)))
        if date_lo is not None:
            _date_range(node, [date_lo, date_hi])
        if oid_lo is not None:
            _widen_oids(node, oid_lo, oid_hi)
        if seen:
            exact = node.distinct.exact is not None
            node.distinct.add_many(fresh, seen)
            if node.distinct.exact is None:
                self._walker.set_threshold(index, _threshold(node))
            elif not exact:
                raise AssertionError("a distinct sketch went back to exact")
        if node.string_counts is not None and len(node.string_counts) > self.enum_limit:
            node.string_counts = None
        if counted is not None or texts is not None:
            self._walker.set_flags(index, node.value_counts is not None, node.string_counts is not None)

    # -- the tree and its mirror in the walker ------------------------------------------------

    def _node(self, index: int) -> _Node:
        return self.root if index < 0 else self.nodes[index]

    def _make_node(self, parent_index: int, key: str, depth: int) -> None:
        """infer.ShapeBuilder._add_child for a path the walker made (it applied the path cap)."""
        child = self._new_child(self._node(parent_index), key, depth)
        self._index[id(child)] = len(self.nodes) - 1
        if child.value_counts is not None or child.string_counts is not None:
            self._walker.set_flags(len(self.nodes) - 1, child.value_counts is not None, child.string_counts is not None)

    def _sync(self) -> None:
        """Tell the walker of the nodes the reference made (a decoded chunk, a merge, unpickling),
        and of every node's counters and sketch as they now stand."""
        known = self._walker.paths()
        if known < len(self.nodes):
            parents = {}
            for parent in (self.root, *self.nodes):
                for key, child in parent.children.items():
                    if id(child) not in self._index:
                        parents[id(child)] = (parent, key)
            for index in range(known, len(self.nodes)):
                node = self.nodes[index]
                parent, key = parents[id(node)]
                parent_index = -1 if parent is self.root else self._index[id(parent)]
                registered = self._walker.register(parent_index, _utf8(key), node.depth)
                assert registered == index, (registered, index)
                self._index[id(node)] = index
        for index, node in enumerate(self.nodes):
            self._walker.set_flags(index, node.value_counts is not None, node.string_counts is not None)
            if node.distinct.exact is None:
                self._walker.set_threshold(index, _threshold(node))

    def index_of(self, node: _Node) -> int:
        return -1 if node is self.root else self._index[id(node)]

    # -- merging and pickling (worker processes) --------------------------------------------

    def merge(self, other: ShapeBuilder) -> None:
        super().merge(other)
        self._sync()

    def __getstate__(self) -> dict:
        self._flush()
        state = dict(self.__dict__)
        for name in ("_walker", "_index", "_entries", "walked"):
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._start()
        self._sync()


def _utf8(key: str) -> bytes:
    """A key as the walker compares keys: its UTF-8 bytes (a lone surrogate, which a decoded JSON
    document can hold and no BSON key can, kept as its own bytes: it matches no raw key)."""
    return key.encode("utf-8", "surrogatepass")


def _threshold(node: _Node) -> int:
    """The hashes the sketch can still take: under its largest kept one once it holds k of them."""
    bottom = node.distinct.bottom
    return max(bottom) if len(bottom) >= node.distinct.k else HASH_SPACE


def _merge_histogram(histogram: Histogram, summary: tuple | None) -> None:
    """Histogram.merge of the walker's (counts, n, total, min, max): what add_many of the values gives."""
    if summary is None:
        return
    counts, n, total, low, high = summary
    histogram.counts.update(counts)
    histogram.n += n
    histogram.total += total
    histogram.min = low if histogram.min is None else min(histogram.min, low)
    histogram.max = high if histogram.max is None else max(histogram.max, high)


class NativeChunk:
    """The chunk the walker has just walked, as rows, invariants and versions read it: values are
    made into Python objects only when asked. Valid until the builder's next walk."""

    def __init__(self, builder: NativeShapeBuilder, segments: list[tuple]) -> None:
        self.builder = builder
        self.walker = builder._walker
        self.segments = segments
        self.size = self.walker.size()
        self._documents: list | None = None

    def kinds(self, node: _Node) -> dict[type, int]:
        return self.walker.kinds(self.builder.index_of(node))

    def element_kinds(self, node: _Node) -> dict[type, int]:
        return self.walker.element_kinds(self.builder.index_of(node))

    def values(self, node: _Node) -> dict[type, list]:
        return self.walker.values(self.builder.index_of(node))

    def elements(self, node: _Node) -> dict[type, list]:
        return self.walker.elements(self.builder.index_of(node))

    def column(self, key: str) -> list:
        return self.walker.column(_utf8(key))

    def has(self, key: str) -> list[bool]:
        return self.walker.has(_utf8(key))

    def ids(self) -> list:
        return self.walker.ids(MISSING)

    def lengths(self, node: _Node) -> list[int]:
        """The lengths of the arrays among the node's values, in the order of its values."""
        return self.walker.value_lengths(self.builder.index_of(node))

    def stamps(self) -> list:
        return self.walker.stamps()

    def documents(self) -> list[dict]:
        if self._documents is None:
            documents: list = []
            for data, starts, ends in self.segments:
                documents.extend(decoded_segment(data, starts, ends))
            self._documents = documents
        return self._documents

    def document(self, index: int) -> dict:
        if self._documents is not None:
            return self._documents[index]
        return decode_one(self.raw(index), CODEC_OPTIONS)

    def raw(self, index: int) -> bytes:
        """Document `index`'s BSON, copied out of the batch (the row sample keeps it past the chunk)."""
        for data, starts, ends in self.segments:
            if index < len(starts):
                return bytes(data[starts[index]:ends[index]])
            index -= len(starts)
        raise IndexError("no such document in the chunk")
