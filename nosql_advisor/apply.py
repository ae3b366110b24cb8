"""`--apply`: the only code path that writes to a server. Off unless the user asks."""

from __future__ import annotations

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from nosql_advisor.errors import ConnectError, InputError
from nosql_advisor.report.validators_out import collmod_command
from nosql_advisor.sources.base import split_namespace
from nosql_advisor.sources.live import redact_uri


def apply_validators(uri: str, validators: dict[str, dict], max_time_ms: int) -> list[str]:
    """Run collMod for each validator; returns one line per namespace saying what was done."""
    done = []
    client = MongoClient(uri, serverSelectionTimeoutMS=10_000)
    try:
        for namespace, validator in sorted(validators.items()):
            database, _ = split_namespace(namespace)
            command = collmod_command(namespace, validator)
            try:
                client[database].command(command, maxTimeMS=max_time_ms)
            except PyMongoError as error:
                raise (ConnectError if "connect" in str(error).lower() else InputError)(
                    f"{redact_uri(uri)}: collMod {namespace} failed ({' '.join(str(error).split())[:200]})") from None
            done.append(f"{namespace}: validator applied (validationLevel {command['validationLevel']}, "
                        f"validationAction {command['validationAction']})")
    finally:
        client.close()
    return done
