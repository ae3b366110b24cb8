"""Indexes against query shapes: which index serves a shape, what index would, and merging.

Held to the planner's rules as the MongoDB manual states them: an index bounds a query by its
leading fields that the predicate tests for equality, then by one range; it gives a sort
without a SORT stage when the sort's fields follow that equality prefix in the index, all in
its directions or all reversed. Hence the ESR guideline for a new index: Equality fields first,
then Sort fields in the sort's directions, then Range fields.

When the source recorded no plan (SecantusDB's profiler, old logs), the plan is derived here
from the shape and the index list: the best usable index, whether it bounds every equality field,
whether the sort is served. Indexes that cannot be judged (text, geo, wildcard, hidden, a partial
filter the query does not imply, a collation the query does not ask for) are not counted as
serving the shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nosql_advisor.workload.shapes import ShapeStats, direction

EQUALITY = frozenset({"eq"})
BOUNDING = frozenset({"range", "regex_prefix", "in", "type"})  # an index range scan, besides equality
SPECIAL = frozenset({"text", "2d", "2dsphere", "geoHaystack"})


@dataclass(frozen=True)
class Predicate:
    """What of a shape an index can use."""

    equality: tuple[str, ...]
    ranges: tuple[str, ...]  # bounded by an index: range, anchored regex, $in (a range when sorted)
    filters: tuple[str, ...]  # tested on index keys or documents, never a bound ($ne, $exists, regex...)
    case_insensitive: tuple[str, ...]  # /…/i regexes
    sort: tuple[tuple[str, int], ...]

    @property
    def empty(self) -> bool:
        return not (self.equality or self.ranges or self.sort)


def predicate_of(stats: ShapeStats) -> Predicate:
    equality, ranges, filters, insensitive = [], [], [], []
    sort = tuple((path, d) for path, d in stats.sort if d in (1, -1))
    for path, kind in stats.predicate.items():
        if path.startswith("$") or not isinstance(kind, str):
            continue
        kinds = set(kind.split("+"))
        if "regex_i" in kinds:
            insensitive.append(path)
        if "eq" in kinds or (kinds == {"in"} and not sort):
            equality.append(path)
        elif kinds & BOUNDING:
            ranges.append(path)
        else:
            filters.append(path)
    return Predicate(tuple(equality), tuple(ranges), tuple(filters), tuple(insensitive), sort)


def index_keys(index: dict) -> list[tuple[str, object]]:
    return [(str(k), v) for k, v in (index.get("key") or {}).items()]


def plain_directions(index: dict) -> list[tuple[str, int]] | None:
    """The index's keys as (field, ±1), or None for text/geo/wildcard/hashed indexes."""
    keys = []
    for name, value in index_keys(index):
        step = direction(value)
        if step == 0 or name.endswith("$**"):
            return None
        keys.append((name, step))
    return keys


def _collation_key(collation: dict | None) -> tuple:
    if not collation or collation.get("locale") in (None, "simple"):
        return ()
    return (collation.get("locale"), int(collation.get("strength", 3)))


def is_case_insensitive(index: dict) -> bool:
    collation = index.get("collation") or {}
    return bool(_collation_key(collation)) and int(collation.get("strength", 3)) <= 2


@dataclass
class Match:
    index: dict
    equality: list[str]  # the equality fields the index bounds, in index order
    ranged: str | None  # the range field it bounds after them
    sort_served: bool
    in_keys: set[str]  # predicate fields found anywhere in the index (tested on keys, no fetch)

    @property
    def name(self) -> str:
        return str(self.index.get("name", ""))

    @property
    def bounded(self) -> int:
        return len(self.equality) + (self.ranged is not None)

    def score(self) -> tuple:
        return (len(self.equality), self.ranged is not None, self.sort_served, len(self.in_keys),
                -len(index_keys(self.index)), self.name)


