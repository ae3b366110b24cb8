"""Live MongoDB: list, count and `$sample` collections over the wire, read-only.

Only read commands go to the server (hello, listDatabases, listCollections, listIndexes,
count via estimatedDocumentCount, aggregate with $sample, find). The read preference defaults
to `secondaryPreferred` so a scan of a replica set stays off the primary, and every operation
carries `maxTimeMS` so a slow server cannot hang the scan.
"""

from __future__ import annotations

import inspect
import re
from fnmatch import fnmatchcase
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import unquote

import bson
from bson.raw_bson import RawBSONDocument
from pymongo import AsyncMongoClient
from pymongo.errors import (
    ConfigurationError, ConnectionFailure, InvalidURI, OperationFailure, PyMongoError,
    ServerSelectionTimeoutError,
)

from nosql_advisor.errors import ConnectError, InputError
from nosql_advisor.sources.base import CODEC_OPTIONS, CollectionInfo, Document, Selection

DEFAULT_SAMPLE_SIZE = 1000
DEFAULT_MAX_TIME_MS = 60_000
RAW_CODEC = CODEC_OPTIONS.with_options(document_class=RawBSONDocument)
UNAUTHORIZED = {13, 18}  # Unauthorized, AuthenticationFailed
COLLECTION_TYPES = {"collection", "timeseries"}


@dataclass(frozen=True)
class LiveOptions:
    max_time_ms: int = DEFAULT_MAX_TIME_MS
    server_selection_ms: int = 10_000
    concurrency: int = 4


async def awaited(result):
    """PyMongo's async API returns some cursors from coroutines (list_collections, aggregate);
    Motor returns them directly. Accepting both lets a library caller pass a Motor client."""
    return await result if inspect.isawaitable(result) else result


def is_uri(spec: str) -> bool:
    return spec.startswith(("mongodb://", "mongodb+srv://"))


def redact_uri(uri: str) -> str:
    """The URI with its password replaced by `***`, safe for messages, logs and reports."""
    return re.sub(r"^(mongodb(?:\+srv)?://)([^@/]*?):([^@/]*)@", r"\1\2:***@", uri)


def uri_database(uri: str) -> str | None:
    """The database named in the URI path (`mongodb://h/shop?...` -> shop), if any."""
    match = re.match(r"^mongodb(?:\+srv)?://[^/]*/([^?]+)", uri)
    return unquote(match.group(1)) if match else None


def open_client(uri: str, options: LiveOptions) -> AsyncMongoClient:
    """An async client for `uri`, secondaryPreferred unless the URI chooses otherwise."""
    defaults = {
        "serverSelectionTimeoutMS": options.server_selection_ms,
        "connectTimeoutMS": options.server_selection_ms,
        "appname": "nosql-advisor",
        "readPreference": "secondaryPreferred",
    }
    query = uri.partition("?")[2].lower()
    settings = {k: v for k, v in defaults.items() if f"{k.lower()}=" not in query}
    try:
        return AsyncMongoClient(uri, **settings)
    except (InvalidURI, ConfigurationError, ValueError) as error:
        raise InputError(f"{redact_uri(uri)}: invalid MongoDB URI ({_clean(error, uri)})") from None


async def list_collections(client: AsyncMongoClient, uri: str, selection: Selection, options: LiveOptions) -> list[CollectionInfo]:
    """Every selected collection with its options, indexes and estimated count."""
    safe = redact_uri(uri)
    databases = await _database_names(client, uri, selection, options)
    found: list[CollectionInfo] = []
    for database in databases:
        async with guard(uri, database):
            cursor = await awaited(client[database].list_collections(maxTimeMS=options.max_time_ms))
            entries = [entry async for entry in cursor]
        for entry in sorted(entries, key=lambda e: e["name"]):
            if entry.get("type", "collection") in COLLECTION_TYPES and selection.wants(database, entry["name"]):
                found.append(CollectionInfo(
                    namespace=f"{database}.{entry['name']}", location=safe, kind="live",
                    options=dict(entry.get("options") or {}),
                ))
    for info in found:
        await _describe(client, uri, info, options)
    return found


