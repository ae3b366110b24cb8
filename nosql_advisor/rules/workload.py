"""Workload rules: the query shapes of the profiler and the logs held against the indexes.

DM401 index gaps, DM402 in-memory sorts, DM406 frequent $lookup, DM407 case-insensitive regexes
and DM304 queries without a tenant filter read `landscape.workload` (none: no findings); DM403
reads `$indexStats` (live --profile only, and only when its counters say since when they count);
DM404 redundant and DM405 too many indexes read the index lists alone.

Indexes come from the scanned collections (live listIndexes or dump metadata), else from what
a live --profile read; the collection size from the scan, when there was one. Where neither
gives an index list (an export file), DM401, DM402 and DM407 report only what the server
recorded (planSummary, docsExamined, an in-memory sort): a plan worked out from an empty index
list would call a COLLSCAN what the real indexes serve (coverage.py says so for those shapes).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone

from nosql_advisor.findings import Finding
from nosql_advisor.rules import Rule, register
from nosql_advisor.rules.tenancy import keyed_collections, leading_key_per_database
from nosql_advisor.workload.indexes import (
    Recommendation, derive_plan, describe, is_case_insensitive, observed_plan, plain_directions,
    predicate_of, recommend,
)
from nosql_advisor.workload.shapes import ShapeStats, Workload


def workload_of(landscape) -> Workload | None:
    return getattr(landscape, "workload", None)


def indexes_by_namespace(landscape) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    workload = workload_of(landscape)
    if workload is not None:
        found.update(workload.indexes)
    for collection in getattr(landscape, "collections", []):
        info = collection.info
        if info.knows_metadata:
            found[info.namespace] = info.indexes
    return found


def sizes_by_namespace(landscape) -> dict[str, int]:
    workload = workload_of(landscape)
    sizes = dict(workload.sizes) if workload is not None else {}
    for collection in getattr(landscape, "collections", []):
        size = collection.info.estimated_count or collection.shape.documents_estimated
        if size is not None:
            sizes[collection.info.namespace] = size
    return sizes


def _per_namespace(workload: Workload) -> dict[str, list[ShapeStats]]:
    grouped: dict[str, list[ShapeStats]] = defaultdict(list)
    for stats in workload.ranked():
        grouped[stats.key.namespace].append(stats)
    return grouped


def recorded_plan(stats: ShapeStats) -> bool:
    """Whether the server recorded how the shape ran (planSummary, or docsExamined/nreturned): the
    evidence DM401, DM402 and DM407 stand on where the collection's index list is unknown (an
    export file, a .bson without its metadata)."""
    return observed_plan(stats) is not None or bool(stats.with_counts)


# -- DM401 ---------------------------------------------------------------------------------

def gap(stats: ShapeStats, indexes: list[dict] | None, size: int | None, thresholds: dict) -> dict | None:
    """Why the shape has no index that serves it (evidence), or None when it has one."""
    predicate = predicate_of(stats)
    if predicate.empty or predicate.equality == ("_id",) or stats.count < thresholds["min_operations"]:
        return None
    derived = derive_plan(stats, indexes or [])
    if indexes is not None and not derived.collscan and not derived.unbounded_equality and not derived.in_memory_sort:
        return None  # the indexes of today serve it (the recorded plan may predate them)
    observed = observed_plan(stats)
    if observed is not None or stats.with_counts:
        examined = stats.docs_examined / stats.with_counts if stats.with_counts else None
        collscans = stats.collscans()
        poor = stats.ratio is not None and stats.ratio >= thresholds["examined_ratio"]
        big = examined is None or examined >= thresholds["min_docs_examined"]
        if (collscans or poor) and big:
            said = observed.summary if observed else (derived.summary if indexes is not None else None)
            return {"plan": said, "plan_source": "recorded",
                    "collscans": collscans, "docs_examined_per_operation": round(examined, 1) if examined is not None else None,
                    "examined_per_returned": round(stats.ratio, 1) if stats.ratio is not None else None}
        return None
    if indexes is None:
        return None  # no index list and no recorded plan: a plan worked out from nothing is no evidence
    if derived.collscan:
        if size is not None and size < thresholds["min_documents"]:
            return None
        return {"plan": "COLLSCAN", "plan_source": "derived from the index list", "documents": size}
    if derived.unbounded_equality and size is not None and size >= thresholds["min_documents"]:
        return {"plan": derived.summary, "plan_source": "derived from the index list", "documents": size,
                "not_in_index": derived.unbounded_equality}
    return None


def analyse(landscape, thresholds: dict, tenant_keys: tuple[str, ...]) -> list[tuple[Recommendation, dict[str, dict]]]:
    """The recommended indexes, each with the gaps (shape id -> evidence) it closes."""
    workload = workload_of(landscape)
    if workload is None:
        return []
    indexes, sizes = indexes_by_namespace(landscape), sizes_by_namespace(landscape)
    leading = leading_key_per_database(landscape, tenant_keys)  # the database's key leads, as DM303 wants
    result = []
    for namespace, shapes in sorted(_per_namespace(workload).items()):
        gaps = {s.id: g for s in shapes if (g := gap(s, indexes.get(namespace), sizes.get(namespace), thresholds))}
        gapped = [s for s in shapes if s.id in gaps]
        for recommendation in recommend(namespace, gapped, indexes.get(namespace, []),
                                        leading.get(namespace.partition(".")[0], tenant_keys)):
            result.append((recommendation, {s.id: gaps[s.id] for s in recommendation.serves}))
    return result


def index_gaps(landscape, thresholds: dict, config) -> list[Finding]:
    findings = []
    for recommendation, gaps in analyse(landscape, thresholds, config.tenant_keys):
        impact = recommendation.impact()
        collscan = any(g["plan"] == "COLLSCAN" or g.get("collscans") for g in gaps.values())
        shapes = [{"id": s.id, "op": s.key.op, "predicate": s.predicate, "sort": s.sort, "count": s.count,
                   "total_ms": round(s.total_ms, 3), **gaps[s.id]} for s in recommendation.serves]
        keys = describe(recommendation.keys)
        findings.append(Finding(
            "DM401", "high" if collscan else "medium", recommendation.namespace, None,
            f"{impact['shapes']} query shape{'s' if impact['shapes'] != 1 else ''} ({impact['operations']:,} operations, "
            f"{impact['total_ms']:,.0f} ms) {'scan the collection' if collscan else 'are served only in part by an index'}: "
            f"index {keys} would serve {'them' if impact['shapes'] != 1 else 'it'}.",
            {"index": [[k, d] for k, d in recommendation.keys], "impact": impact, "shapes": shapes,
             "replaces": recommendation.replaces, "thresholds": thresholds},
            f"Create the index {keys} (equality, sort, range order)"
            + (f" and drop {recommendation.replaces}, which it extends" if recommendation.replaces else "")
            + "; `scan --out` writes the createIndexes script, `queries --apply` builds it."))
    return findings


# -- DM402 ---------------------------------------------------------------------------------

def in_memory_sorts(landscape, thresholds: dict, config) -> list[Finding]:
    workload = workload_of(landscape)
    if workload is None:
        return []
    indexes = indexes_by_namespace(landscape)
    findings = []
    for stats in workload.ranked():
        if not stats.sort or stats.count < thresholds["min_operations"]:
            continue
        observed = observed_plan(stats)
        if observed is not None or stats.in_memory_sorts:
            if not stats.in_memory_sorts:
                continue
            source, sorted_in_memory = "recorded", stats.in_memory_sorts
        elif stats.key.namespace not in indexes:
            continue  # no index list and no recorded plan: nothing says how it sorts
        else:
            plan = derive_plan(stats, indexes[stats.key.namespace])
            if not plan.in_memory_sort:
                continue
            source, sorted_in_memory = f"derived from the index list ({plan.summary})", stats.count
        sort = ", ".join(f"{p}: {d}" for p, d in stats.sort)
        findings.append(Finding(
            "DM402", "medium", stats.key.namespace, stats.sort[0][0],
            f"{sorted_in_memory:,} of {stats.count:,} {stats.key.op} operations sort {{{sort}}} in memory "
            f"(shape {stats.id}): no index gives that order after the equality fields.",
            {"shape": stats.id, "predicate": stats.predicate, "sort": stats.sort, "operations": stats.count,
             "in_memory": sorted_in_memory, "plan_source": source, "total_ms": round(stats.total_ms, 3)},
            "Add the sort fields to an index right after the equality fields, in the sort's directions "
            "(ESR); an in-memory sort fails past 100 MB unless it spills to disk."))
    return findings


# -- DM403, DM404, DM405 ---------------------------------------------------------------------

def unused_indexes(landscape, thresholds: dict, config) -> list[Finding]:
    workload = workload_of(landscape)
    if workload is None:
        return []
    now = datetime.now(timezone.utc)
    findings = []
    indexes = indexes_by_namespace(landscape)
    for namespace, rows in sorted(workload.index_stats.items()):
        details = {i.get("name"): i for i in indexes.get(namespace, [])}
        for row in sorted(rows, key=lambda r: str(r.get("name"))):
            name = row.get("name")
            accesses = row.get("accesses") or {}
            since = accesses.get("since")
            if name == "_id_" or not isinstance(since, datetime):
                continue  # no period stated: nothing can be said
            since = since if since.tzinfo else since.replace(tzinfo=timezone.utc)
            days = (now - since).total_seconds() / 86400
            index = details.get(name, row.get("spec") or {})
            if (accesses.get("ops") or 0) > 0 or days < thresholds["min_days"] or index.get("unique") \
                    or index.get("expireAfterSeconds") is not None:
                continue
            findings.append(Finding(
                "DM403", "low", namespace, None,
                f"index {name} has served no operation in the {days:.0f} days since {since.date()} ($indexStats).",
                {"index": name, "ops": accesses.get("ops") or 0, "since": since.isoformat(), "days": round(days, 1),
                 "host": row.get("host")},
                f"Check every member ($indexStats counts per host and restarts reset it), then hide the index "
                f"(collMod hidden: true) for a while and drop it: db.{namespace.partition('.')[2]}.dropIndex(\"{name}\")."))
    return findings


def _comparable(index: dict) -> bool:
    return not (index.get("unique") or index.get("partialFilterExpression") or index.get("hidden")
                or index.get("expireAfterSeconds") is not None)


def redundant_indexes(landscape, thresholds: dict, config) -> list[Finding]:
    findings = []
    for namespace, indexes in sorted(indexes_by_namespace(landscape).items()):
        for index in indexes:
            keys = plain_directions(index)
            if not keys or index.get("name") == "_id_" or not _comparable(index):
                continue
            for other in indexes:
                longer = plain_directions(other)
                if (other is index or not longer or len(longer) <= len(keys) or longer[:len(keys)] != keys
                        or other.get("partialFilterExpression") or other.get("hidden")
                        or (other.get("sparse") and not index.get("sparse"))
                        or (other.get("collation") or {}) != (index.get("collation") or {})):
                    continue
                findings.append(Finding(
                    "DM404", "low", namespace, None,
                    f"index {index.get('name')} {describe(keys)} is a prefix of {other.get('name')} "
                    f"{describe(longer)}: every query it serves, the longer one serves too.",
                    {"index": index.get("name"), "keys": [[k, d] for k, d in keys],
                     "covered_by": other.get("name"), "covered_by_keys": [[k, d] for k, d in longer]},
                    f"Drop {index.get('name')} (hide it first to be safe: collMod hidden: true); each write "
                    "maintains it for nothing."))
                break
    return findings


def too_many_indexes(landscape, thresholds: dict, config) -> list[Finding]:
    findings = []
    for namespace, indexes in sorted(indexes_by_namespace(landscape).items()):
        count = sum(1 for i in indexes if i.get("name") != "_id_")
        if count > thresholds["max_indexes"]:
            findings.append(Finding(
                "DM405", "medium", namespace, None,
                f"{count} indexes besides _id_ (more than {thresholds['max_indexes']}): every insert and "
                "update writes each of them, and they compete for the cache.",
                {"indexes": count, "names": sorted(str(i.get("name")) for i in indexes), "thresholds": thresholds},
                "Drop unused (DM403) and redundant (DM404) indexes, merge ones that share a prefix into one "
                "compound index, and question indexes on fields queried rarely."))
    return findings


# -- DM406, DM407, DM304 ------------------------------------------------------------------------

def frequent_lookups(landscape, thresholds: dict, config) -> list[Finding]:
    workload = workload_of(landscape)
    if workload is None:
        return []
    joined: dict[tuple[str, str], list[ShapeStats]] = defaultdict(list)
    for stats in workload.shapes.values():
        for target in stats.key.lookups:
            joined[(stats.key.namespace, target)].append(stats)
    findings = []
    for (namespace, target), shapes in sorted(joined.items()):
        count, total = sum(s.count for s in shapes), sum(s.total_ms for s in shapes)
        if count < thresholds["min_operations"] and total < thresholds["min_total_ms"]:
            continue
        findings.append(Finding(
            "DM406", "medium", namespace, None,
            f"{count:,} aggregations ({total:,.0f} ms) join {target} with $lookup.",
            {"from": target, "operations": count, "total_ms": round(total, 3), "shapes": sorted(s.id for s in shapes),
             "thresholds": thresholds},
            f"Embed the fields read from {target} (extended reference pattern: copy the few fields shown, "
            "document their source of truth), or fetch them once per page; $lookup in a hot path is a join per document."))
    return findings


def case_insensitive_regex(landscape, thresholds: dict, config) -> list[Finding]:
    workload = workload_of(landscape)
    if workload is None:
        return []
    indexes = indexes_by_namespace(landscape)
    counts: dict[tuple[str, str], list[ShapeStats]] = defaultdict(list)
    for stats in workload.shapes.values():
        for path in predicate_of(stats).case_insensitive:
            counts[(stats.key.namespace, path)].append(stats)
    findings = []
    for (namespace, path), shapes in sorted(counts.items()):
        known = namespace in indexes
        if not known and not any(s.collscans() for s in shapes):
            continue  # no index list and no recorded COLLSCAN: nothing says no index served them
        served = [i for i in indexes.get(namespace, []) if is_case_insensitive(i)
                  and path in [k for k, _ in (plain_directions(i) or [])]]
        if served:
            continue
        count = sum(s.count for s in shapes)
        findings.append(Finding(
            "DM407", "medium", namespace, path,
            f"{count:,} queries match '{path}' with a case-insensitive regex (/…/i) and no index of a "
            "case-insensitive collation holds the field: each one tests every entry or document.",
            {"operations": count, "shapes": sorted(s.id for s in shapes),
             "total_ms": round(sum(s.total_ms for s in shapes), 3),
             "plan_source": "the index list" if known else "recorded (COLLSCAN; the index list is unknown)"},
            f"Create an index on '{path}' with collation {{locale: \"en\", strength: 2}} and query it by "
            "equality (or an anchored range) with the same collation instead of /…/i; or store a "
            "lower-cased copy of the field and index that."))
    return findings


def _constrains(predicate: dict, key: str) -> bool:
    kind = predicate.get(key)
    if isinstance(kind, str) and set(kind.split("+")) & {"eq", "in"}:
        return True
    branches = predicate.get("$or")
    return bool(branches) and all(_constrains(branch, key) for branch in branches)


def missing_tenant_filter(landscape, thresholds: dict, config) -> list[Finding]:
    workload = workload_of(landscape)
    if workload is None:
        return []
    keyed = {collection.info.namespace: key for collection, key, _ in keyed_collections(landscape, config)}
    per_namespace = _per_namespace(workload)
    findings = []
    for namespace, key in sorted(keyed.items()):
        open_shapes = [s for s in per_namespace.get(namespace, []) if not _constrains(s.predicate, key)]
        if not open_shapes:
            continue
        count = sum(s.count for s in open_shapes)
        total = sum(s.count for s in per_namespace[namespace])
        findings.append(Finding(
            "DM304", "high", namespace, key,
            f"{len(open_shapes)} query shape{'s' if len(open_shapes) != 1 else ''} ({count:,} of {total:,} operations) "
            f"do not filter on '{key}': each can read or change every tenant's documents.",
            {"tenant_key": key, "operations": count, "of_operations": total,
             "shapes": [{"id": s.id, "op": s.key.op, "predicate": s.predicate, "count": s.count} for s in open_shapes]},
            f"Add '{key}' to every query's filter (equality), ideally enforced in one data-access layer, "
            "so no code path can forget it; lead the indexes with it too."))
    return findings


register(Rule("DM401", "index gap: frequent/slow query shape with no supporting index", "high", "indexing strategy",
              index_gaps, {"min_operations": 1, "examined_ratio": 100, "min_docs_examined": 1000, "min_documents": 1000}))
register(Rule("DM402", "in-memory sort", "medium", "indexing strategy", in_memory_sorts, {"min_operations": 1}))
register(Rule("DM403", "unused index", "low", "indexing strategy", unused_indexes, {"min_days": 7}))
register(Rule("DM404", "redundant index (prefix of another)", "low", "indexing strategy", redundant_indexes))
register(Rule("DM405", "too many indexes on one collection", "medium", "indexing strategy", too_many_indexes,
              {"max_indexes": 30}))
register(Rule("DM406", "frequent $lookup joins in the workload", "medium", "model the domain", frequent_lookups,
              {"min_operations": 20, "min_total_ms": 10_000}))
register(Rule("DM407", "case-insensitive regex query with no case-insensitive index", "medium", "indexing strategy",
              case_insensitive_regex))
register(Rule("DM304", "query without a tenant filter", "high", "security & access", missing_tenant_filter))


def index_advice(landscape, thresholds: dict, tenant_keys: tuple[str, ...]) -> list[Recommendation]:
    """What report.json's `index_advice` lists: the DM401 recommendations."""
    return [recommendation for recommendation, _ in analyse(landscape, thresholds, tenant_keys)]


