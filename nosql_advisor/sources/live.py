"""Live MongoDB: list, count and `$sample` collections over the wire, read-only.

Only read commands go to the server (hello, listDatabases, listCollections, listIndexes,
count via estimatedDocumentCount, aggregate with $sample, find). The read preference defaults
to `secondaryPreferred` so a scan of a replica set stays off the primary, and every operation
carries `maxTimeMS` so a slow server cannot hang the scan.

A fault stays with what it hit. A read that fails with a retryable error (a lost connection, a
failover or shutdown code) is tried READ_ATTEMPTS times with backoff; then that collection, and
only it, is marked incomplete, dropped or timed out (`CollectionInfo.status`) and keeps what was
read. The client gives up CLIENT_MARGIN_MS after the server's maxTimeMS would have run out, and
once the server has stopped answering no further read is started: a stalled or dead server costs
one timeout, not one per collection.

Samples and full reads come as raw BSON (a RawBSONDocument codec: only the bytes are read) and go
to inference in raw batches of one server reply each; nothing is decoded to dicts on the way.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from fnmatch import fnmatchcase
from urllib.parse import parse_qsl, unquote

import bson
from bson.raw_bson import RawBSONDocument
from pymongo import AsyncMongoClient
from pymongo.errors import (
    ConfigurationError, ConnectionFailure, InvalidURI, NetworkTimeout, OperationFailure, PyMongoError,
    ServerSelectionTimeoutError,
)

from nosql_advisor import redact
from nosql_advisor.errors import EXIT_CONNECT, EXIT_INCOMPLETE, EXIT_OK, EXIT_USAGE, ConnectError, InputError, Problem
from nosql_advisor.bsontypes import bson_type_of
from nosql_advisor.sources import strata
from nosql_advisor.sources.base import CODEC_OPTIONS, CollectionInfo, Document, RawBatch, Selection, joined, split_namespace
from nosql_advisor.sources.legacy_types import decode_one, element_end

DEFAULT_SAMPLE_SIZE = 1000
DEFAULT_MAX_TIME_MS = 60_000
# PyMongo monitoring listeners given to every client the tool builds (live scans, --profile,
# --apply): a library caller or a test appends a CommandListener here to see every command sent
MONITORS: list = []
RAW_CODEC = CODEC_OPTIONS.with_options(document_class=RawBSONDocument)
UNAUTHORIZED = {13, 18}  # Unauthorized, AuthenticationFailed
UNAUTHORIZED_CODE = 13  # a privilege missing (18: the credentials are wrong)
COLLECTION_TYPES = {"collection", "timeseries"}
# server codes after which the same read may well succeed: host and network errors, failover
# (not primary, node recovering, stepped down), shutdown, ExceededTimeLimit
RETRYABLE_CODES = frozenset({6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436})
MAX_TIME_EXPIRED = 50  # the server's maxTimeMS ran out: trying again would only time out again
READ_ATTEMPTS = 3  # tries of one read in all (the driver's own retry is off in the tool's client)
BACKOFF_S = 0.25  # the wait before the second try, doubled before each next one
CLIENT_MARGIN_MS = 5_000  # the client gives up this long after the server's maxTimeMS would have
LIVE_BATCH = 1000  # documents handed on at most at once (a server reply is usually fewer)
PING_S = 2.0  # how long a server that let a read time out gets to answer a ping before it is lost
# the rules that read a collection's index list: not checked where listIndexes failed
INDEX_RULES = ("DM303", "DM401", "DM402", "DM403", "DM404", "DM405", "DM407", "DM603")
STATUS_WORDS = {"incomplete": "incomplete", "dropped": "dropped", "timed_out": "timed out"}


@dataclass(frozen=True)
class LiveOptions:
    max_time_ms: int = DEFAULT_MAX_TIME_MS
    server_selection_ms: int = 10_000
    concurrency: int = 4
    # PyMongo monitoring listeners (CommandListener...) added to the client the tool builds:
    # how a test proves every command sent is a read with maxTimeMS
    event_listeners: tuple = ()
    # --stratify time: sample equally from age buckets (stratified_documents); the age is the
    # _id's ObjectId time, or the date field `time_field` (--time-field)
    stratify: str | None = None
    time_field: str | None = None


async def awaited(result):
    """PyMongo's async API returns some cursors from coroutines (list_collections, aggregate);
    Motor returns them directly. Accepting both lets a library caller pass a Motor client."""
    return await result if inspect.isawaitable(result) else result


def is_uri(spec: str) -> bool:
    return spec.startswith(("mongodb://", "mongodb+srv://"))


def redact_uri(uri: str) -> str:
    """The URI with its password and credential options replaced by `***` (redact.py), safe
    for messages, logs and reports."""
    return redact.redact_uri(uri)


def uri_database(uri: str) -> str | None:
    """The database named in the URI path (`mongodb://h/shop?...` -> shop), if any."""
    match = re.match(r"^mongodb(?:\+srv)?://[^/]*/([^?]+)", uri)
    return unquote(match.group(1)) if match else None


def open_client(uri: str, options: LiveOptions) -> AsyncMongoClient:
    """An async client for `uri`, secondaryPreferred unless the URI chooses otherwise, with
    client-side timeouts from --max-time-ms (client_timeouts). The tool retries reads itself
    (Reader.attempt), so the driver's own immediate retry is off: on a server that stopped
    answering it would wait a second timeout. The server is watched by polling hello, not by its
    streamed replies: after a failover or shutdown error the retry finds the server again within
    half a second instead of waiting for the next streamed reply (10 s)."""
    defaults = {
        **client_timeouts(options.max_time_ms, options.server_selection_ms),
        "serverMonitoringMode": "poll",
        "retryReads": False,  # Reader.attempt retries, with backoff; the driver's retry would double each timeout
        "appname": "nosql-advisor",
        "readPreference": "secondaryPreferred",
    }
    listeners = client_listeners(options.event_listeners)
    if listeners:
        defaults["event_listeners"] = listeners
    given = uri_option_names(uri)
    settings = {k: v for k, v in defaults.items() if k.lower() not in given}
    if "timeoutms" in given:  # the URI chose PyMongo's CSOT, which sets the socket timeouts itself
        settings.pop("socketTimeoutMS", None)
    try:
        return AsyncMongoClient(uri, **settings)
    except (InvalidURI, ConfigurationError, ValueError) as error:
        raise InputError(f"{redact_uri(uri)}: invalid MongoDB URI ({_clean(error, uri)})") from None


def client_listeners(extra: tuple = ()) -> list:
    """The monitoring listeners of a new client: MONITORS, then those of its options."""
    return [*MONITORS, *extra]


def client_timeouts(max_time_ms: int, server_selection_ms: int = 10_000) -> dict:
    """Client-side timeouts derived from --max-time-ms, so the whole run is bounded by what the
    user set: a server that stops answering on an open connection is given up CLIENT_MARGIN_MS
    after its maxTimeMS would have run out (socketTimeoutMS), and finding or connecting to the
    server waits no longer than that either.

    Not PyMongo's client-side operation timeout (`timeoutMS`): under it the driver replaces each
    command's maxTimeMS with its own time left, so the server would no longer be held to the
    user's --max-time-ms. A URI that sets timeoutMS chooses it anyway, and is followed."""
    limit_ms = max_time_ms + CLIENT_MARGIN_MS
    finding_ms = min(server_selection_ms, limit_ms)
    return {"serverSelectionTimeoutMS": finding_ms, "connectTimeoutMS": finding_ms, "socketTimeoutMS": limit_ms}


