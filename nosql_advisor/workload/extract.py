"""From one recorded command (a log line's `attr`, a profiler document) to the operations in it.

Every source records the same commands in slightly different clothes: the 4.4+ log has
`attr.command` and `attr.originatingCommand`; the profiler has `command` (3.2+) or `query`,
`updateobj` and `$orderby` (earlier); the text log has the same fields in shell syntax. This
module takes the parsed command and says which operations it holds, or why it holds none.

Which commands make query shapes: find, aggregate (its leading `$match` stages and the `$sort`
right after them, its `$lookup`/`$graphLookup` targets), count, distinct, findAndModify, update
and delete statements, mapReduce and geoNear (their query); getMore is attributed to the command
that opened the cursor. Everything else (insert, hello, replication...) is counted as skipped.

What a write carries is kept on its operations for DM408: `upsert`, `multi` (an update's
`multi: true`, a delete's `limit: 0`) and the write concern's `w`. A write recorded without its
statements (an insert; an update or delete command whose statements the 4.4+ log records on
lines of their own) makes no shape, but one sent with `w: 0` is counted all the same (an
`unshaped` operation, Workload.unacknowledged).
"""

from __future__ import annotations

from nosql_advisor.workload.shapes import Operation

QUERY_FIELD = {"find": "filter", "count": "query", "distinct": "query", "findandmodify": "query",
               "mapreduce": "query", "geonear": "query", "aggregate": None}
OP_NAMES = {"find": "find", "count": "count", "distinct": "distinct", "findandmodify": "findAndModify",
            "mapreduce": "mapReduce", "geonear": "geoNear", "aggregate": "aggregate"}
LEGACY_WRAPPERS = frozenset({"query", "$query", "orderby", "$orderby", "$explain", "$hint", "$snapshot",
                             "$maxScan", "$comment", "$readPreference", "$maxTimeMS", "$returnKey",
                             "$showDiskLoc", "$min", "$max"})


def collection_namespace(namespace: str, command: dict) -> str:
    """`db.$cmd` becomes `db.<collection named by the command>`; a real namespace stays."""
    database, _, collection = namespace.partition(".")
    if collection in ("$cmd", "") and command:
        target = next(iter(command.values()))
        if isinstance(target, str):
            return f"{database}.{target}"
    return namespace


def legacy_query(query) -> tuple[dict, dict | None]:
    """The filter and sort of an OP_QUERY-era query: `{$query, $orderby}`, `{query, orderby}`
    (mtools' 2.4 logs), or the filter itself."""
    if not isinstance(query, dict):
        return {}, None
    if "$query" in query:
        return query.get("$query") or {}, query.get("$orderby")
    if "query" in query and isinstance(query["query"], dict) and set(query) <= LEGACY_WRAPPERS:
        return query["query"], query.get("orderby") or query.get("$orderby")
    return query, None


def command_operations(namespace: str, command, originating=None, record_type: str | None = None) -> list[Operation] | str:
    """The operations a command holds (with namespace, filter, sort, projection, lookups), or
    the reason it holds none (a string, counted by the caller)."""
    if not isinstance(command, dict) or not command:
        return "no command"
    first = next(iter(command))
    name = first.lower() if isinstance(first, str) else ""
    if name == "getmore":
        if not isinstance(originating, dict) or not originating:
            return "getMore without its originating command"
        found = command_operations(namespace, originating)
        if isinstance(found, list):
            for operation in found:
                operation.getmore = True
        return found
    if "q" in command and name in ("q", "u") or record_type in ("update", "remove") and "q" in command:
        op = "delete" if record_type == "remove" or "u" not in command else "update"
        return [_statement(namespace, op, command, None)]
    w = write_concern_w(command.get("writeConcern"))
    if name in ("update", "delete"):
        statements = command.get("updates" if name == "update" else "deletes")
        target = collection_namespace(namespace, command)
        if not isinstance(statements, list) or not statements:
            if w == 0:
                return [Operation(target, name, write_concern_w=0, unshaped=True)]
            return f"{name} command without its statements"  # the 4.4+ log logs them separately
        return [_statement(target, name, s, w) for s in statements if isinstance(s, dict)]
    if name == "insert" and w == 0:
        return [Operation(collection_namespace(namespace, command), "insert", write_concern_w=0, unshaped=True)]
    if name not in QUERY_FIELD:
        return f"{first}: not a query"
    target = collection_namespace(namespace, command)
    collation = _dict_or_none(command.get("collation"))
    if name == "aggregate":
        if not isinstance(command.get("aggregate"), str):
            return "database aggregate"
        return [_aggregate(target, command.get("pipeline"), collation)]
    operation = Operation(target, OP_NAMES[name], _dict(command.get(QUERY_FIELD[name])),
                          collation=collation)
    if name in ("find", "findandmodify", "mapreduce"):
        operation.sort = _dict_or_none(command.get("sort"))
    if name == "find":
        operation.projection = _dict_or_none(command.get("projection"))
    if name == "findandmodify":
        operation.upsert = _flag(command.get("upsert"))
        operation.write_concern_w = w
    return [operation]


