"""`--apply`: the only code path that writes to a server. Off unless the user asks (the CLI
prints the plan and asks first): collMod for validators, createIndexes for index advice."""

from __future__ import annotations

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from nosql_advisor.errors import ConnectError, InputError
from nosql_advisor.report.validators_out import collmod_command
from nosql_advisor.sources.base import split_namespace
from nosql_advisor.sources.live import redact_uri
from nosql_advisor.workload.indexes import Recommendation, create_indexes_command, describe


def apply_validators(uri: str, validators: dict[str, dict], max_time_ms: int) -> list[str]:
    """Run collMod for each validator; returns one line per namespace saying what was done."""
    commands = [(namespace, collmod_command(namespace, validator)) for namespace, validator in sorted(validators.items())]
    run_commands(uri, commands, max_time_ms)
    return [f"{namespace}: validator applied (validationLevel {command['validationLevel']}, "
            f"validationAction {command['validationAction']})" for namespace, command in commands]


def apply_indexes(uri: str, recommendations: list[Recommendation], max_time_ms: int) -> list[str]:
    """One createIndexes per namespace; returns one line per index built."""
    by_namespace: dict[str, list[Recommendation]] = {}
    for recommendation in recommendations:
        by_namespace.setdefault(recommendation.namespace, []).append(recommendation)
    run_commands(uri, [(namespace, create_indexes_command(namespace, by_namespace[namespace]))
                       for namespace in sorted(by_namespace)], max_time_ms)
    return [f"{namespace}: index {r.name} {describe(r.keys)} built"
            for namespace in sorted(by_namespace) for r in by_namespace[namespace]]


def run_commands(uri: str, commands: list[tuple[str, dict]], max_time_ms: int) -> None:
    """Run each (namespace, command) on the namespace's database, in order; the first failure
    stops the run with one line naming the command and the namespace (never the password)."""
    client = MongoClient(uri, serverSelectionTimeoutMS=10_000, appname="nosql-advisor")
    try:
        for namespace, command in commands:
            database, _ = split_namespace(namespace)
            try:
                client[database].command(command, maxTimeMS=max_time_ms)
            except PyMongoError as error:
                raise (ConnectError if "connect" in str(error).lower() else InputError)(
                    f"{redact_uri(uri)}: {next(iter(command))} {namespace} failed "
                    f"({' '.join(str(error).split())[:200]})") from None
    finally:
        client.close()
