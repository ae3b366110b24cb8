"""system.profile documents to `Operation`s: a mongoexport of it (NDJSON or a JSON array, .gz),
or read live from the sampled databases.

Live, only reads are sent: `find` on `<db>.system.profile`, `listIndexes`, `count`
(estimatedDocumentCount) and `aggregate` with `$indexStats`; the profiling level is never read or changed (turning the profiler on is the
operator's call). Profiler documents differ by version: 3.2+ carry `command`; earlier ones carry
`query` (with `$query`/`$orderby` wrappers), `updateobj`, `nscanned`. SecantusDB's carry neither
`planSummary` nor `docsExamined`: those stay None and the plan is derived from the indexes.
"""

from __future__ import annotations

from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from nosql_advisor.errors import EXIT_OK, ConnectError, InputError, Problem
from nosql_advisor.sources import export
from nosql_advisor.sources.base import Selection
from nosql_advisor.sources.live import redact_uri
from nosql_advisor.workload.extract import command_operations, legacy_query, set_metrics
from nosql_advisor.workload.shapes import Operation, Workload

MAX_PROFILE_DOCUMENTS = 1_000_000  # per database (system.profile is capped: 1 MB by default)


def profile_operations(document: dict) -> list[Operation] | str:
    """The operations of one system.profile document, or why it holds none."""
    namespace = document.get("ns")
    if not isinstance(namespace, str):
        return "profile document without ns"
    op = document.get("op")
    command = document.get("command")
    if isinstance(command, dict) and command:
        found = command_operations(namespace, command, document.get("originatingCommand"),
                                   op if op in ("update", "remove") else None)
    elif op == "query":
        query, sort = legacy_query(document.get("query"))
        found = [Operation(namespace, "find", query, sort=sort)]
    elif op in ("update", "remove") and isinstance(document.get("query"), dict):
        found = [Operation(namespace, "update" if op == "update" else "delete", document["query"])]
    elif op == "getmore" and isinstance(document.get("query"), dict):
        query, sort = legacy_query(document.get("query"))
        found = [Operation(namespace, "find", query, sort=sort, getmore=True)]
    else:
        return f"{op}: not a query"
    if isinstance(found, list):
        set_metrics(found, document, "millis")
    return found


def read_profile_file(path: Path, workload: Workload, selection: Selection = Selection()) -> None:
    """A mongoexport of system.profile: Extended JSON, one document per line or an array. A line
that is not Extended JSON is a problem naming the file and line (exit 2, as for any export)."""
    if not path.is_file():
        raise InputError(f"{path}: no such profile file")
    problems: list[Problem] = []
    source = {"location": str(path), "kind": "profile", "documents": 0, "operations": 0}
    records = export.read_export_records(path, problems, lambda _: None)
    for record in records:
        decoded = export.decode_export_record(record, path, problems)
        if decoded is None:
            continue
        document = decoded[0]
        source["documents"] += 1
        _add(profile_operations(document), workload, selection, source)
    workload.problems += problems  # as for any export file: bad input, exit 2 once the run ends
    workload.sources.append(source)


def _add(found, workload: Workload, selection: Selection, source: dict) -> None:
    if isinstance(found, str):
        workload.skipped[found] += 1
        return
    for operation in found:
        database, _, collection = operation.namespace.partition(".")
        if collection and selection.wants(database, collection):
            workload.add(operation)
            source["operations"] += 1
        else:
            workload.skipped["namespace not selected"] += 1


def read_profile_live(uri: str, workload: Workload, selection: Selection = Selection(),
                      max_time_ms: int = 60_000, limit: int = MAX_PROFILE_DOCUMENTS) -> None:
    """system.profile of every selected database, then the index list and `$indexStats` of
    every namespace the profile names."""
    safe = redact_uri(uri)
    client = MongoClient(uri, serverSelectionTimeoutMS=10_000, appname="nosql-advisor",
                         readPreference="secondaryPreferred")
    try:
        try:
            names = client.admin.command("listDatabases", nameOnly=True, authorizedDatabases=True,
                                         maxTimeMS=max_time_ms)["databases"]
        except PyMongoError as error:
            raise ConnectError(f"{safe}: cannot list databases for --profile ({_short(error)})") from None
        for entry in sorted(names, key=lambda e: e["name"]):
            database = entry["name"]
            if not selection.wants_database(database):
                continue
            source = {"location": f"{safe} {database}.system.profile", "kind": "profile", "documents": 0,
                      "operations": 0}
            try:
                cursor = client[database]["system.profile"].find({}, max_time_ms=max_time_ms, limit=limit)
                for document in cursor:
                    source["documents"] += 1
                    _add(profile_operations(document), workload, selection, source)
            except PyMongoError as error:
                workload.problems.append(Problem(f"{safe} {database}.system.profile",
                                                 f"not read ({_short(error)})", EXIT_OK))
            workload.sources.append(source)
        namespaces = sorted({stats.key.namespace for stats in workload.shapes.values()})
        for namespace in namespaces:
            _index_facts(client, namespace, workload, max_time_ms)
    finally:
        client.close()


def _index_facts(client: MongoClient, namespace: str, workload: Workload, max_time_ms: int) -> None:
    database, _, name = namespace.partition(".")
    try:
        reply = client[database].command("listIndexes", name, maxTimeMS=max_time_ms)
        workload.indexes[namespace] = [dict(index) for index in reply["cursor"]["firstBatch"]]
        workload.sizes[namespace] = client[database][name].estimated_document_count(maxTimeMS=max_time_ms)
        workload.index_stats[namespace] = [dict(row) for row in client[database][name].aggregate(
            [{"$indexStats": {}}], maxTimeMS=max_time_ms)]
    except PyMongoError:
        return  # a dropped collection or no right to $indexStats: the plan falls back to nothing


def _short(error: Exception) -> str:
    return " ".join(str(error).split())[:200]