def uri_option_names(uri: str) -> set[str]:
    """The option names of the URI's query string, lower case (`?socketTimeoutMS=1` -> sockettimeoutms)."""
    return {name.lower() for name, _ in parse_qsl(uri.partition("?")[2], keep_blank_values=True)}


@dataclass(frozen=True)
class ReadFailure:
    """Why a read stopped: the status it gives its collection, the reason in words, and the exit
    code of the problem that reports it (3: not authorised; 4: read only in part)."""

    status: str  # "incomplete" | "dropped" | "timed_out"
    reason: str
    exit_code: int = EXIT_INCOMPLETE


@dataclass
class Reader:
    """One scan's reads from one server: its client, its URI (named, redacted, in messages), the
    options, and what the scan has learnt about the server. Once the server stopped answering or
    could not be reached (`lost`, in words) no further read is sent: what is left is marked."""

    client: object
    uri: str
    options: LiveOptions
    lost: str | None = None
    # throttle.Throttle of --rate, shared by the whole scan: every document the server sends is
    # spent from it (None: no ceiling)
    throttle: object | None = None

    @property
    def safe(self) -> str:
        return redact_uri(self.uri)

    async def attempt(self, read: Callable[[], Awaitable]):
        """`await read()`, tried again after a retryable failure (READ_ATTEMPTS tries in all,
        waiting BACKOFF_S, then twice as long, between them); the last failure is raised."""
        for tries in range(1, READ_ATTEMPTS + 1):
            try:
                return await read()
            except PyMongoError as error:
                if tries == READ_ATTEMPTS or not is_retryable(error):
                    raise
                await asyncio.sleep(BACKOFF_S * 2 ** (tries - 1))

    async def failure(self, error: PyMongoError, what: str, where: str,
                      info: CollectionInfo | None = None) -> ReadFailure:
        """What `error` from `what` on `where` (a database or namespace) means, in words. On a
        network failure the server gets a ping: no answer, and it is lost for the rest of the
        scan. A collection that failed a read and is no longer listed is `dropped`."""
        detail = error_detail(error, self.uri)
        if isinstance(error, ServerSelectionTimeoutError):
            self.lost = self.lost or f"the server could not be reached ({detail})"
            return ReadFailure("incomplete", f"{what} not answered: {self.lost}")
        if isinstance(error, ConnectionFailure) and not await self.answers(split_namespace(where)[0]):
            self.lost = self.lost or f"the server stopped answering ({what} on {where}: {detail})"
        found = read_failure(error, what, detail, self.options.max_time_ms)
        gone = isinstance(error, OperationFailure) and error_code(error) not in UNAUTHORIZED
        if info is not None and found.status == "incomplete" and gone and await self.exists(info) is False:
            return ReadFailure("dropped", f"dropped: {what} failed ({detail}) and the collection is no longer listed")
        return found

    async def answers(self, database: str) -> bool:
        """Whether the server still answers a ping within PING_S, after a read failed on the network."""
        try:
            await asyncio.wait_for(awaited(self.client[database].command(
                "ping", read_preference=self.client.read_preference)), PING_S)
            return True
        except (PyMongoError, asyncio.TimeoutError):
            return False

    async def exists(self, info: CollectionInfo) -> bool | None:
        """Whether the collection is still listed (None: the server did not say)."""
        if self.lost:
            return None
        database, name = split_namespace(info.namespace)
        try:
            return bool(await self.collections_of(database, filter={"name": name}))
        except PyMongoError:
            return None

    async def collections_of(self, database: str, **fields) -> list[dict]:
        """listCollections of one database, every batch, with the client's read preference
        (PyMongo's list_collections always asks the primary)."""
        cursor = await awaited(self.client[database].cursor_command(
            "listCollections", read_preference=self.client.read_preference,
            maxTimeMS=self.options.max_time_ms, **fields))
        return [entry async for entry in cursor]

    def skip_lost(self, info: CollectionInfo) -> bool:
        """True when the server is lost, so nothing more is sent for `info`; a collection not
        marked yet is marked incomplete, not read, with the reason."""
        if self.lost is None:
            return False
        if info.status == "complete":
            mark(info, ReadFailure("incomplete", f"not read: {self.lost}"))
        return True

    async def describing(self, info: CollectionInfo, what: str, read: Callable[[], Awaitable],
                         unchecked: tuple[str, ...] = ()):
        """`await read()` for one piece of the collection's metadata; None when it fails, the
        collection marked with why and the `unchecked` rules recorded as not checked."""
        if self.skip_lost(info):
            reason = f"{what} not sent: {self.lost}"
        else:
            try:
                return await self.attempt(read)
            except PyMongoError as error:
                failure = await self.failure(error, what, info.namespace, info)
                mark(info, failure)
                reason = failure.reason
        info.not_checked.update(dict.fromkeys(unchecked, reason))
        return None

    async def sample_into(self, info: CollectionInfo, size: int, feed: Callable[[RawBatch], None]) -> None:
        """The collection's sample (sample_documents) in raw batches, each document handed to
        `feed` once, undecoded.

        `$sample` cannot resume where it broke off: after a retryable failure the read starts
        again (a new $sample, or the whole-collection find from its start) and skips the
        documents already read, known by `_id`, until `size` are read. A failure that stays
        marks the collection, which keeps what was read; a collection listed with documents
        that gives fewer and is no longer listed is `dropped`."""
        if self.skip_lost(info):
            return
        what = "find" if reads_whole(info, size) else "$sample"
        wanted = size if info.estimated_count is None else min(size, info.estimated_count)
        seen: set[bytes] = set()
        try:
            await self.attempt(lambda: self._read_unseen(info, size, seen, feed))
        except PyMongoError as error:
            failure = await self.failure(error, what, info.namespace, info)
            retried = "; each retry restarted it and skipped the documents already read" if is_retryable(error) else ""
            mark(info, ReadFailure(failure.status, f"{failure.reason}{retried}; {len(seen):,} of {wanted:,} "
                                   "documents read", failure.exit_code))
            return
        if len(seen) < wanted and await self.exists(info) is False:
            when = (f"before it was sampled: listed with about {info.estimated_count:,} documents, none read"
                    if not seen else f"while it was read: {len(seen):,} of {wanted:,} documents read")
            mark(info, ReadFailure("dropped", f"dropped {when}"))

    async def _read_unseen(self, info: CollectionInfo, size: int, seen: set[bytes], feed) -> None:
        """Documents not seen yet, in batches of the server's reply (at most LIVE_BATCH each):
        what was read before a failure is fed before the failure goes on up."""
        pending: list[bytes] = []
        try:
            async with aclosing(sample_documents(self.client, info, size, self.options)) as documents:
                async for raw, more in documents:
                    if self.throttle is not None:  # --rate: every document sent counts, a re-read one too
                        await self.throttle.spend(1)
                    key = raw_identity(raw)
                    if key in seen:
                        continue
                    seen.add(key)
                    pending.append(raw)
                    if len(seen) >= size:
                        return
                    if not more or len(pending) >= LIVE_BATCH:
                        feed(live_batch(info.namespace, pending))
                        pending = []
        finally:
            if pending:
                feed(live_batch(info.namespace, pending))