def _statement(namespace: str, op: str, statement: dict, w) -> Operation:
    """One update statement `{q, u, upsert, multi}` or delete statement `{q, limit}`: an update
    not marked multi changes one document (the server's default); a delete's limit 0 is every
    match, 1 is one, and a missing limit is not known (None)."""
    if op == "update":
        multi = _flag(statement.get("multi")) or False
    else:
        limit = number(statement.get("limit")) if "limit" in statement else None
        multi = None if limit is None else limit == 0
    return Operation(namespace, op, _dict(statement.get("q")), collation=_dict_or_none(statement.get("collation")),
                     upsert=_flag(statement.get("upsert")) or False if op == "update" else None,
                     multi=multi, write_concern_w=w)


def write_concern_w(concern) -> int | str | None:
    """The `w` of a writeConcern document: a number of members (0: unacknowledged), a tag or
    "majority"; None when there is none."""
    if not isinstance(concern, dict) or "w" not in concern:
        return None
    w = concern["w"]
    return w if isinstance(w, str) else number(w)


def _flag(value) -> bool | None:
    """true/false as JSON, shell syntax, or a number (a legacy log's 1/0)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    found = number(value)
    return None if found is None else found != 0


def _aggregate(namespace: str, pipeline, collation) -> Operation:
    """Leading $match stages (merged), the $sort right after them, every $lookup target."""
    operation = Operation(namespace, "aggregate", collation=collation)
    stages = pipeline if isinstance(pipeline, list) else []
    matches: list[dict] = []
    leading = True
    database = namespace.partition(".")[0]
    lookups = []
    for stage in stages:
        if not isinstance(stage, dict) or not stage:
            leading = False
            continue
        name = next(iter(stage))
        if leading and name == "$match" and isinstance(stage[name], dict):
            matches.append(stage[name])
            continue
        if leading and name == "$sort" and operation.sort is None:
            operation.sort = _dict_or_none(stage[name])
            leading = False
            continue
        leading = False
        if name in ("$lookup", "$graphLookup") and isinstance(stage[name], dict):
            target = stage[name].get("from")
            if isinstance(target, dict):
                lookups.append(f"{target.get('db', database)}.{target.get('coll')}")
            elif isinstance(target, str):
                lookups.append(f"{database}.{target}")
    operation.filter = matches[0] if len(matches) == 1 else ({"$and": matches} if matches else {})
    operation.lookups = tuple(lookups)
    return operation


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _dict_or_none(value) -> dict | None:
    return value if isinstance(value, dict) and value else None


def number(value) -> int | None:
    """An int from a JSON or Extended JSON number ({"$numberLong": "3"}), else None."""
    if type(value) is int or value is None:
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, dict) and len(value) == 1:
        inner = next(iter(value.values()))
        try:
            return int(float(inner))
        except (TypeError, ValueError):
            return None
    try:
        return int(value)  # Int64 and friends
    except (TypeError, ValueError):
        return None


def set_metrics(operations: list[Operation], record: dict, duration_key: str) -> None:
    """Durations, counts and plan from a log `attr` or a profiler document, shared evenly when one
    record holds several statements (a multi-statement update in SecantusDB's profiler)."""
    get = record.get
    duration = number(get(duration_key)) or 0
    examined = number(get("docsExamined"))
    if examined is None:
        examined = number(get("nscannedObjects"))
    keys = number(get("keysExamined"))
    if keys is None:
        keys = number(get("nscanned"))
        if examined is None:
            examined = keys  # before 2.6 nscanned is all there is: entries or documents scanned
    returned = number(get("nreturned"))
    if returned is None:
        for name in ("nMatched", "ndeleted", "nModified"):
            returned = number(get(name))
            if returned is not None:
                break
    plan = get("planSummary")
    plan = plan if type(plan) is str else None
    sort_stage = get("hasSortStage")
    if sort_stage is None:
        sort_stage = get("scanAndOrder")
    in_memory = bool(number(sort_stage)) if sort_stage is not None else None
    share = len(operations)
    _set_write_facts(operations, record)
    for operation in operations:
        operation.duration_ms = duration / share if share > 1 else duration
        operation.docs_examined = examined
        operation.keys_examined = keys
        operation.nreturned = returned
        operation.plan_summary = plan
        operation.in_memory_sort = in_memory


def _set_write_facts(operations: list[Operation], record: dict) -> None:
    """What the record says of its writes beside their statements: the write concern mongod
    logs as `attr.writeConcern`, an upsert that inserted (`nUpserted`, a text log's `upsert:1`),
    and the profiler's `upsert`/`multi` flags of 3.4 and earlier."""
    w = write_concern_w(record.get("writeConcern"))
    upserted = (number(record.get("nUpserted")) or 0) > 0 or _flag(record.get("upsert")) is True
    multi = _flag(record.get("multi")) is True
    for operation in operations:
        if operation.op not in ("update", "delete", "findAndModify"):
            continue
        if operation.write_concern_w is None and w is not None:
            operation.write_concern_w = w
        if upserted and operation.op != "delete":
            operation.upsert = True
        if multi and operation.op == "update":
            operation.multi = True