def configured_recommendations(landscape, config) -> list[Recommendation]:
    """DM401's recommended indexes with its thresholds as configured."""
    from nosql_advisor.rules import thresholds_of

    return index_advice(landscape, thresholds_of("DM401", config), config.tenant_keys)


def index_advice_items(landscape, config) -> list[dict]:
    """report.json's `index_advice` items."""
    return [r.to_dict() for r in configured_recommendations(landscape, config)]


TOP_SHAPES = 100


def query_shape_items(landscape, top: int = TOP_SHAPES) -> list[dict]:
    """The top shapes by total time, in report.schema.json's `query_shapes` form (plus their plan)."""
    from nosql_advisor.workload.table import shape_text

    workload = workload_of(landscape)
    if workload is None:
        return []
    indexes = indexes_by_namespace(landscape)
    items = []
    for stats in workload.ranked()[:top]:
        items.append({"namespace": stats.key.namespace, "id": stats.id, "op": stats.key.op, "shape": shape_text(stats),
                      "count": stats.count, "total_ms": round(stats.total_ms, 3), "p95_ms": stats.p95_ms,
                      **shape_plan(stats, indexes.get(stats.key.namespace))})
    return items


def shape_plan(stats: ShapeStats, indexes: list[dict] | None) -> dict:
    """The plan the server recorded, else one worked out from the index list; with neither (an
    export file's collection, a log line without planSummary) the plan is unknown and says why,
    since a plan derived from no index list would always read COLLSCAN."""
    from nosql_advisor.workload.indexes import plan_of

    if indexes is None and observed_plan(stats) is None:
        return {"plan": None, "plan_derived": False,
                "plan_unknown": "no plan recorded and the source holds no index list"}
    plan = plan_of(stats, indexes or [])
    return {"plan": plan.summary, "plan_derived": plan.derived}