def live_batch(namespace: str, documents: list[bytes]) -> RawBatch:
    """Documents of a live cursor as one raw batch; a damaged one is named by its namespace and
    its place in the read."""
    data, starts = joined(documents)
    return RawBatch(data, starts, lambda index: namespace, len(documents))


def raw_identity(raw: bytes) -> bytes:
    """What tells a document read twice from two documents: its `_id` element as BSON (type,
    name and value; the first element in what a server sends), else the whole document."""
    position, end = 4, len(raw) - 1
    while position < end:
        stop = element_end(raw, position, len(raw))
        if stop < 0:
            break
        if raw[position + 1:position + 5] == b"_id\0":
            return raw[position:stop]
        position = stop
    return raw


def mark(info: CollectionInfo, failure: ReadFailure) -> None:
    """Give `info` the failure's status (a drop explains more than what it caused) and reason,
    and the problem that reports it on stderr and in report.json."""
    if info.status == "complete" or failure.status == "dropped":
        info.status = failure.status
    info.status_reason = "; ".join(filter(None, [info.status_reason, failure.reason]))
    words = STATUS_WORDS[failure.status]
    info.problems.append(Problem(info.namespace, f"{words}: {failure.reason}", failure.exit_code))


def read_failure(error: PyMongoError, what: str, detail: str, max_time_ms: int) -> ReadFailure:
    """The status and reason of a failed read, from the error alone."""
    code = error_code(error)
    if code in UNAUTHORIZED:
        return ReadFailure("incomplete", f"not authorised for {what} ({detail})", EXIT_CONNECT)
    if code == MAX_TIME_EXPIRED:
        return ReadFailure("timed_out", f"{what} ran past --max-time-ms {max_time_ms} (the server's maxTimeMS)")
    if isinstance(error, NetworkTimeout):
        waited = (max_time_ms + CLIENT_MARGIN_MS) / 1000
        return ReadFailure("timed_out", f"the server did not answer {what} within {waited:g} s "
                           f"(--max-time-ms {max_time_ms} plus {CLIENT_MARGIN_MS / 1000:g} s)")
    if is_retryable(error):
        return ReadFailure("incomplete", f"{what} failed {READ_ATTEMPTS} times, with backoff ({detail})")
    return ReadFailure("incomplete", f"{what} failed ({detail})")


