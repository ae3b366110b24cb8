"""system.profile documents to `Operation`s: a mongoexport of it (NDJSON or a JSON array, .gz),
or read live from the sampled databases.

Live, only reads are sent: `find` on `<db>.system.profile`, `listIndexes`, `count`
(estimatedDocumentCount) and `aggregate` with `$indexStats`, each with maxTimeMS and the
client's read preference (secondaryPreferred unless the URI chooses); the profiling level is
never read or changed (turning the profiler on is the operator's call). A right the user lacks
(`find` on system.profile, `indexStats`) is no error: the rules it feeds are not checked there,
with the reason (`Workload.not_checked`, report.json's `coverage`).

Profiler documents differ by version: 3.2+ carry `command`; earlier ones carry `query` (with
`$query`/`$orderby` wrappers), `updateobj`, `nscanned`. SecantusDB's carry neither
`planSummary` nor `docsExamined`: those stay None and the plan is derived from the indexes.
"""

from __future__ import annotations

from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import (
    ConfigurationError, ConnectionFailure, InvalidURI, OperationFailure, PyMongoError,
)

from nosql_advisor.errors import (
    EXIT_INCOMPLETE, EXIT_OK, EXIT_USAGE, AdvisorError, ConnectError, InputError, Problem, ProblemList,
)
from nosql_advisor.sources import export
from nosql_advisor.sources.base import Selection
from nosql_advisor.sources.live import UNAUTHORIZED, _clean, client_listeners, redact_uri, uri_database
from nosql_advisor.workload.extract import command_operations, legacy_query, set_metrics
from nosql_advisor.workload.logs import MAX_PROBLEMS, skip
from nosql_advisor.workload.shapes import Operation, Workload

MAX_PROFILE_DOCUMENTS = 1_000_000  # per database (system.profile is capped: 1 MB by default)
# the rules the profile feeds: not checked for a database whose system.profile cannot be read
PROFILE_RULES = ("DM304", "DM401", "DM402", "DM403", "DM406", "DM407", "DM408")
CLIENT_MARGIN_MS = 5_000  # the client gives up this long after the server's maxTimeMS would have
NAMESPACE_NOT_FOUND = 26
UNAUTHORIZED_CODE = 13  # Unauthorized: a right missing (18, AuthenticationFailed, ends the run)


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


def read_profile_file(path: Path, workload: Workload, selection: Selection = Selection(),
                      max_line_bytes: int | None = None) -> None:
    """A mongoexport of system.profile: Extended JSON, one document per line or an array, read
    by the export reader (no line or array element held past `max_line_bytes`, the export
    reader's cap by default). A line that is not Extended JSON is a problem naming the file and
    line (exit 2, as for any export); past MAX_PROBLEMS per file they are counted. A file that
    holds no profiler document (an export of another collection, a log) is exit 2 too."""
    if not path.is_file():
        raise InputError(f"{path}: no such profile file")
    problems = ProblemList(limit=MAX_PROBLEMS)
    source = {"location": str(path), "kind": "profile", "documents": 0, "profile_documents": 0, "operations": 0}
    cap = {} if max_line_bytes is None else {"max_line": max_line_bytes}
    for record in export.read_export_records(path, problems, lambda _: None, **cap):
        decoded = export.decode_export_record(record, path, problems)
        if decoded is None:
            continue
        source["documents"] += 1
        if is_profile_document(decoded[0]):
            source["profile_documents"] += 1
            _add(profile_operations(decoded[0]), workload, selection, source)
    workload.problems += _no_profile_documents(path, source) + list(problems) + problems.summaries()
    workload.sources.append(source)


def is_profile_document(document: dict) -> bool:
    """Every profiler document of every version names its operation and namespace."""
    return isinstance(document.get("op"), str) and isinstance(document.get("ns"), str)


def _no_profile_documents(path: Path, source: dict) -> list[Problem]:
    if source["profile_documents"]:
        return []
    held = f"{source['documents']:,} documents, none with the op and ns of a profiler document" \
        if source["documents"] else "no document read"
    return [Problem(str(path), f"holds no system.profile document ({held}); nothing read from it", EXIT_USAGE)]


