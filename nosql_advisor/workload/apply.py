"""`queries --apply`: build the recommended indexes on the live server (createIndexes), the only
write of the workload part, off unless the user asks (the CLI prints the plan and asks first)."""

from __future__ import annotations

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from nosql_advisor.errors import ConnectError, InputError
from nosql_advisor.sources.live import redact_uri
from nosql_advisor.workload.indexes import Recommendation, create_indexes_command, describe


def apply_indexes(uri: str, recommendations: list[Recommendation], max_time_ms: int) -> list[str]:
    """One createIndexes per namespace; returns one line per index built."""
    done = []
    by_namespace: dict[str, list[Recommendation]] = {}
    for recommendation in recommendations:
        by_namespace.setdefault(recommendation.namespace, []).append(recommendation)
    client = MongoClient(uri, serverSelectionTimeoutMS=10_000, appname="nosql-advisor")
    try:
        for namespace in sorted(by_namespace):
            database = namespace.partition(".")[0]
            try:
                client[database].command(create_indexes_command(namespace, by_namespace[namespace]), maxTimeMS=max_time_ms)
            except PyMongoError as error:
                raise (ConnectError if "connect" in str(error).lower() else InputError)(
                    f"{redact_uri(uri)}: createIndexes {namespace} failed ({' '.join(str(error).split())[:200]})") from None
            done += [f"{namespace}: index {r.name} {describe(r.keys)} built" for r in by_namespace[namespace]]
    finally:
        client.close()
    return done