def is_retryable(error: PyMongoError) -> bool:
    """Whether the same read may succeed when tried again: a lost connection or a retryable
    code. Not a timeout (another try would cost the same wait again), nor a failure to find the
    server (its own wait is over)."""
    if isinstance(error, (ServerSelectionTimeoutError, NetworkTimeout)):
        return False
    return isinstance(error, ConnectionFailure) or error_code(error) in RETRYABLE_CODES


def error_code(error: PyMongoError) -> int | None:
    """The server's error code: OperationFailure has it, NotPrimaryError only in its reply."""
    code = getattr(error, "code", None)
    details = getattr(error, "details", None)
    if code is None and isinstance(details, Mapping):
        code = details.get("code")
    return code


def error_detail(error: PyMongoError, uri: str) -> str:
    """The error in a few words: the server's message, name and code when it answered (not the
    reply's full dump), else the driver's message; without any credential of the URI."""
    details = getattr(error, "details", None)
    if isinstance(details, Mapping) and details.get("errmsg"):
        name = f"{details['codeName']}, " if details.get("codeName") else ""
        return redact.scrub(" ".join(f"{details['errmsg']} ({name}code {details.get('code')})".split()), [uri])
    return _clean(error, uri)


async def list_collections(reader: Reader, selection: Selection, problems: list[Problem]) -> list[CollectionInfo]:
    """Every selected collection with its options, indexes and estimated count. A database or
    collection that cannot be listed or described is marked (a problem, a collection status)
    and the others go on; only the first contact (listDatabases) failing ends the source."""
    databases = await _database_names(reader, selection, problems)
    found: list[CollectionInfo] = []
    for database in databases:
        entries = await _collection_entries(reader, database, problems)
        for entry in sorted(entries, key=lambda e: e["name"]):
            if entry.get("type", "collection") in COLLECTION_TYPES and selection.wants(database, entry["name"]):
                found.append(CollectionInfo(
                    namespace=f"{database}.{entry['name']}", location=reader.safe, kind="live",
                    options=dict(entry.get("options") or {}),
                ))
    for info in found:
        await _describe(reader, info)
    return found


