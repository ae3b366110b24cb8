"""DM408: unsafe writes in the workload (profiler and logs).

- An upsert whose filter no unique index covers: two clients upserting the same key at once
  both find nothing and both insert, so the collection holds duplicates. A unique index whose
  keys the filter all tests by equality (or `_id`) makes the second insert fail with a
  duplicate-key error, which the driver retries as an update.
- An update with `multi: true` or a delete with `limit: 0` (updateMany/deleteMany) whose filter
  is empty: one call changes or removes every document. A delete whose limit was not recorded
  (legacy logs and profiles: the legacy remove's default is every match) counts too, said so.
- A write sent with `w: 0`: the server never says whether it failed, so lost writes go unseen.

Whether a unique index covers an upsert needs the collection's index list: the scan's (live,
dump metadata) or a live --profile's. Where the source holds none (export files, a log alone,
a live listIndexes refused) that part is not checked: the upserts are listed as an `info`
finding that says so, never as a pass. Internal namespaces (admin, local, config, system.*)
are the server's own and skipped.
"""

from __future__ import annotations

from collections import defaultdict

from nosql_advisor.findings import Finding
from nosql_advisor.rules import Rule, register
from nosql_advisor.rules.workload import indexes_by_namespace, workload_of
from nosql_advisor.workload.indexes import describe
from nosql_advisor.workload.shapes import ShapeStats

INTERNAL_DATABASES = frozenset({"admin", "local", "config"})


def unsafe_writes(landscape, thresholds: dict, config) -> list[Finding]:
    workload = workload_of(landscape)
    if workload is None:
        return []
    indexes = known_index_lists(landscape)
    findings = []
    for stats in sorted(workload.shapes.values(), key=lambda s: (s.key.namespace, s.id)):
        if not stats.writes or _internal(stats.key.namespace):
            continue
        findings += _upsert_findings(stats, indexes.get(stats.key.namespace), thresholds)
        findings += _empty_filter_findings(stats, thresholds)
    findings += _unacknowledged_findings(workload, thresholds)
    return findings


def known_index_lists(landscape) -> dict[str, list[dict]]:
    """namespace -> its index list, where the sources gave one: not where a live listIndexes was
    refused (the collection's index rules are then not checked, and its empty list says nothing)."""
    refused = {c.info.namespace for c in landscape.collections if "DM404" in c.info.not_checked}
    return {namespace: found for namespace, found in indexes_by_namespace(landscape).items() if namespace not in refused}


def _internal(namespace: str) -> bool:
    database, _, collection = namespace.partition(".")
    return database in INTERNAL_DATABASES or collection.startswith("system.")


def equality_fields(stats: ShapeStats) -> list[str]:
    """The paths the shape's filter tests by plain equality (and only so)."""
    return [path for path, kind in stats.predicate.items() if not path.startswith("$") and kind == "eq"]


def covering_unique_index(fields: list[str], indexes: list[dict]) -> dict | None:
    """A unique index every key of which the filter tests by equality: at most one document
    matches, and a second concurrent insert of the key fails. `_id` always is one."""
    if "_id" in fields:
        return {"name": "_id_", "key": {"_id": 1}, "unique": True}
    for index in indexes:
        keys = list((index.get("key") or {}).keys())
        if index.get("unique") and keys and set(keys) <= set(fields):
            return index
    return None