async def _database_names(client, uri: str, selection: Selection, options: LiveOptions) -> list[str]:
    async with guard(uri, "listDatabases"):
        try:
            reply = await client.admin.command(
                "listDatabases", nameOnly=True, authorizedDatabases=True, maxTimeMS=options.max_time_ms)
            names = [entry["name"] for entry in reply["databases"]]
        except OperationFailure as error:
            if error.code not in UNAUTHORIZED or not uri_database(uri):
                raise
            names = [uri_database(uri)]  # a user with rights on one database only
    wanted = [name for name in sorted(names) if selection.wants_database(name)]
    missing = [glob for glob in selection.databases if not any(fnmatchcase(n, glob) for n in names)]
    if missing:
        raise InputError(f"{redact_uri(uri)}: no database matches {', '.join(missing)} "
                         f"(databases: {', '.join(sorted(names)) or 'none'})")
    return wanted


async def _describe(client, uri: str, info: CollectionInfo, options: LiveOptions) -> None:
    database, _, name = info.namespace.partition(".")
    collection = client[database][name]
    async with guard(uri, info.namespace):
        info.estimated_count = await collection.estimated_document_count(maxTimeMS=options.max_time_ms)
        reply = await client[database].command("listIndexes", name, maxTimeMS=options.max_time_ms)
        info.indexes = [dict(index) for index in reply["cursor"]["firstBatch"]]  # <= 64 per collection
    info.storage = await _storage(collection, options)


async def _storage(collection, options: LiveOptions) -> dict | None:
    """Data and index sizes from `$collStats` (storageStats); None when the server or the user's
    role does not give them: sizes are a bonus, not a reason to stop the scan."""
    try:
        cursor = await awaited(collection.aggregate([{"$collStats": {"storageStats": {}}}],
                                                    maxTimeMS=options.max_time_ms))
        stats = [entry async for entry in cursor]
    except PyMongoError:
        return None
    return storage_sizes(stats[0].get("storageStats") if stats else None)


def storage_sizes(storage: dict | None) -> dict | None:
    """The sizes the report shows, from a storageStats document. A server that answers 0 bytes
    of index for a collection that has documents (SecantusDB does) does not measure sizes:
    unknown, not 0."""
    if not isinstance(storage, dict) or not storage.get("totalIndexSize"):
        return None
    return {"size": storage.get("size"), "storage_size": storage.get("storageSize"),
            "total_index_size": storage["totalIndexSize"],
            "index_sizes": dict(sorted((storage.get("indexSizes") or {}).items()))}


async def sample_documents(client, info: CollectionInfo, size: int, options: LiveOptions) -> AsyncIterator[Document]:
    """`$sample` of `size` documents, or the whole collection when it holds fewer."""
    database, _, name = info.namespace.partition(".")
    collection = client[database].get_collection(name, codec_options=RAW_CODEC)
    if info.estimated_count is not None and info.estimated_count <= size:
        cursor = collection.find({}, max_time_ms=options.max_time_ms, limit=size)
    else:
        cursor = await awaited(collection.aggregate([{"$sample": {"size": size}}], maxTimeMS=options.max_time_ms))
    async for raw in cursor:
        data = raw.raw
        yield bson.decode(data, CODEC_OPTIONS), len(data)


class guard:
    """Turn driver errors into the tool's: connection and auth failures exit 3, the rest 2,
    each one line naming the (redacted) server and the namespace."""

    def __init__(self, uri: str, where: str) -> None:
        self.uri, self.where = uri, where

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, kind, error, traceback) -> bool:
        if error is None or not isinstance(error, PyMongoError):
            return False
        safe = redact_uri(self.uri)
        detail = _clean(error, self.uri)
        if isinstance(error, (ServerSelectionTimeoutError, ConnectionFailure)):
            raise ConnectError(f"{safe}: cannot connect ({detail})") from None
        if isinstance(error, OperationFailure) and error.code in UNAUTHORIZED:
            raise ConnectError(f"{safe}: not authorised for {self.where} ({detail})") from None
        raise InputError(f"{safe}: {self.where}: {detail}") from None


def _clean(error: Exception, uri: str) -> str:
    """The driver's message on one line, without the password even if the driver echoed it."""
    text = " ".join(str(error).split())
    for noise in (", Timeout:", ", Topology Description:", " (configured timeouts:"):
        text = text.split(noise)[0]
    password = re.match(r"^mongodb(?:\+srv)?://[^@/]*?:([^@/]*)@", uri)
    if password and password.group(1):
        text = text.replace(password.group(1), "***").replace(unquote(password.group(1)), "***")
    return text