def _add(found, workload: Workload, selection: Selection, source: dict) -> None:
    if isinstance(found, str):
        skip(workload, found)
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
    every namespace the profile names. A right the user lacks (system.profile, $indexStats)
    does not end the run: the rules it feeds are `workload.not_checked`, with the reason."""
    client = profile_client(uri, max_time_ms)
    try:
        databases = _databases(client, uri, selection, max_time_ms)
        for position, database in enumerate(databases):
            lost = _read_profile_of(client, uri, database, workload, selection, max_time_ms, limit)
            if lost is not None:  # a server that stopped answering is not asked again
                for rest in databases[position + 1:]:
                    _profile_not_read(workload, uri, rest, lost, 0)
                return
        namespaces = sorted({stats.key.namespace for stats in workload.shapes.values()})
        for position, namespace in enumerate(namespaces):
            lost = _index_facts(client, uri, namespace, workload, max_time_ms)
            if lost is not None:
                for rest in namespaces[position + 1:]:
                    _index_facts_missing(workload, uri, rest, f"not asked: {_clean(lost, uri)}", EXIT_INCOMPLETE)
                return
    finally:
        client.close()


def profile_client(uri: str, max_time_ms: int) -> MongoClient:
    """A client that stays off the primary (secondaryPreferred) unless the URI chooses, carries
    the tool's monitors (`live.MONITORS`), and gives up on a server that stops answering
    CLIENT_MARGIN_MS after maxTimeMS (socketTimeoutMS; PyMongo retries a read once), so the run
    is bounded by the user's timeout. Not CSOT's timeoutMS: it would replace the maxTimeMS sent."""
    defaults = {"serverSelectionTimeoutMS": 10_000, "connectTimeoutMS": 10_000,
                "socketTimeoutMS": max_time_ms + CLIENT_MARGIN_MS, "appname": "nosql-advisor",
                "readPreference": "secondaryPreferred"}
    query = uri.partition("?")[2].lower()
    settings = {key: value for key, value in defaults.items() if f"{key.lower()}=" not in query}
    try:
        return MongoClient(uri, event_listeners=client_listeners(), **settings)
    except (InvalidURI, ConfigurationError, ValueError) as error:
        if uri.startswith("mongodb+srv://") and not isinstance(error, InvalidURI):
            raise ConnectError(f"{redact_uri(uri)}: cannot resolve for --profile ({_clean(error, uri)})") from None
        raise InputError(f"{redact_uri(uri)}: invalid MongoDB URI ({_clean(error, uri)})") from None


def _databases(client: MongoClient, uri: str, selection: Selection, max_time_ms: int) -> list[str]:
    """The selected databases. A user without the right to list them (SecantusDB's `read`
    role) reads those named by --db or in the URI path."""
    try:
        reply = client.admin.command("listDatabases", nameOnly=True, authorizedDatabases=True,
                                     maxTimeMS=max_time_ms, read_preference=client.read_preference)
        names = [entry["name"] for entry in reply["databases"]]
    except OperationFailure as error:
        names = _named_databases(uri, selection)
        if error.code != UNAUTHORIZED_CODE:
            raise _failure(error, uri, "listDatabases") from None
        if not names:
            raise _failure(error, uri, "listDatabases (name the database with --db)") from None
    except PyMongoError as error:
        raise _failure(error, uri, "listDatabases") from None
    return [name for name in sorted(names) if selection.wants_database(name)]


def _named_databases(uri: str, selection: Selection) -> list[str]:
    literal = [name for name in selection.databases if not set(name) & set("*?[")]
    return sorted({*literal, *filter(None, [uri_database(uri)])})


def _read_profile_of(client: MongoClient, uri: str, database: str, workload: Workload, selection: Selection,
                     max_time_ms: int, limit: int) -> ConnectionFailure | None:
    """One database's system.profile into the workload; the error when the server was lost."""
    source = {"location": f"{redact_uri(uri)} {database}.system.profile", "kind": "profile", "documents": 0,
              "operations": 0}
    workload.sources.append(source)
    try:
        cursor = client[database]["system.profile"].find({}, max_time_ms=max_time_ms, limit=limit)
        for document in cursor:
            source["documents"] += 1
            _add(profile_operations(document), workload, selection, source)
    except PyMongoError as error:
        _profile_not_read(workload, uri, database, error, source["documents"])
        return error if isinstance(error, ConnectionFailure) else None
    return None