async def _database_names(reader: Reader, selection: Selection, problems: list[Problem]) -> list[str]:
    uri, max_time_ms = reader.uri, reader.options.max_time_ms
    async with guard(uri, "listDatabases"):
        try:
            reply = await reader.attempt(lambda: reader.client.admin.command(
                "listDatabases", nameOnly=True, authorizedDatabases=True, maxTimeMS=max_time_ms,
                read_preference=reader.client.read_preference))
            names = [entry["name"] for entry in reply["databases"]]
        except OperationFailure as error:
            named = named_databases(uri, selection)
            if error.code != UNAUTHORIZED_CODE or not named:
                raise  # AuthenticationFailed (18) included: wrong credentials end the source
            names = named  # a user with rights on some databases only: the ones the run names
    wanted = [name for name in sorted(names) if selection.wants_database(name)]
    missing = [glob for glob in selection.databases if not any(fnmatchcase(n, glob) for n in names)]
    if missing:  # the databases that do match are still read
        problems.append(Problem(reader.safe, f"no database matches {', '.join(missing)} "
                                f"(databases: {', '.join(sorted(names)) or 'none'})", EXIT_USAGE))
    return wanted


def named_databases(uri: str, selection: Selection) -> list[str]:
    """The databases a run names without listing them: the URI's path and every `--db` that is
    a plain name (not a glob), for a server that refuses listDatabases."""
    named = [glob for glob in selection.databases if not any(mark in glob for mark in "*?[")]
    return sorted(set(named + ([uri_database(uri)] if uri_database(uri) else [])))


async def _collection_entries(reader: Reader, database: str, problems: list[Problem]) -> list[dict]:
    """The listCollections entries of one database. When they cannot be read: a problem naming
    that database (exit 3 when not authorised, 4 otherwise) and none; the other databases go on."""
    if reader.lost:
        failure = ReadFailure("incomplete", f"listCollections not sent: {reader.lost}")
    else:
        try:
            return await reader.attempt(lambda: reader.collections_of(database))
        except PyMongoError as error:
            failure = await reader.failure(error, "listCollections", database)
    problems.append(Problem(database, f"its collections were not listed, so none of them was read: {failure.reason}",
                            failure.exit_code))
    return []


async def _describe(reader: Reader, info: CollectionInfo) -> None:
    """The collection's estimated count, indexes and storage sizes. Each one that fails marks the
    collection (why, and the rules it leaves unchecked) and the next is still asked for."""
    database, name = split_namespace(info.namespace)
    max_time_ms = reader.options.max_time_ms
    info.estimated_count = await reader.describing(
        info, "estimatedDocumentCount", lambda: _estimated_count(reader.client, database, name, max_time_ms))
    reply = await reader.describing(
        info, "listIndexes", lambda: reader.client[database].command(
            "listIndexes", name, maxTimeMS=max_time_ms, read_preference=reader.client.read_preference),
        unchecked=INDEX_RULES)
    if reply is not None:
        info.indexes = [dict(index) for index in reply["cursor"]["firstBatch"]]  # <= 64 per collection
    info.storage = await _storage(reader, info)


async def _estimated_count(client, database: str, name: str, max_time_ms: int) -> int:
    """estimatedDocumentCount as the `count` command on the database: PyMongo's collection
    objects refuse names the server accepts (`a..b`), the command takes any."""
    reply = await client[database].command({"count": name}, maxTimeMS=max_time_ms,
                                           read_preference=client.read_preference)
    return int(reply["n"])


def command_cursor(client, namespace: str, command: dict, max_time_ms: int, codec_options=None):
    """A find or aggregate cursor on any collection name, with the client's read preference."""
    database, name = split_namespace(namespace)
    verb = next(iter(command))
    # the database's own codec decodes the getMore batches, the argument only the first one
    target = client.get_database(database, codec_options=codec_options) if codec_options else client[database]
    return target.cursor_command({verb: name, **command[verb]}, maxTimeMS=max_time_ms,
                                 read_preference=client.read_preference, codec_options=codec_options)


