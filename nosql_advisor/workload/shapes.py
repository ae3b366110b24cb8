"""Operations and query shapes: one recorded operation, normalised; operations grouped by shape.

An `Operation` is what a profiler document or a slow-query log line says about one operation,
whatever its source: namespace, kind, predicate, sort, projection, duration, the examined and
returned counts and the plan summary when the source has them (None when it has not: SecantusDB's
profiler, logs before 2.6). The shape keeps the predicate's structure and replaces every value by
the kind of test it is (equality, range, $in, $exists, regex with or without an anchor...), so
`{tenant_id: "t1", total: {$gt: 5}}` and `{tenant_id: "t7", total: {$gt: 900}}` are one shape.

`ShapeStats` sums the operations of one (namespace, operation, shape) in bounded memory: counts
and totals, and durations as a histogram of exact milliseconds under 1,024 and three significant
figures above (so a p95 is exact for fast queries and within 0.5 % for slow ones).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

# Extended JSON wrappers: a dict with one of these keys is a value, not an operator.
EJSON_KEYS = frozenset({
    "$oid", "$date", "$numberLong", "$numberInt", "$numberDouble", "$numberDecimal", "$binary",
    "$uuid", "$timestamp", "$minKey", "$maxKey", "$symbol", "$code", "$dbPointer", "$undefined",
    "$regularExpression", "$scope",
})
RANGE_OPS = frozenset({"$gt", "$gte", "$lt", "$lte"})
OPERATOR_KINDS = {
    "$eq": "eq", "$in": "in", "$ne": "ne", "$nin": "nin", "$exists": "exists", "$type": "type",
    "$size": "size", "$all": "all", "$mod": "mod", "$not": "not", "$elemMatch": "elemMatch",
    "$near": "geo", "$nearSphere": "geo", "$geoWithin": "geo", "$geoIntersects": "geo", "$within": "geo",
    "$bitsAllSet": "bits", "$bitsAnySet": "bits", "$bitsAllClear": "bits", "$bitsAnyClear": "bits",
}
TOP_LEVEL_KINDS = {"$expr": "expr", "$where": "where", "$text": "text", "$jsonSchema": "jsonSchema",
                   "$sampleRate": "sampleRate"}
IGNORED_TOP_LEVEL = frozenset({"$comment"})
SCALARS = frozenset({str, int, float, bool, type(None)})
MAX_DEPTH = 20
MAX_ITEMS = 200  # branches of an $or kept in a shape; more are summarised


class Regex:
    """A regular expression value as the shape needs it: its pattern and flags (never matched)."""

    __slots__ = ("pattern", "flags")

    def __init__(self, pattern: str, flags: str = "") -> None:
        self.pattern, self.flags = pattern, flags


def regex_kind(pattern: str, flags: str) -> str:
    """`regex_i` (case-insensitive), `regex_prefix` (anchored: an index range), or `regex`."""
    if "i" in flags:
        return "regex_i"
    if pattern.startswith(("^", "\\A")) and "m" not in flags and not pattern.startswith(("^.*", "^(?")):
        return "regex_prefix"
    return "regex"


def _value_kind(value) -> str:
    """The kind of an implicit equality `{field: value}` (a regex value is a regex test)."""
    if isinstance(value, Regex):
        return regex_kind(value.pattern, value.flags)
    pattern = getattr(value, "pattern", None)  # bson.Regex / re.Pattern from a decoded profile
    if isinstance(pattern, (str, bytes)) and hasattr(value, "flags"):
        return regex_kind(pattern if isinstance(pattern, str) else pattern.decode(errors="replace"),
                          _flags(value.flags))
    if isinstance(value, dict) and "$regularExpression" in value:
        inner = value["$regularExpression"] or {}
        return regex_kind(str(inner.get("pattern", "")), str(inner.get("options", "")))
    return "eq"


def _flags(flags) -> str:
    if isinstance(flags, str):
        return flags
    return ("i" if flags & re.IGNORECASE else "") + ("m" if flags & re.MULTILINE else "")


def _is_operator_dict(value) -> bool:
    if not isinstance(value, dict) or not value:
        return False
    first = next(iter(value))
    return isinstance(first, str) and first.startswith("$") and first not in EJSON_KEYS


def normalise(predicate, depth: int = 0) -> dict:
    """The shape of a query predicate: `{path: kind}`, `$or`/`$nor` as sorted lists of branch
    shapes, `$and` merged into its parent, `$expr`/`$text`/`$where` as top-level kinds."""
    shape: dict = {}
    if not isinstance(predicate, dict) or depth > MAX_DEPTH:
        return shape
    for key, value in predicate.items():
        if type(value) in SCALARS and type(key) is str and key[:1] != "$":  # the common case
            if key in shape:
                _merge(shape, key, "eq")
            else:
                shape[key] = "eq"
            continue
        if not isinstance(key, str) or key in IGNORED_TOP_LEVEL:
            continue
        if key == "$and" and isinstance(value, list):
            for branch in value[:MAX_ITEMS]:
                for path, kind in normalise(branch, depth + 1).items():
                    _merge(shape, path, kind)
        elif key in ("$or", "$nor") and isinstance(value, list):
            normalised = [normalise(branch, depth + 1) for branch in value[:MAX_ITEMS]]
            branches = {_canonical(branch): branch for branch in normalised}
            shape[key] = [branches[k] for k in sorted(branches)]
        elif key in TOP_LEVEL_KINDS or key.startswith("$"):
            shape[key] = TOP_LEVEL_KINDS.get(key, key[1:])
        else:
            for path, kind in _field(key, value, depth).items():
                _merge(shape, path, kind)
    return shape


def _field(path: str, value, depth: int) -> dict[str, str]:
    if not _is_operator_dict(value):
        return {path: _value_kind(value)}
    kinds: set[str] = set()
    nested: dict[str, str] = {}
    options = str(value.get("$options", "")) if isinstance(value, dict) else ""
    for operator, operand in value.items():
        if operator in RANGE_OPS:
            kinds.add("range")
        elif operator == "$regex":
            if isinstance(operand, str):
                kinds.add(regex_kind(operand, options))
            else:
                kind = _value_kind(operand)
                kinds.add(kind if kind != "eq" else "regex")
        elif operator == "$options":
            continue
        elif operator == "$elemMatch" and isinstance(operand, dict):
            if _is_operator_dict(operand):  # a test of the elements themselves
                for kind in _field(path, operand, depth + 1).values():
                    kinds.update(kind.split("+"))
            else:
                for sub, kind in normalise(operand, depth + 1).items():
                    if not sub.startswith("$"):
                        nested[f"{path}.{sub}"] = kind
        elif operator == "$exists":
            kinds.add("exists" if operand not in (False, 0, "false") else "not_exists")
        elif operator == "$in":
            kinds.add("in" if not isinstance(operand, list) or len(operand) != 1 else "eq")
        elif operator == "$not":
            kinds.add("not")
        else:
            kinds.add(OPERATOR_KINDS.get(operator, operator.lstrip("$")))
    result = dict(nested)
    if kinds:
        result[path] = "+".join(sorted(kinds))
    return result


def _merge(shape: dict, path: str, kind) -> None:
    if path in shape and isinstance(kind, str) and isinstance(shape[path], str):
        shape[path] = "+".join(sorted(set(shape[path].split("+")) | set(kind.split("+"))))
    else:
        shape[path] = kind


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def direction(value) -> int:
    """A sort or index direction: 1, -1, or 0 for anything else ($meta, "text", "hashed")."""
    if isinstance(value, dict) and len(value) == 1:
        value = next(iter(value.values()))  # {"$numberInt": "-1"}
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0
    return 1 if number > 0 else -1 if number < 0 else 0


def normalise_sort(sort) -> list[list]:
    if not isinstance(sort, dict):
        return []
    return [[str(k), direction(v) or "meta"] for k, v in sort.items()]


def normalise_projection(projection) -> list[str]:
    if not isinstance(projection, dict):
        return []
    return sorted(f"{k}:{0 if direction(v) == 0 and not isinstance(v, dict) and v in (0, False) else 1}"
                  for k, v in projection.items())


@dataclass(slots=True)
class Operation:
    """One operation, as a profiler document or a slow-query log line records it."""

    namespace: str
    op: str  # find | aggregate | update | delete | count | distinct | findAndModify
    filter: dict = field(default_factory=dict)
    sort: dict | None = None
    projection: dict | None = None
    duration_ms: float = 0.0
    docs_examined: int | None = None
    keys_examined: int | None = None
    nreturned: int | None = None
    plan_summary: str | None = None
    in_memory_sort: bool | None = None  # hasSortStage / scanAndOrder, when recorded
    lookups: tuple[str, ...] = ()  # namespaces joined by $lookup / $graphLookup
    collation: dict | None = None
    getmore: bool = False  # a getMore, attributed to the command that opened its cursor
    # what a write carries (DM408); None where the record does not say
    upsert: bool | None = None
    multi: bool | None = None  # update multi: true / delete limit: 0 (every match)
    write_concern_w: int | str | None = None  # writeConcern.w: 0 is unacknowledged
    unshaped: bool = False  # a write recorded without its statements: counted, no shape (w: 0 only)


class ShapeKey(NamedTuple):
    """What makes two operations one shape: hashable tuples, cheap to build for every operation
    (JSON only when a shape is first seen)."""

    namespace: str
    op: str
    predicate: tuple  # frozen normalised predicate
    sort: tuple = ()
    projection: tuple = ()
    lookups: tuple = ()

    @property
    def id(self) -> str:
        """A short stable id for the shape (report.json's `serves`)."""
        text = "|".join([self.namespace, self.op, _canonical(thaw(self.predicate)), _canonical(list(map(list, self.sort))),
                         _canonical(list(self.projection)), *self.lookups])
        return hashlib.sha1(text.encode()).hexdigest()[:10]


def freeze(value):
    """A normalised predicate as nested tuples (sorted keys), hashable."""
    if isinstance(value, dict):
        return tuple(sorted((k, v if type(v) is str else freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("$list", tuple(freeze(v) for v in value))
    return value


def thaw(value):
    if isinstance(value, tuple):
        if len(value) == 2 and value[0] == "$list":
            return [thaw(v) for v in value[1]]
        return {k: thaw(v) for k, v in value}
    return value


def shape_key(operation: Operation) -> ShapeKey:
    sort = tuple(tuple(pair) for pair in normalise_sort(operation.sort)) if operation.sort else ()
    projection = tuple(normalise_projection(operation.projection)) if operation.projection else ()
    lookups = tuple(sorted(set(operation.lookups))) if operation.lookups else ()
    return ShapeKey(operation.namespace, operation.op, freeze(normalise(operation.filter)), sort, projection, lookups)


class Durations:
    """A bounded histogram of durations: exact milliseconds under 1024, 3 significant figures above."""

    __slots__ = ("counts",)

    def __init__(self) -> None:
        self.counts: Counter = Counter()

    def add(self, ms: float) -> None:
        value = int(round(ms))
        if value >= 1024:
            digits = len(str(value)) - 3
            value = round(value, -digits)
        self.counts[value] += 1

    def percentile(self, share: float) -> float | None:
        total = sum(self.counts.values())
        if not total:
            return None
        rank = max(1, -(-int(total * share * 1000) // 1000))  # ceil(total * share): nearest-rank
        seen = 0
        for value in sorted(self.counts):
            seen += self.counts[value]
            if seen >= rank:
                return float(value)
        return float(max(self.counts))


WRITE_OPS = frozenset({"update", "delete", "findAndModify"})


def write_facts(operation: Operation) -> list[str]:
    """The ShapeStats.writes keys one write counts under."""
    facts = ["upsert"] if operation.upsert else []
    if operation.op != "findAndModify":
        facts.append({True: "multi", False: "single", None: "multi_unknown"}[operation.multi])
    if operation.write_concern_w == 0:
        facts.append("w0")
    return facts


@dataclass
class ShapeStats:
    """Every operation of one shape: counts, totals, plans seen, in-memory sorts."""

    key: ShapeKey
    predicate: dict
    sort: list
    projection: list
    count: int = 0
    getmores: int = 0
    total_ms: float = 0.0
    max_ms: float = 0.0
    durations: Durations = field(default_factory=Durations)
    docs_examined: int = 0
    keys_examined: int = 0
    nreturned: int = 0
    with_counts: int = 0  # operations that recorded docsExamined/nreturned
    plans: Counter = field(default_factory=Counter)  # plan summary -> operations
    in_memory_sorts: int = 0
    collation: dict | None = None
    # writes of the shape by what they carried: "upsert", "multi" (every match), "single" (one
    # document), "multi_unknown" (a delete whose limit was not recorded), "w0" (unacknowledged)
    writes: Counter = field(default_factory=Counter)

    def add(self, operation: Operation) -> None:
        self.count += 1
        self.getmores += operation.getmore
        self.total_ms += operation.duration_ms
        self.max_ms = max(self.max_ms, operation.duration_ms)
        self.durations.add(operation.duration_ms)
        if operation.docs_examined is not None and operation.nreturned is not None:
            self.with_counts += 1
            self.docs_examined += operation.docs_examined
            self.nreturned += operation.nreturned
            self.keys_examined += operation.keys_examined or 0
        if operation.plan_summary:
            self.plans[operation.plan_summary] += 1
        if operation.in_memory_sort:
            self.in_memory_sorts += 1
        if operation.collation and self.collation is None:
            self.collation = operation.collation
        if operation.op in WRITE_OPS:
            self.writes.update(write_facts(operation))

    @cached_property
    def id(self) -> str:
        """The key's id, hashed once: rankings sort by it many times over."""
        return self.key.id

    @property
    def p95_ms(self) -> float | None:
        return self.durations.percentile(0.95)

    @property
    def ratio(self) -> float | None:
        """Documents examined per document returned (None when no operation recorded them)."""
        if not self.with_counts:
            return None
        return self.docs_examined / max(self.nreturned, 1)

    def collscans(self) -> int:
        return sum(n for plan, n in self.plans.items() if plan.startswith("COLLSCAN"))

    def to_dict(self) -> dict:
        return {
            "id": self.id, "namespace": self.key.namespace, "op": self.key.op,
            "predicate": self.predicate, "sort": self.sort, "projection": self.projection,
            "lookups": list(self.key.lookups), "count": self.count, "getmores": self.getmores,
            "total_ms": round(self.total_ms, 3), "p95_ms": self.p95_ms, "max_ms": self.max_ms,
            "docs_examined": self.docs_examined if self.with_counts else None,
            "keys_examined": self.keys_examined if self.with_counts else None,
            "nreturned": self.nreturned if self.with_counts else None,
            "examined_per_returned": round(self.ratio, 2) if self.ratio is not None else None,
            "plans": dict(sorted(self.plans.items())), "in_memory_sorts": self.in_memory_sorts,
            **({"writes": dict(sorted(self.writes.items()))} if self.writes else {}),
        }


@dataclass
class Workload:
    """Every shape of every source read, with what was skipped and why."""

    shapes: dict[ShapeKey, ShapeStats] = field(default_factory=dict)
    sources: list[dict] = field(default_factory=list)  # {"location", "kind", "lines"/"documents", "operations"}
    skipped: Counter = field(default_factory=Counter)  # reason -> operations not grouped
    problems: list = field(default_factory=list)  # errors.Problem, file and line
    max_shapes: int = 20_000
    overflow: int = 0  # operations of shapes past max_shapes, counted only
    index_stats: dict[str, list[dict]] = field(default_factory=dict)  # namespace -> $indexStats rows
    indexes: dict[str, list[dict]] = field(default_factory=dict)  # namespace -> listIndexes (live --profile)
    sizes: dict[str, int] = field(default_factory=dict)  # namespace -> estimated documents (live --profile)
    # rules the workload could not feed, as CollectionInfo.not_checked: "db" or "db.coll" ->
    # {rule id: reason} ("not authorised for $indexStats"); report.json's `coverage`
    not_checked: dict[str, dict[str, str]] = field(default_factory=dict)
    # writes sent with w: 0 recorded without their statements (an insert, a 4.4+ log's update
    # command line), so in no shape: (namespace, op) -> operations (DM408)
    unacknowledged: Counter = field(default_factory=Counter)

    def add(self, operation: Operation) -> None:
        if operation.unshaped:
            self.unacknowledged[(operation.namespace, operation.op)] += 1
            return
        key = shape_key(operation)
        stats = self.shapes.get(key)
        if stats is None:
            if len(self.shapes) >= self.max_shapes:
                self.overflow += 1
                return
            stats = self.shapes[key] = ShapeStats(key, thaw(key.predicate), [list(p) for p in key.sort],
                                                  list(key.projection))
        stats.add(operation)

    def operations(self) -> int:
        return sum(s.count for s in self.shapes.values())

    def ranked(self) -> list[ShapeStats]:
        """Shapes by total time, then count, then id (deterministic)."""
        return sorted(self.shapes.values(), key=lambda s: (-s.total_ms, -s.count, s.key.namespace, s.id))

    def merge(self, other: Workload) -> None:
        for key, stats in other.shapes.items():
            mine = self.shapes.get(key)
            if mine is None:
                self.shapes[key] = stats
                continue
            mine.count += stats.count
            mine.getmores += stats.getmores
            mine.total_ms += stats.total_ms
            mine.max_ms = max(mine.max_ms, stats.max_ms)
            mine.durations.counts.update(stats.durations.counts)
            mine.docs_examined += stats.docs_examined
            mine.keys_examined += stats.keys_examined
            mine.nreturned += stats.nreturned
            mine.with_counts += stats.with_counts
            mine.plans.update(stats.plans)
            mine.in_memory_sorts += stats.in_memory_sorts
            mine.writes.update(stats.writes)
        self.unacknowledged.update(other.unacknowledged)
        self.sources += other.sources
        self.skipped.update(other.skipped)
        self.problems += other.problems
        self.overflow += other.overflow
        self.index_stats.update(other.index_stats)
        self.indexes.update(other.indexes)
        self.sizes.update(other.sizes)
        for where, rules in other.not_checked.items():
            self.not_checked.setdefault(where, {}).update(rules)