def _profile_not_read(workload: Workload, uri: str, database: str, error: PyMongoError, documents: int) -> None:
    """Unauthorised: the workload rules are not checked on that database (a note, the run goes
    on). Cut short (timeout, connection lost): the rules saw only part of it (exit 4)."""
    where = f"{redact_uri(uri)} {database}.system.profile"
    rules = ", ".join(PROFILE_RULES)
    if _unauthorised(error):
        reason = f"not authorised for {database}.system.profile"
        workload.problems.append(Problem(where, f"not authorised to read it: {rules} not checked", EXIT_OK))
    else:
        read = f"read only in part, {documents:,} documents" if documents else "not read"
        reason = f"{database}.system.profile {read}: {_clean(error, uri)}"
        workload.problems.append(Problem(where, f"{read} ({_clean(error, uri)}): {rules} not checked in full",
                                         EXIT_INCOMPLETE))
    workload.not_checked.setdefault(database, {}).update(dict.fromkeys(PROFILE_RULES, reason))


def _index_facts(client: MongoClient, uri: str, namespace: str, workload: Workload,
                 max_time_ms: int) -> ConnectionFailure | None:
    """The index list, the size and `$indexStats` of a namespace the profile names. A dropped
    collection has none (the plans fall back to what the scan saw); any other failure leaves
    DM403 (unused indexes) not checked there, with the reason: a note when not authorised, a
    partial read (exit 4) otherwise. Returns the error when the server was lost."""
    database, _, name = namespace.partition(".")
    collection = client[database][name]
    step = "listIndexes"
    try:
        reply = client[database].command("listIndexes", name, maxTimeMS=max_time_ms,
                                         read_preference=client.read_preference)
        workload.indexes[namespace] = [dict(index) for index in reply["cursor"]["firstBatch"]]
        step = "count"
        workload.sizes[namespace] = collection.estimated_document_count(maxTimeMS=max_time_ms)
        step = "$indexStats"
        workload.index_stats[namespace] = [dict(row) for row in collection.aggregate(
            [{"$indexStats": {}}], maxTimeMS=max_time_ms)]
    except PyMongoError as error:
        if isinstance(error, OperationFailure) and error.code == NAMESPACE_NOT_FOUND:
            return None
        if _unauthorised(error):
            _index_facts_missing(workload, uri, namespace, f"not authorised for {step}", EXIT_OK)
        else:
            _index_facts_missing(workload, uri, namespace, f"{step} failed: {_clean(error, uri)}", EXIT_INCOMPLETE)
        return error if isinstance(error, ConnectionFailure) else None
    return None


def _index_facts_missing(workload: Workload, uri: str, namespace: str, reason: str, exit_code: int) -> None:
    workload.not_checked.setdefault(namespace, {})["DM403"] = reason
    workload.problems.append(Problem(f"{redact_uri(uri)} {namespace}", f"{reason}: DM403 not checked", exit_code))


def _unauthorised(error: Exception) -> bool:
    return isinstance(error, OperationFailure) and error.code == UNAUTHORIZED_CODE


def _failure(error: PyMongoError, uri: str, where: str) -> AdvisorError:
    """The tool's one-line error: cannot connect or not authorised exit 3, anything else 2."""
    safe, detail = redact_uri(uri), _clean(error, uri)
    if isinstance(error, ConnectionFailure):
        return ConnectError(f"{safe}: cannot connect for --profile ({detail})")
    if isinstance(error, OperationFailure) and error.code in UNAUTHORIZED:
        return ConnectError(f"{safe}: not authorised for {where} ({detail})")
    return InputError(f"{safe}: {where}: {detail}")