async def _storage(reader: Reader, info: CollectionInfo) -> dict | None:
    """Data and index sizes from `$collStats` (storageStats); None when the server does not
    measure them. When the user's role (or a failure) does not give them, a note says so: no
    rule reads them, only the scale-risk report's size figures, so the scan goes on."""
    if reader.lost:
        return None

    async def stats() -> list[dict]:
        cursor = await awaited(command_cursor(
            reader.client, info.namespace,
            {"aggregate": {"pipeline": [{"$collStats": {"storageStats": {}}}], "cursor": {}}},
            reader.options.max_time_ms))
        return [entry async for entry in cursor]

    try:
        found = await reader.attempt(stats)
    except PyMongoError as error:
        failure = await reader.failure(error, "$collStats", info.namespace)
        info.problems.append(Problem(info.namespace, f"storage sizes not read ({failure.reason}): the scale-risk "
                                     "report shows no data or index sizes for it", EXIT_OK))
        return None
    return storage_sizes(found[0].get("storageStats") if found else None)


def storage_sizes(storage: dict | None) -> dict | None:
    """The sizes the report shows, from a storageStats document. A server that answers 0 bytes
    of index for a collection that has documents (SecantusDB does) does not measure sizes:
    unknown, not 0."""
    if not isinstance(storage, dict) or not storage.get("totalIndexSize"):
        return None
    return {"size": storage.get("size"), "storage_size": storage.get("storageSize"),
            "total_index_size": storage["totalIndexSize"],
            "index_sizes": dict(sorted((storage.get("indexSizes") or {}).items()))}


def reads_whole(info: CollectionInfo, size: int) -> bool:
    """Whether the sample is the whole collection (a find): it holds no more than `size`."""
    return info.estimated_count is not None and info.estimated_count <= size


async def sample_documents(client, info: CollectionInfo, size: int,
                           options: LiveOptions) -> AsyncIterator[tuple[bytes, bool]]:
    """`$sample` of `size` documents (from age buckets with --stratify time), or the whole
    collection when it holds fewer, raw (cursor_raw). Closing the iterator before its end closes
    the server's cursor."""
    if reads_whole(info, size):
        documents = cursor_raw(client, info.namespace, {"find": {"filter": {}, "limit": size}}, options)
    elif options.stratify == "time":
        documents = stratified_documents(client, info, size, options)
    else:
        documents = cursor_raw(client, info.namespace, sample_command(size), options)
    async with aclosing(documents):
        async for document in documents:
            yield document


def sample_command(size: int, match: dict | None = None) -> dict:
    """`$sample` of `size`, of the documents `match` selects when given."""
    return {"aggregate": {"pipeline": [*([{"$match": match}] if match else []), {"$sample": {"size": size}}],
                          "cursor": {}}}


async def cursor_raw(client, namespace: str, command: dict, options: LiveOptions) -> AsyncIterator[tuple[bytes, bool]]:
    """Every document of a find or aggregate cursor as its raw BSON, undecoded (RawBSONDocument,
    only its bytes read), with whether more of the server's current reply follows it (so a
    batch handed on is one reply). Closing the iterator before its end closes the server's cursor."""
    cursor = await awaited(command_cursor(client, namespace, command, options.max_time_ms, RAW_CODEC))
    try:
        async for raw in cursor:
            yield bytes(raw.raw), bool(_buffered(cursor))  # a memoryview when the batch arrived raw (getMore)
    except GeneratorExit:
        await awaited(cursor.close())
        raise


def _buffered(cursor) -> int:
    """Documents of the server's last reply not handed out yet (0 when the driver does not say)."""
    try:
        return len(cursor._data)  # PyMongo's (Async)CommandCursor and Motor's hold the reply there
    except (AttributeError, TypeError):
        return 0


async def cursor_documents(client, namespace: str, command: dict, options: LiveOptions) -> AsyncIterator[Document]:
    """Every document of a find or aggregate cursor, decoded (symbol, undefined, DBPointer kept),
    with its BSON size: for the few documents the tool itself reads (a time range's ends, bucket
    counts); samples go to inference raw."""
    documents = cursor_raw(client, namespace, command, options)
    async with aclosing(documents):
        async for data, _ in documents:
            yield decode_one(data, CODEC_OPTIONS), len(data)