def _upsert_findings(stats: ShapeStats, indexes: list[dict] | None, thresholds: dict) -> list[Finding]:
    upserts = stats.writes.get("upsert", 0)
    if upserts < thresholds["min_operations"]:
        return []
    fields = equality_fields(stats)
    if covering_unique_index(fields, indexes or []) is not None:
        return []
    suggested = [(path, 1) for path in fields]
    evidence = {"kind": "upsert_without_unique_index", "shape": stats.id, "op": stats.key.op,
                "predicate": stats.predicate, "upserts": upserts, "operations": stats.count,
                "equality_fields": fields, "unique_index_checked": indexes is not None,
                "would_serve": {"key": [[k, d] for k, d in suggested], "unique": True} if suggested else None}
    namespace, shape = stats.key.namespace, _shape_text(stats)
    if indexes is None:
        return [Finding(
            "DM408", "info", namespace, fields[0] if fields else None,
            f"{_count(upserts, 'upsert')} {_verb(upserts, 'filter')} on {shape}; whether a unique index covers that filter was not "
            "checked: no index list was read for it (export files, a log alone, or listIndexes refused).",
            evidence, "Scan a live server or a dump with its metadata to check it; an upsert is safe under "
            "concurrency only when a unique index holds the keys its filter tests by equality.")]
    serve = (f"a unique index {describe(suggested)} would make the second insert fail and the driver retry it as an update"
             if suggested else "no unique index can serve a filter without equality fields")
    return [Finding(
        "DM408", "high", namespace, fields[0] if fields else None,
        f"{_count(upserts, 'upsert')} {_verb(upserts, 'filter')} on {shape} and no unique index covers that filter: two concurrent "
        f"upserts of one key both insert, leaving duplicates; {serve}.",
        evidence,
        (f"Create the index {describe(suggested)} with unique: true (find and merge the duplicates first), "
         if suggested else "Upsert by a natural key tested by equality and make it unique, ")
        + "or upsert by _id when the key can be the document's _id.")]


def _empty_filter_findings(stats: ShapeStats, thresholds: dict) -> list[Finding]:
    if stats.predicate or stats.key.op not in ("update", "delete"):
        return []
    every = stats.writes.get("multi", 0)
    unknown = stats.writes.get("multi_unknown", 0) if stats.key.op == "delete" else 0
    if every + unknown < thresholds["min_operations"]:
        return []
    method = "updateMany" if stats.key.op == "update" else "deleteMany"
    changed = "change" if stats.key.op == "update" else "remove"
    said = f" ({unknown:,} of them with no limit recorded, a legacy remove's every match)" if unknown else ""
    return [Finding(
        "DM408", "high", stats.key.namespace, None,
        f"{_count(every + unknown, method + ' operation')} with an empty filter{said}: each call can {changed} every "
        "document of the collection.",
        {"kind": "empty_filter", "shape": stats.id, "op": stats.key.op, "multi": every, "limit_not_recorded": unknown,
         "operations": stats.count},
        "Give every multi-document write a filter (a tenant, a status, a date bound), and guard the data-access "
        "layer against an empty one; to empty a collection on purpose, drop it or delete in bounded batches "
        "from a maintenance job.")]


def _unacknowledged_findings(workload, thresholds: dict) -> list[Finding]:
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for stats in workload.shapes.values():
        if stats.writes.get("w0"):
            counts[stats.key.namespace][stats.key.op] += stats.writes["w0"]
    for (namespace, op), count in workload.unacknowledged.items():
        counts[namespace][op] += count
    findings = []
    for namespace, ops in sorted(counts.items()):
        total = sum(ops.values())
        if _internal(namespace) or total < thresholds["min_operations"]:
            continue
        findings.append(Finding(
            "DM408", "medium", namespace, None,
            f"{_count(total, 'write')} sent with w: 0 ({', '.join(f'{n:,} {op}' for op, n in sorted(ops.items()))}): the "
            "server never answers them, so a failed write (a duplicate key, a validation error, a failover) is lost unseen.",
            {"kind": "unacknowledged", "writes": total, "by_op": dict(sorted(ops.items()))},
            "Use the default write concern (w: \"majority\") or at least w: 1; batch the writes (insertMany, "
            "bulkWrite) if w: 0 was there for speed."))
    return findings


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _verb(number: int, verb: str) -> str:
    return f"{verb}s" if number == 1 else verb


def _shape_text(stats: ShapeStats) -> str:
    return "{" + ", ".join(f"{path}: {kind}" for path, kind in stats.predicate.items()) + "}" if stats.predicate else "{}"


register(Rule("DM408", "unsafe writes (upsert with no unique index, multi update/delete with an empty filter, w:0)",
              "high", "simple, safe writes", unsafe_writes, {"min_operations": 1}))