def match_index(index: dict, predicate: Predicate, collation: dict | None = None) -> Match | None:
    """How `index` serves the predicate, or None when it cannot be used for it at all."""
    keys = plain_directions(index)
    if keys is None or index.get("hidden"):
        return None
    if _collation_key(index.get("collation")) != _collation_key(collation):
        return None  # string bounds of another collation are not this query's
    partial = index.get("partialFilterExpression")
    if isinstance(partial, dict):
        tested = set(predicate.equality) | set(predicate.ranges)
        if not all(path in tested for path in partial if not path.startswith("$")):
            return None
    equality_fields = set(predicate.equality)
    position = 0
    bound: list[str] = []
    while position < len(keys) and keys[position][0] in equality_fields:
        bound.append(keys[position][0])
        position += 1
    wanted = [(p, d) for p, d in predicate.sort if p not in equality_fields]
    following = keys[position:position + len(wanted)]
    sort_served = bool(predicate.sort) and len(following) == len(wanted) and (
        all(k == w for k, w in zip(following, wanted))
        or all(k[0] == w[0] and k[1] == -w[1] for k, w in zip(following, wanted)))
    if not wanted and predicate.sort:
        sort_served = True  # every sort field is fixed by an equality
    ranged = None
    if not wanted and position < len(keys) and keys[position][0] in predicate.ranges:
        ranged = keys[position][0]
    elif wanted and sort_served and not bound and keys and keys[0][0] in predicate.ranges:
        ranged = keys[0][0]
    in_keys = {name for name, _ in keys} & (equality_fields | set(predicate.ranges) | set(predicate.filters))
    if not bound and ranged is None and not sort_served:
        return None
    return Match(index, bound, ranged, sort_served, in_keys)


@dataclass
class Plan:
    """The plan a shape gets: recorded by the server, or derived here from the index list."""

    derived: bool
    summary: str  # "COLLSCAN", "IXSCAN { tenant_id: 1, created_at: -1 }", "IDHACK"...
    index: str | None = None
    in_memory_sort: bool = False
    unbounded_equality: list[str] = field(default_factory=list)  # tested after the fetch

    @property
    def collscan(self) -> bool:
        return self.summary.startswith("COLLSCAN")


def describe(keys: list[tuple[str, object]]) -> str:
    return "{ " + ", ".join(f"{k}: {v}" for k, v in keys) + " }"


def best_match(predicate: Predicate, indexes: list[dict], collation: dict | None = None) -> Match | None:
    matches = [m for m in (match_index(i, predicate, collation) for i in indexes) if m is not None]
    return max(matches, key=Match.score) if matches else None


def derive_plan(stats: ShapeStats, indexes: list[dict]) -> Plan:
    predicate = predicate_of(stats)
    if predicate.equality == ("_id",) or "_id" in predicate.equality and not predicate.sort:
        return Plan(True, "IDHACK", "_id_")
    match = best_match(predicate, indexes, stats.collation)
    if match is None:
        return Plan(True, "COLLSCAN", None, bool(predicate.sort), list(predicate.equality))
    if match.bounded == 0:  # a whole-index scan for the sort
        return Plan(True, f"IXSCAN {describe(index_keys(match.index))}", match.name, False,
                    list(predicate.equality))
    unbounded = [p for p in predicate.equality if p not in match.equality]
    return Plan(True, f"IXSCAN {describe(index_keys(match.index))}", match.name,
                bool(predicate.sort) and not match.sort_served, unbounded)


def observed_plan(stats: ShapeStats) -> Plan | None:
    """The plan the server recorded most often for the shape, if it recorded any."""
    if not stats.plans:
        return None
    summary = max(stats.plans.items(), key=lambda item: (item[1], item[0]))[0]
    index = None
    if summary.startswith("IXSCAN"):
        index = summary
    return Plan(False, summary, index, stats.in_memory_sorts > 0)


def plan_of(stats: ShapeStats, indexes: list[dict]) -> Plan:
    return observed_plan(stats) or derive_plan(stats, indexes)


# -- recommendation ----------------------------------------------------------------------

def index_name(keys: list) -> str:
    """The name mongod gives an index by default: `tenant_id_1_created_at_-1`."""
    return "_".join(f"{field}_{direction}" for field, direction in keys)