async def stratified_documents(client, info: CollectionInfo, size: int,
                               options: LiveOptions) -> AsyncIterator[tuple[bytes, bool]]:
    """--stratify time: `size` documents drawn as equally as they allow from equal age buckets
    (sources/strata.py), so recent documents are seen even when old ones are most of the
    collection. One `$bucket` aggregate counts what each bucket holds (bucket_counts), then each
    gets a `$match` on its range + `$sample` of its share (strata.share_out).

    The age is the _id's ObjectId time (two reads of the _id index for its range) or the date
    field `options.time_field` (the same sorted on that field: without an index on it each end
    costs a collection scan, and so do the count and each bucket's sample). The buckets read go to
    `info.strata`. Where no range can be split (the _ids are not ObjectIds and no --time-field,
    no date, every document of the same time, too small a sample) a note says why and a plain
    `$sample` is read. After a retried read the counts are those of the last attempt."""
    field = options.time_field or "_id"
    plan = await age_buckets(client, info, size, field, options)
    if isinstance(plan, str):
        info.strata, info.stratify_fallback = None, plan
        add_note(info, f"--stratify time: {plan}; a plain $sample was read instead")
        documents = cursor_raw(client, info.namespace, sample_command(size), options)
        async with aclosing(documents):
            async for document in documents:
                yield document
        return
    object_ids = options.time_field is None
    held = await bucket_counts(client, info, field, plan, options)
    undated = 0 if object_ids else await undated_count(client, info, field, options)
    asked = strata.share_out(size, held + ([undated] if undated else []))
    info.strata, info.stratify_fallback = [strata.stratum_entry(bucket, count) for bucket, count in zip(plan, held)], None
    filters = [bucket.filter(field, object_ids) for bucket in plan]
    if undated:  # documents with no date in the field: a bucket of their own, not left unseen
        info.strata.append(strata.undated_entry(undated))
        filters.append(strata.undated_filter(field))
    add_stratified_notes(info, options.time_field, plan, held, sum(asked), undated)
    for match, entry, wanted in zip(filters, info.strata, asked):
        if not wanted:
            continue
        documents = cursor_raw(client, info.namespace, sample_command(wanted, match), options)
        async with aclosing(documents):
            async for document in documents:
                entry["documents"] += 1
                yield document


async def age_buckets(client, info: CollectionInfo, size: int, field: str,
                      options: LiveOptions) -> list[strata.Bucket] | str:
    """The age buckets of the collection, or why it cannot be split into any (in words)."""
    count = strata.bucket_count(size)
    if count < 2:
        return (f"a sample of {size:,} is too small to split into age buckets of at least "
                f"{strata.BUCKET_MIN_DOCS} documents")
    ends = await time_range(client, info, field, options)
    if isinstance(ends, str):
        return ends
    found = strata.buckets(*ends, count, whole_seconds=options.time_field is None)
    if not found:
        return f"every document has the same time ({strata.iso(ends[0])}): no age range to split"
    return found


async def time_range(client, info: CollectionInfo, field: str, options: LiveOptions) -> tuple[int, int] | str:
    """The oldest and newest time (ms) of the collection: the smallest and largest `_id` (two
    index reads), or of the date values of `field` (`$type: date`; an array's oldest and newest
    date); or why there is none (in words)."""
    by_id = options.time_field is None
    ends = await asyncio.gather(*(end_document(client, info, field, order, options) for order in (1, -1)),
                                return_exceptions=True)  # both finished before a failure is raised
    failed = [end for end in ends if isinstance(end, BaseException)]
    if failed:
        raise failed[0]
    oldest, newest = ends
    times = []
    for found, pick in ((oldest, min), (newest, max)):
        if found is None:
            return "the collection holds no document" if by_id else f"no document holds a date in '{field}'"
        if by_id and not isinstance(found.get("_id"), bson.ObjectId):
            return (f"its _ids are not all ObjectIds (one is {bson_type_of(found.get('_id'))}), so they "
                    "tell no age: give --time-field with a date field")
        dates = [value for value in map(strata.milliseconds, values_at(found, field)) if value is not None]
        if not dates:
            return f"no document holds a date in '{field}'"
        times.append(pick(dates))
    return times[0], times[1]


async def end_document(client, info: CollectionInfo, field: str, order: int, options: LiveOptions) -> dict | None:
    """The document first in `field` order (1: oldest, -1: newest), only that field; with
    --time-field, among those holding a date there."""
    by_id = options.time_field is None
    command = {"find": {"filter": {} if by_id else {field: {"$type": "date"}}, "sort": {field: order},
                        "limit": 1, "projection": {"_id": 0, field: 1}}}  # field "_id": {"_id": 1}
    found = [document async for document, _ in cursor_documents(client, info.namespace, command, options)]
    return found[0] if found else None


