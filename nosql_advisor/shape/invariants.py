"""Consistency invariants between top-level fields, counted over every document (DM507).

Three kinds of candidate:
- sum: a numeric field equal to the sum of an array's numeric field, or of the products of two
  (`total` = Σ `items.price` × `items.qty`); integers and Decimal128 are compared exactly (as
  integers scaled by a power of ten), doubles within a relative 1e-9;
- order: a date that does not precede another (`updated_at` ≥ `created_at`);
- presence: an optional field present (and not null) exactly when a low-cardinality string field
  holds some values (`shipped_at` present iff `status` is "shipped").

A candidate is made by the first chunk holding its fields with the right types and counted on
every document that can check it, rather than learnt from a first sample of the stream: a builder
in a worker process reads another part of the file, and counts over candidate lists learnt from
different starts could not be added. What bounds the candidates is the names: in each family
(dates, numeric targets, arrays of objects, each array's numeric fields, string fields) only the
k names of best rank are kept (`Kept`), by a rank fixed for each name, so which names are kept does
not depend on the order the documents come in, and two tallies merge into exactly the tally one
pass gives. At most 15 date pairs, 48 sums (4 targets × 2 arrays × 3 sums and 3 sums of products)
and 8 string fields of at most 16 values each are counted.

The work is column by column over a chunk (`TopLevel`, read through the chunk's view, `Chunk`:
either engine's), from the kinds and counts of each field first and values only where a candidate
needs them, reading the walk's own per-field lists when every document holds every top-level
field, so that a chunk of 5,000 orders costs a few C-level passes per candidate, not Python steps
per document, and the native engine makes few Python values.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import accumulate, chain, combinations, compress, islice, repeat
from math import isclose
from operator import and_, attrgetter, contains, eq, is_, is_not, le, lt, methodcaller, mul, neg, or_, sub, truediv
from typing import Protocol

from bson import Decimal128, Int64

from nosql_advisor.bsontypes import OBJECT_TYPES
from nosql_advisor.redact import refuse_values
from nosql_advisor.shape.rows import GET_ID

MAX_DATES = 6  # 15 pairs
MAX_TARGETS = 4
MAX_ARRAYS = 2
MAX_TERMS = 3  # an array's numeric fields: 3 sums and 3 sums of products
MAX_STRINGS = 8
MAX_STRING_VALUES = 16  # a string field with more distinct values is not a status
FLOOR = 0.5  # candidates holding in fewer documents than this share are not kept in the shape
NUMBERS = frozenset({int, Int64, float, Decimal128})  # bool is not a number here
DECIMAL_BITS = attrgetter("_Decimal128__high", "_Decimal128__low")  # as in infer.py: C-level
DECIMAL_HIGH, DECIMAL_LOW = attrgetter("_Decimal128__high"), attrgetter("_Decimal128__low")

# names that usually carry the kind of value a family is about rank first, then a fixed hash
PREFERRED = {
    "date": re.compile(r"(_at|At|_on|On|date|Date|time|Time)$"),
    "target": re.compile(r"total|amount|sum|count|subtotal|balance|quantity|qty|price|cost", re.I),
    "array": re.compile(r"items|lines|entries|products|payments|parts", re.I),
    "term": re.compile(r"price|qty|quantity|amount|total|cost|count|units|weight", re.I),
    "string": re.compile(r"status|state|stage|phase|type|kind", re.I),
}


@dataclass
class Invariant:
    """A candidate invariant and how many documents it could be checked on (`applies`) and held
    on (`holds`)."""

    kind: str  # "sum", "order" or "presence"
    statement: str  # "total = Σ items.price × items.qty", "updated_at ≥ created_at", ...
    paths: list[str]
    applies: int
    holds: int
    detail: dict = field(default_factory=dict)

    @property
    def broken(self) -> int:
        return self.applies - self.holds


class Kept:
    """The (at most) `limit` names of one family with the best rank seen so far. A rank is a fixed
    function of the name, so the kept set is the best `limit` of every name ever offered,
    whatever their order; a name ranked out is never kept again (the set only gets better)."""

    __slots__ = ("limit", "family", "ranks", "refused")

    def __init__(self, limit: int, family: str) -> None:
        self.limit = limit
        self.family = family
        self.ranks: dict[str, tuple] = {}
        self.refused: set[str] = set()  # a cache of names ranked out (clearing it is harmless)

    def rank(self, name: str) -> tuple:
        preferred = PREFERRED[self.family].search(name) is not None
        return (not preferred, zlib.crc32(name.encode("utf-8", "surrogatepass")), name)

    def offer(self, name: str) -> tuple[bool, str | None]:
        """Whether `name` is kept, and the name it pushed out, if any."""
        if name in self.ranks:
            return True, None
        if name in self.refused:
            return False, None
        rank = self.rank(name)
        if len(self.ranks) < self.limit:
            self.ranks[name] = rank
            return True, None
        worst = max(self.ranks, key=self.ranks.__getitem__)
        if rank >= self.ranks[worst]:
            self._refuse(name)
            return False, None
        del self.ranks[worst]
        self._refuse(worst)
        self.ranks[name] = rank
        return True, worst

    def _refuse(self, name: str) -> None:
        if len(self.refused) > 4096:
            self.refused.clear()
        self.refused.add(name)

    def merge(self, other: Kept) -> list[str]:
        """Keep the best of both; returns the names of this set that were dropped."""
        union = {**self.ranks, **other.ranks}
        best = sorted(union, key=union.__getitem__)[:self.limit]
        dropped = [name for name in self.ranks if name not in best]
        self.ranks = {name: union[name] for name in best}
        return dropped


class InvariantTally:
    """Fed every document (a chunk at a time); `results` lists the candidates that held in at
    least half of the documents they could be checked on."""

    def __init__(self) -> None:
        self.dates = Kept(MAX_DATES, "date")
        self.orders: dict[tuple[str, str], list[int]] = {}  # (a, b), a < b: [a before b, equal, a after b]
        self.targets = Kept(MAX_TARGETS, "target")
        self.arrays = Kept(MAX_ARRAYS, "array")
        self.terms: dict[str, Kept] = {}  # array -> its numeric fields kept
        self.sums: dict[tuple[str, str, tuple[str, ...]], list[int]] = {}  # (target, array, terms): [applies, holds]
        self.strings = Kept(MAX_STRINGS, "string")
        # string field -> value -> [documents, Counter of the fields they hold]; None: too many values
        self.values: dict[str, dict | None] = {}

    def add_chunk(self, chunk: TopLevel) -> None:
        self._order(chunk)
        self._sums(chunk)
        self._presence(chunk)

    # -- order: a date not before another ---------------------------------------------------

    def _order(self, chunk: TopLevel) -> None:
        kept = self._kept(self.dates, chunk.holding({datetime}), self._forget_date)
        if len(kept) < 2:
            return
        for index, first in enumerate(kept):
            for second in kept[index + 1:]:
                if chunk.uniform(first, {datetime}) and chunk.uniform(second, {datetime}):
                    a, b = chunk.walked(first), chunk.walked(second)  # paired document by document
                else:
                    a, b = chunk.column(first), chunk.column(second)
                    both = list(map(and_, map(is_, map(type, a), repeat(datetime)), map(is_, map(type, b), repeat(datetime))))
                    a, b = list(compress(a, both)), list(compress(b, both))
                if not a:
                    continue
                try:
                    before, equal = sum(map(lt, a, b)), sum(map(eq, a, b))
                except TypeError:  # naive and aware datetimes
                    continue
                counts = self.orders.setdefault((first, second), [0, 0, 0])
                counts[0] += before
                counts[1] += equal
                counts[2] += len(a) - before - equal

    def _forget_date(self, name: str) -> None:
        for pair in [pair for pair in self.orders if name in pair]:
            del self.orders[pair]

    # -- sum: a number equal to a sum over an array --------------------------------------------

    def _sums(self, chunk: TopLevel) -> None:
        # every name is offered whatever else is kept: what is kept must not depend on order
        targets = self._kept(self.targets, [name for name in chunk.holding(NUMBERS) if name != "_id"],
                             self._forget_target)
        arrays = self._kept(self.arrays, [name for name in chunk.holding({list}) if chunk.has_object_elements(name)],
                            self._forget_array)
        for array in arrays:
            terms = self._terms(chunk, array)
            if targets and terms:
                self._count_sums(chunk, targets, array, terms)

    def _terms(self, chunk: TopLevel, array: str) -> list[str]:
        kept = self.terms.get(array)
        if kept is None:
            kept = self.terms[array] = Kept(MAX_TERMS, "term")
        return self._kept(kept, chunk.element_fields(array, NUMBERS), lambda dropped: self._forget_term(array, dropped))

    def _count_sums(self, chunk: TopLevel, targets: list[str], array: str, terms: list[str]) -> None:
        found = chunk.array_sums(array, terms)
        if found is None:  # documents of several forms here: one at a time
            arrays, values = chunk.chunk.column(array), [chunk.chunk.column(target) for target in targets]
            for index, value in enumerate(arrays):
                self._document_sums(value, [(target, column[index]) for target, column in zip(targets, values)],
                                    array, terms)
            return
        for target in targets:
            values = _column(chunk.column(target), chunk.kinds[target].keys()) if chunk.uniform(target, NUMBERS) else None
            for key, result in found:
                counts = self.sums.setdefault((target, array, key), [0, 0])
                if values is None:
                    applies, holds = _count_each(chunk.column(target), result)
                else:
                    applies, holds = chunk.size, _count_equal(values, result)
                counts[0] += applies
                counts[1] += holds

    def _document_sums(self, arrays, targets: list[tuple[str, object]], array: str, terms: list[str]) -> None:
        """One document: its value at `array`, and its (target, value) pairs."""
        found = _array_sums([arrays], terms, each=True)
        for target, value in targets:
            number = _number(value) if type(value) in NUMBERS else None
            if number is None:
                continue
            for key, (numbers, exponent, inexact) in found:
                counts = self.sums.setdefault((target, array, key), [0, 0])
                counts[0] += 1
                counts[1] += _equal(number, (numbers[0], exponent, inexact))

    def _forget_target(self, name: str) -> None:
        self._forget_sums(lambda key: key[0] == name)

    def _forget_array(self, name: str) -> None:
        self.terms.pop(name, None)
        self._forget_sums(lambda key: key[1] == name)

    def _forget_term(self, array: str, name: str) -> None:
        self._forget_sums(lambda key: key[1] == array and name in key[2])

    def _forget_sums(self, matches) -> None:
        for key in [key for key in self.sums if matches(key)]:
            del self.sums[key]

    # -- presence: a field present exactly for some values of a status ----------------------------

    def _presence(self, chunk: TopLevel) -> None:
        live = [name for name in self._kept(self.strings, [n for n in chunk.holding({str}) if n != "_id"], self._forget_string)
                if self.values.setdefault(name, {}) is not None]
        if not live:
            return
        always = [key for key in chunk.kinds if chunk.uniform(key)]  # held, not null, by every document
        optional = [key for key in chunk.kinds if key not in always]
        for name in live:
            column = chunk.column(name)
            strings = None if chunk.uniform(name, {str}) else list(map(is_, map(type, column), repeat(str)))
            counts = Counter(column if strings is None else compress(column, strings))
            values = self.values[name]
            if len(values.keys() | counts.keys()) > MAX_STRING_VALUES:
                self.values[name] = None
                continue
            for value, documents in counts.items():
                entry = values.setdefault(value, [0, Counter()])
                entry[0] += documents
                entry[1].update(dict.fromkeys(always, documents))
            for key in optional:
                held = chunk.held_by(key)
                for value, documents in Counter(compress(column, held if strings is None else map(and_, held, strings))).items():
                    values[value][1][key] += documents

    def _forget_string(self, name: str) -> None:
        self.values.pop(name, None)

    @staticmethod
    def _kept(kept: Kept, names: list[str], forget) -> list[str]:
        """Offer every name, then those of them kept (a later name may push out an earlier one)."""
        for name in names:
            dropped = kept.offer(name)[1]
            if dropped is not None:
                forget(dropped)
        return sorted(name for name in names if name in kept.ranks)

    # -- merging and results --------------------------------------------------------------------

    def merge(self, other: InvariantTally) -> None:
        """Fold in a tally of another part of the same collection: exactly what one pass over both
        parts would count (see the module's docstring)."""
        for name in self.dates.merge(other.dates):
            self._forget_date(name)
        for name in self.targets.merge(other.targets):
            self._forget_target(name)
        for name in self.arrays.merge(other.arrays):
            self._forget_array(name)
        for array, theirs in other.terms.items():
            if array in self.arrays.ranks:
                mine = self.terms.setdefault(array, Kept(MAX_TERMS, "term"))
                for name in mine.merge(theirs):
                    self._forget_term(array, name)
        for name in self.strings.merge(other.strings):
            self._forget_string(name)
        for pair, counts in other.orders.items():
            if all(name in self.dates.ranks for name in pair):
                mine = self.orders.setdefault(pair, [0, 0, 0])
                self.orders[pair] = list(map(sum, zip(mine, counts)))
        for key, counts in other.sums.items():
            if self._sum_kept(key):
                mine = self.sums.setdefault(key, [0, 0])
                self.sums[key] = list(map(sum, zip(mine, counts)))
        for name, values in other.values.items():
            if name in self.strings.ranks:
                self._merge_values(name, values)

    def _sum_kept(self, key: tuple) -> bool:
        target, array, terms = key
        kept = self.terms.get(array)
        return (target in self.targets.ranks and array in self.arrays.ranks and kept is not None
                and all(name in kept.ranks for name in terms))

    def _merge_values(self, name: str, theirs: dict | None) -> None:
        self.values[name] = merge_value_counts(self.values.get(name, {}), theirs, MAX_STRING_VALUES)

    def results(self) -> list[Invariant]:
        found = [*self._order_results(), *self._sum_results(), *self._presence_results()]
        return sorted((i for i in found if i.applies and i.holds >= FLOOR * i.applies),
                      key=lambda i: (i.kind, i.statement))

    def _order_results(self):
        for (first, second), (before, equal, after) in self.orders.items():
            later, earlier, strict = (second, first, before) if before >= after else (first, second, after)
            if strict:  # two dates always equal are one date, not an order
                yield Invariant("order", f"{later} ≥ {earlier}", [earlier, later], before + equal + after,
                                strict + equal, {"later": later, "earlier": earlier, "equal": equal, "strictly_later": strict})

    def _sum_results(self):
        for (target, array, terms), (applies, holds) in self.sums.items():
            summed = " × ".join(f"{array}.{name}" for name in terms)
            yield Invariant("sum", f"{target} = Σ {summed}", [target, *(f"{array}.{name}" for name in terms)],
                            applies, holds, {"target": target, "array": array, "terms": list(terms)})

    def _presence_results(self):
        for status, values in self.values.items():
            if not values or len(values) < 2 or refuse_values(status, list(values)):
                continue
            documents = sum(entry[0] for entry in values.values())
            for dependent in sorted(set().union(*(held for _, held in values.values())) - {status}):
                found = _presence(status, dependent, values, documents)
                if found is not None:
                    yield found


def _presence(status: str, dependent: str, values: dict, documents: int) -> Invariant | None:
    """`dependent` present iff `status` is one of the values most of whose documents hold it."""
    holding = {value: held[dependent] for value, (_, held) in values.items()}
    with_field = sorted(value for value, (count, _) in values.items() if holding[value] * 2 >= count)
    without_field = sorted(value for value in values if value not in with_field)
    if not with_field or not without_field:
        return None
    lacking = sum(values[value][0] - holding[value] for value in with_field)
    extra = sum(holding[value] for value in without_field)
    said = f"'{with_field[0]}'" if len(with_field) == 1 else "one of " + ", ".join(f"'{v}'" for v in with_field)
    return Invariant(
        "presence", f"{dependent} present iff {status} is {said}", [status, dependent], documents,
        documents - lacking - extra,
        {"status": status, "field": dependent, "values_with": with_field, "values_without": without_field,
         "documents_with": sum(values[v][0] for v in with_field),
         "documents_without": sum(values[v][0] for v in without_field),
         "with_but_lacking": lacking, "without_but_holding": extra})


class Chunk(Protocol):
    """What the tallies (rows, invariants, versions) read of one walked chunk, whichever engine
    walked it: the reference's `PythonChunk` over decoded documents and the walk's nodes, or the
    native engine's view over raw BSON (shape/native.py), which materializes a value only when
    it is asked for. Kinds and counts come first, so most candidates are settled without a value.

    Two more methods are optional: `element_kinds(node) -> dict[type, int]` (the counts of
    `elements(node)`) and `lengths(node) -> list[int]` (the lengths of `values(node)[list]`, in
    that order); a view without them is read through `elements` and `values` instead (same
    result, more values made)."""

    size: int  # documents in the chunk

    def kinds(self, node) -> dict[type, int]:
        """The chunk's values at this _Node, counted by Python type, in the order the
        reference's `node.values` holds them (empty: the node met no value in this chunk)."""

    def values(self, node) -> dict[type, list]:
        """The chunk's values at this _Node by Python type: exactly the reference's `node.values`."""

    def elements(self, node) -> dict[type, list]:
        """The elements of the chunk's arrays at this _Node by Python type (`node.elements`)."""

    def column(self, key: str) -> list:
        """Each document's top-level `key` value, None when absent, in document order."""

    def has(self, key: str) -> list[bool]:
        """Whether each document holds top-level `key` (null counts as held)."""

    def documents(self) -> list[Mapping]:
        """Every document, decoded (legacy BSON types kept)."""

    def document(self, index: int) -> Mapping:
        """One document, decoded (the row sample asks only for those entering it)."""

    def ids(self) -> list:
        """Each document's `_id`, rows.MISSING when it has none."""


class PythonChunk:
    """The reference's chunk view: the decoded documents and what the walk filed in the nodes
    (kinds and values are the nodes' own buckets, nothing is copied)."""

    __slots__ = ("size", "_documents")

    def __init__(self, documents: Sequence[Mapping]) -> None:
        self._documents = documents
        self.size = len(documents)

    def kinds(self, node) -> dict[type, int]:
        return {kind: len(part) for kind, part in node.values.items()}

    def values(self, node) -> dict[type, list]:
        return node.values

    def elements(self, node) -> dict[type, list]:
        return node.elements

    def element_kinds(self, node) -> dict[type, int]:
        return {kind: len(part) for kind, part in node.elements.items()}

    def column(self, key: str) -> list:
        return list(map(methodcaller("get", key), self._documents))

    def has(self, key: str) -> list[bool]:
        return list(map(contains, self._documents, repeat(key)))

    def documents(self) -> Sequence[Mapping]:
        return self._documents

    def document(self, index: int) -> Mapping:
        return self._documents[index]

    def ids(self) -> list:
        return list(map(GET_ID, self._documents))


class TopLevel:
    """One chunk's top-level fields as the tallies read them, through the chunk's view: which
    fields hold values of which kinds (counts only), and columns made when a candidate asks.
    When every document holds every top-level field (the walk then read them as one group, in
    document order, unless the path cap dropped keys that split the layouts), a field of one type
    is its node's list as it stands: no pass over the documents. Otherwise a column is the view's,
    in document order."""

    def __init__(self, chunk: Chunk, nodes: Mapping) -> None:
        self.chunk = chunk
        self.size = chunk.size
        self.nodes = nodes
        self.kinds: dict[str, dict[type, int]] = {}  # top-level field -> its kinds here (held ones only)
        for key, node in nodes.items():
            kinds = chunk.kinds(node)
            if kinds:
                self.kinds[key] = kinds
        self.held = {key: sum(kinds.values()) for key, kinds in self.kinds.items()}
        self.rectangular = all(count == self.size for count in self.held.values())
        self.columns: dict[str, Sequence] = {}
        self.masks: dict[str, list[bool]] = {}

    def holding(self, kinds) -> list[str]:
        """The top-level fields holding a value of one of these Python types here, by name."""
        return sorted(key for key, held in self.kinds.items() if not held.keys().isdisjoint(kinds))

    def uniform(self, key: str, kinds=None) -> bool:
        """Whether every document holds `key`, not null (and only values of `kinds`)."""
        held = self.kinds.get(key)
        if held is None or NONE in held or self.held[key] != self.size:
            return False
        return kinds is None or held.keys() <= kinds

    def has_object_elements(self, key: str) -> bool:
        return not self._element_kinds(self.nodes[key]).keys().isdisjoint(OBJECT_TYPES)

    def element_fields(self, key: str, kinds) -> list[str]:
        """Fields of the objects in the arrays at `key` that hold one of `kinds` here."""
        return [name for name, child in self.nodes[key].children.items()
                if not self.chunk.kinds(child).keys().isdisjoint(kinds)]

    def column(self, key: str) -> Sequence:
        """Each document's value of `key` (None when it has none), in document order."""
        column = self.columns.get(key)
        if column is None:
            held = self.kinds.get(key, {})
            if self.rectangular and len(held) == 1:
                column = next(iter(self.chunk.values(self.nodes[key]).values()))
            else:
                column = self.chunk.column(key)
            self.columns[key] = column
        return column

    def walked(self, key: str) -> Sequence | None:
        """`key`'s values in the walk's order, when every document holds it with values of one
        type: its node's own list, no pass over the documents. The walk reads the documents a
        layout at a time, so this order need not be the documents', but it is the same for every
        such field: two of them pair up document by document (counts over pairs agree)."""
        kinds = self.kinds.get(key)
        if kinds is None or len(kinds) != 1 or self.held[key] != self.size:
            return None
        return next(iter(self.chunk.values(self.nodes[key]).values()))

    def held_by(self, key: str) -> list[bool]:
        """Whether each document holds `key` not null: from the view's presence alone when no
        value there is null (no value made), else from the column."""
        mask = self.masks.get(key)
        if mask is None:
            if NONE in self.kinds.get(key, ()):
                mask = list(map(is_not, self.column(key), repeat(None)))
            elif key in self.columns:  # a column at hand beats a pass
                mask = list(map(is_not, self.columns[key], repeat(None)))
            else:
                mask = self.chunk.has(key)
            self.masks[key] = mask
        return mask

    def array_sums(self, key: str, terms: list[str]) -> list | None:
        """`_array_sums` of the arrays at `key`: from the element columns the walk filed and the
        arrays' lengths when the view gives those, without making the arrays themselves."""
        uniform = self.uniform(key, {list})
        lengths = self._lengths(self.nodes[key]) if uniform and self.rectangular and key not in self.columns else None
        if lengths is not None:
            return _sums_over(lengths, terms, lambda: list(chain.from_iterable(self.column(key))),
                              False, lambda lengths: self.element_columns(key, lengths))
        return _array_sums(self.column(key), terms, from_nodes=lambda lengths: self.element_columns(key, lengths),
                           uniform=uniform)

    def element_columns(self, key: str, lengths: list[int]):
        """A function giving the values of a field of the objects in the arrays at `key`, in order,
        from the walk's nodes when it read every element as one group (all objects, one key set,
        no nested arrays, one type per field); None when it did not. Only in a rectangular chunk:
        otherwise each layout's arrays are walked apart, last layout first (the walk's stack)."""
        node = self.nodes[key]
        total = sum(lengths)
        elements = self._element_kinds(node)
        if not self.rectangular or elements.keys() != {dict} or elements[dict] != total:
            return None
        counts = [sum(kinds.values()) for kinds in map(self.chunk.kinds, node.children.values())]
        if any(count and count != total for count in counts):
            return None
        return lambda name: self._single(node.children[name]) if name in node.children else None

    def _single(self, node) -> tuple[list, set] | None:
        """A node's values of the chunk and their type, when they are all of one type."""
        kinds = self.chunk.kinds(node)
        return _single(self.chunk.values(node)) if len(kinds) == 1 else None

    def _element_kinds(self, node) -> dict[type, int]:
        counted = getattr(self.chunk, "element_kinds", None)
        if counted is not None:
            return counted(node)
        return {kind: len(part) for kind, part in self.chunk.elements(node).items()}

    def _lengths(self, node) -> list[int] | None:
        """The lengths of the arrays that are values at `node`, in the order of its values (the
        walk's), when the view can say them without making the arrays (an optional
        `lengths(node)`); else None."""
        lengths = getattr(self.chunk, "lengths", None)
        return lengths(node) if lengths is not None else None


NONE = type(None)


def _single(values: dict) -> tuple[list, set] | None:
    """A node's values of the chunk and their type, when they are all of one type."""
    return (next(iter(values.values())), values.keys()) if len(values) == 1 else None


def _array_sums(arrays: Sequence, terms: list[str], each: bool = False, from_nodes=None,
                uniform: bool = False) -> list | None:
    """Per document, the sums of each term over the array's elements and of each pair's products,
    as ((terms), (numbers, exponent, inexact)). None when a document's array is not a non-empty
    array of objects all holding every term as a number (`each`: one document, then only the
    sums that apply). `from_nodes`: the element columns as the walk filed them (TopLevel);
    `uniform`: every value is known to be an array."""
    if not uniform and set(map(type, arrays)) != {list}:
        return [] if each else None
    return _sums_over(list(map(len, arrays)), terms, lambda: list(chain.from_iterable(arrays)), each, from_nodes)


def _sums_over(lengths: list[int], terms: list[str], elements_of, each: bool, from_nodes) -> list | None:
    """`_array_sums` of arrays of these lengths, whose elements `elements_of()` gives (asked
    only when the walk's element columns cannot serve)."""
    if 0 in lengths:
        return [] if each else None
    read = from_nodes(lengths) if from_nodes is not None else None
    elements = None
    if read is None:
        elements = elements_of()
        if not set(map(type, elements)) <= OBJECT_TYPES:
            return [] if each else None
    columns = {}
    for name in terms:
        values, kinds = (read(name) if read is not None else None) or (None, None)
        if values is None:
            if elements is None:
                elements = elements_of()
            values = list(map(methodcaller("get", name), elements))
        column = _column(values, kinds)
        if column is None and not each:
            return None
        if column is not None:
            columns[name] = column
    ends = list(accumulate(lengths))
    found = [((name,), (_segments(numbers, lengths, ends, inexact), exponent, inexact))
             for name, (numbers, exponent, inexact) in columns.items()]
    for first, second in combinations(columns, 2):
        (a, a_exponent, a_inexact), (b, b_exponent, b_inexact) = columns[first], columns[second]
        inexact = a_inexact or b_inexact
        found.append(((first, second), (_segments(list(map(mul, a, b)), lengths, ends, inexact),
                                        a_exponent + b_exponent, inexact)))
    return found


def _segments(numbers: list, lengths: list[int], ends: list[int], inexact: bool) -> list:
    """Sums of consecutive runs of `numbers`, one per length: differences of running totals for
    integers (exact), each run summed on its own for doubles (islice over one iterator), so that
    a double's sum is the one a document alone would give."""
    if inexact:
        return list(map(sum, map(islice, repeat(iter(numbers)), lengths)))
    totals = list(accumulate(numbers, initial=0))
    return list(map(sub, map(totals.__getitem__, ends), map(totals.__getitem__, map(sub, ends, lengths))))


def _count_equal(left: tuple, right: tuple) -> int:
    """How many positions of two columns (numbers, exponent, inexact) hold equal values."""
    (a, a_exponent, a_inexact), (b, b_exponent, b_inexact) = left, right
    if not (a_inexact or b_inexact):
        low = min(a_exponent, b_exponent)
        a = a if a_exponent == low else list(map(mul, a, repeat(10 ** (a_exponent - low))))
        b = b if b_exponent == low else list(map(mul, b, repeat(10 ** (b_exponent - low))))
        return sum(map(eq, a, b))
    try:
        a, b = _floats(a, a_exponent), _floats(b, b_exponent)
    except OverflowError:
        return sum(map(_equal, zip(left[0], repeat(left[1]), repeat(left[2])),
                       zip(right[0], repeat(right[1]), repeat(right[2]))))
    near = map(le, map(abs, map(sub, a, b)), repeat(1e-9))
    return sum(map(or_, map(isclose, a, b), near))  # isclose(rel_tol=1e-9, abs_tol=1e-9), as _equal


def _count_each(targets: Sequence, result: tuple) -> tuple[int, int]:
    """(documents whose target is a number, of which equal to the result) one at a time."""
    numbers, exponent, inexact = result
    applies = holds = 0
    for value, number in zip(targets, numbers):
        target = _number(value) if type(value) in NUMBERS else None
        if target is not None:
            applies += 1
            holds += _equal(target, (number, exponent, inexact))
    return applies, holds


def _floats(numbers: list, exponent: int) -> list[float]:
    if exponent == 0:
        return numbers
    if exponent > 0:
        return list(map(mul, numbers, repeat(10.0 ** exponent)))
    return list(map(truediv, numbers, repeat(10 ** -exponent)))


# -- numbers: exact for integers and Decimal128, within a tolerance for doubles -----------------

def _column(values: Sequence, kinds=None) -> tuple[list, int, bool] | None:
    """The values as (numbers, exponent, inexact): value i is numbers[i] × 10**exponent, the
    numbers integers unless a double is among them; None when one of them is not a number.
    `kinds`: their Python types, when known."""
    kinds = set(map(type, values)) if kinds is None else set(kinds)
    if not kinds <= NUMBERS:
        return None
    if Decimal128 not in kinds:
        if float in kinds:
            return (values if len(kinds) == 1 else list(map(float, values))), 0, True
        return values, 0, False
    if kinds == {Decimal128}:
        highs = set(map(DECIMAL_HIGH, values))
        if len(highs) == 1:  # one sign and exponent, coefficients under 2**64 (prices): the low halves
            high = highs.pop()
            if _plain(high):
                lows = list(map(DECIMAL_LOW, values))
                return (list(map(neg, lows)) if high >> 63 else lows), ((high >> 49) & 0x3FFF) - 6176, False
    parts = [_parts(value) for value in values]
    if None in parts:
        return None
    if float in kinds:
        try:
            return [number * 10.0 ** exponent for number, exponent in parts], 0, True
        except OverflowError:
            return None
    low = min(exponent for _, exponent in parts)
    return [number * 10 ** (exponent - low) for number, exponent in parts], low, False


def _plain(high: int) -> bool:
    """A Decimal128 whose high half holds only a sign and an exponent: finite, coefficient < 2**64."""
    return (high >> 58) & 0x1E != 0x1E and (high >> 61) & 3 != 3 and not high & ((1 << 49) - 1)


def _parts(value) -> tuple[int, int] | None:
    """(integer, exponent) of a number, None for a Decimal128 NaN or infinity (floats pass as
    themselves)."""
    kind = type(value)
    if kind is not Decimal128:
        return value, 0
    high, low = DECIMAL_BITS(value)
    if (high >> 58) & 0x1E == 0x1E:
        return None
    if (high >> 61) & 3 == 3:  # a coefficient over 10**34: non-canonical, zero
        coefficient, exponent = 0, (high >> 47) & 0x3FFF
    else:
        coefficient, exponent = ((high & ((1 << 49) - 1)) << 64) | low, (high >> 49) & 0x3FFF
    return (-coefficient if high >> 63 else coefficient), exponent - 6176


def _number(value) -> tuple | None:
    if type(value) is float:
        return value, 0, True
    parts = _parts(value)
    return None if parts is None else (*parts, False)


def _equal(left: tuple, right: tuple) -> bool:
    (a, a_exponent, a_inexact), (b, b_exponent, b_inexact) = left, right
    if not (a_inexact or b_inexact):
        low = min(a_exponent, b_exponent)
        return a * 10 ** (a_exponent - low) == b * 10 ** (b_exponent - low)
    try:
        return isclose(_float(a, a_exponent), _float(b, b_exponent), rel_tol=1e-9, abs_tol=1e-9)
    except OverflowError:
        return False


def _float(number, exponent: int) -> float:
    return number * 10.0 ** exponent if exponent >= 0 else number / 10 ** -exponent


def merge_value_counts(mine: dict | None, theirs: dict | None, limit: int) -> dict | None:
    """Two tallies of {value: [documents, Counter of fields held]} as one; None (given up: more
    than `limit` values) stays None. Shared by the status invariants and the version split."""
    if mine is None or theirs is None:
        return None
    for value, (documents, held) in theirs.items():
        entry = mine.setdefault(value, [0, Counter()])
        entry[0] += documents
        entry[1].update(held)
    return mine if len(mine) <= limit else None