@dataclass
class Recommendation:
    namespace: str
    keys: list[tuple[str, int]]
    serves: list[ShapeStats]
    reason: str
    replaces: str | None = None  # an existing index this one extends (drop it once built)

    @property
    def name(self) -> str:
        return index_name(self.keys)

    def impact(self) -> dict:
        known = [s for s in self.serves if s.with_counts]
        return {
            "operations": sum(s.count for s in self.serves),
            "total_ms": round(sum(s.total_ms for s in self.serves), 3),
            "docs_examined": sum(s.docs_examined for s in known) if known else None,
            "nreturned": sum(s.nreturned for s in known) if known else None,
            "shapes": len(self.serves),
        }

    def to_dict(self) -> dict:
        """report.json's `index_advice` item (DESIGN.md)."""
        item = {"namespace": self.namespace, "keys": [[k, d] for k, d in self.keys],
                "serves": sorted(s.id for s in self.serves), "reason": self.reason, "impact": self.impact(),
                "name": self.name}
        if self.replaces:
            item["replaces"] = self.replaces
        return item


def esr_keys(predicate: Predicate, tenant_keys: tuple[str, ...] = ()) -> list[tuple[str, int]]:
    """Equality fields (the tenant key first, then by name), then the sort, then the ranges."""
    keys: list[tuple[str, int]] = []
    equality = sorted(predicate.equality, key=lambda p: (p not in tenant_keys, p))
    keys += [(p, 1) for p in equality]
    seen = set(equality)
    for path, step in predicate.sort:
        if path not in seen:
            keys.append((path, step))
            seen.add(path)
    for path in sorted(predicate.ranges):
        if path not in seen:
            keys.append((path, 1))
            seen.add(path)
    return keys


def _is_prefix(short: list, long: list) -> bool:
    return len(short) <= len(long) and list(long[:len(short)]) == list(short)


def recommend(namespace: str, shapes: list[ShapeStats], indexes: list[dict],
              tenant_keys: tuple[str, ...] = ()) -> list[Recommendation]:
    """One index per group of shapes: ESR keys per shape, merged when one index's keys start
    with another's; an existing plain index whose keys are a prefix is extended, not duplicated."""
    wanted: list[Recommendation] = []
    for stats in shapes:
        predicate = predicate_of(stats)
        if predicate.empty or predicate.equality == ("_id",):
            continue
        keys = esr_keys(predicate, tenant_keys)
        wanted.append(Recommendation(namespace, keys, [stats], ""))
    wanted.sort(key=lambda r: (-len(r.keys), r.keys))
    merged: list[Recommendation] = []
    for candidate in wanted:
        home = next((r for r in merged if _is_prefix(candidate.keys, r.keys)), None)
        if home is not None:
            home.serves += candidate.serves
        else:
            merged.append(candidate)
    for recommendation in merged:
        for index in indexes:
            keys = plain_directions(index)
            if (keys and index.get("name") != "_id_" and not index.get("unique") and not index.get("partialFilterExpression")
                    and not index.get("collation") and index.get("expireAfterSeconds") is None
                    and _is_prefix(keys, recommendation.keys) and len(keys) < len(recommendation.keys)):
                recommendation.replaces = str(index.get("name"))
        recommendation.reason = _reason(recommendation)
    return sorted(merged, key=lambda r: (-r.impact()["total_ms"], r.keys))


def _reason(recommendation: Recommendation) -> str:
    count = len(recommendation.serves)
    text = (f"equality, sort, range (ESR) order for {count} query shape{'s' if count != 1 else ''} "
            f"({recommendation.impact()['operations']:,} operations)")
    if recommendation.replaces:
        text += f"; extends {recommendation.replaces}, which can be dropped once this one is built"
    return text


def create_indexes_script(recommendations: list[Recommendation]) -> str:
    """A mongosh script: one createIndexes command per namespace."""
    lines = ["// nosql-advisor: recommended indexes (review, then run with mongosh against the primary)"]
    by_namespace: dict[str, list[Recommendation]] = {}
    for recommendation in recommendations:
        by_namespace.setdefault(recommendation.namespace, []).append(recommendation)
    for namespace in sorted(by_namespace):
        database, _, collection = namespace.partition(".")
        specs = ", ".join("{ key: { " + ", ".join(f'"{k}": {d}' for k, d in r.keys) + f' }}, name: "{r.name}" }}'
                          for r in by_namespace[namespace])
        lines.append(f'db.getSiblingDB("{database}").runCommand({{ createIndexes: "{collection}", indexes: [ {specs} ] }});')
    return "\n".join(lines) + "\n"


def create_indexes_command(namespace: str, recommendations: list[Recommendation]) -> dict:
    return {"createIndexes": namespace.partition(".")[2],
            "indexes": [{"key": dict(r.keys), "name": r.name} for r in recommendations]}