def values_at(document: dict, path: str) -> list:
    """The values at a dot-notation path, arrays transparent (`items.created`)."""
    values = [document]
    for key in path.split("."):
        values = [item for value in values for item in (value if isinstance(value, list) else [value])]
        values = [value[key] for value in values if isinstance(value, Mapping) and key in value]
    return [item for value in values for item in (value if isinstance(value, list) else [value])]


async def bucket_counts(client, info: CollectionInfo, field: str, plan: list[strata.Bucket],
                        options: LiveOptions) -> list[int]:
    """How many documents each bucket holds, in one aggregate: `$match` from the oldest time,
    `$bucket` on the buckets' bounds. The same work as a `count` per bucket (every key of the
    range is counted either way) in one command instead of ten. A document whose time is an
    array counts in no bucket."""
    object_ids = options.time_field is None
    edges = strata.boundaries(plan, object_ids)
    command = {"aggregate": {"pipeline": [
        {"$match": {field: {"$gte": edges[0]}}},
        {"$bucket": {"groupBy": f"${field}", "boundaries": edges, "default": "elsewhere"}},
    ], "cursor": {}}}
    counted = {strata.milliseconds(entry["_id"]): int(entry["count"])
               async for entry, _ in cursor_documents(client, info.namespace, command, options)}
    return [counted.get(bucket.start, 0) for bucket in plan]


async def undated_count(client, info: CollectionInfo, field: str, options: LiveOptions) -> int:
    """How many documents hold no date in `field` (--time-field): one aggregate `$match` +
    `$count` (a collection scan without an index on the field)."""
    command = {"aggregate": {"pipeline": [{"$match": strata.undated_filter(field)}, {"$count": "documents"}],
                             "cursor": {}}}
    found = [entry async for entry, _ in cursor_documents(client, info.namespace, command, options)]
    return int(found[0]["documents"]) if found else 0


def add_note(info: CollectionInfo, message: str) -> None:
    """A note (exit 0) on the collection, once (a retried read makes the same one again)."""
    if not any(problem.message == message for problem in info.problems):
        info.problems.append(Problem(info.namespace, message, EXIT_OK))


def add_stratified_notes(info: CollectionInfo, time_field: str | None, plan: list[strata.Bucket], held: list[int],
                         asked: int, undated: int = 0) -> None:
    """What a stratified sample is, on the collection: its buckets, that its shares are not
    estimates of the whole collection, and the documents with no date, sampled apart."""
    age = "the _id's ObjectId time" if time_field is None else f"'{time_field}'"
    add_note(info, f"stratified sample: {len(plan)} age buckets of {age} from {strata.iso(plan[0].start)} to "
                   f"{strata.iso(plan[-1].last)}, {asked:,} documents asked as equally as the buckets allow; its "
                   "shares weigh every bucket alike, not by the documents it holds (old documents are "
                   "under-weighted where they are most of the collection), so they are shares of the sample, "
                   "not estimates of the collection's")
    if undated:
        add_note(info, f"{undated:,} documents hold no date in '{time_field}': they are sampled as a bucket of "
                       "their own (strata entry with no from/to, undated: true)")


def stratify_notes(specs: list[str], stratify: str | None) -> list[Problem]:
    """--stratify with file sources: a note that it applies to live sources only (a file read
    whole sees every age; a file sample stays uniform)."""
    named_elsewhere = (redact.ENV_PREFIX, redact.FILE_PREFIX)  # env:/file: hold a URI, read later
    files = [spec for spec in specs if not is_uri(spec) and not spec.startswith(named_elsewhere)]
    if stratify is None or not files:
        return []
    return [Problem(files[0], "--stratify applies to live sources: a file read whole sees documents of "
                    "every age, and a file sample (--sample-size) stays uniform", EXIT_OK)]


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
        if isinstance(error, ConfigurationError) and self.uri.startswith("mongodb+srv://"):
            raise ConnectError(f"{safe}: cannot resolve the SRV name ({detail})") from None
        if isinstance(error, OperationFailure) and error.code in UNAUTHORIZED:
            raise ConnectError(f"{safe}: not authorised for {self.where} ({detail})") from None
        raise InputError(f"{safe}: {self.where}: {detail}") from None


def _clean(error: Exception, uri: str) -> str:
    """The driver's message on one line, without any credential of the URI even if the driver
    echoed it or a piece of it (redact.py)."""
    return redact.clean_error(error, uri)


def capped_sample_size(sample_size: int | None, max_docs: int | None) -> int:
    """Documents sampled per collection: --sample-size (default DEFAULT_SAMPLE_SIZE), never more
    than --max-docs (the documents read per collection, all passes together)."""
    size = sample_size or DEFAULT_SAMPLE_SIZE
    return size if max_docs is None else min(size, max_docs)
