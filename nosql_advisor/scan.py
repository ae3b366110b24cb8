"""From source specs to a landscape: every selected collection with its shape.

This is the library entry point the CLI calls; it holds the order of work and nothing
else: find collections, read or sample their documents, and in one pass infer their shapes
and validate them against the declared schemas.
"""

from __future__ import annotations

import asyncio
import gc
from contextlib import contextmanager
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from nosql_advisor.confidence import add_intervals
from nosql_advisor import exact
from nosql_advisor.errors import EXIT_OK, AdvisorError, Problem, ProblemList
from nosql_advisor.parallel import PARALLEL_MIN_BYTES, infer_in_workers
from nosql_advisor.progress import Reporter
from nosql_advisor.redact import resolve_source, scrub
from nosql_advisor.rules import TENANT_KEYS
from nosql_advisor.schema.load import DeclaredSchema, declared_from_options
from nosql_advisor.schema.validate import ValidationResult, ValidationTally
from nosql_advisor.shape import DEFAULT_MAX_PATHS, CollectionShape, ShapeBuilder
from nosql_advisor.shape.infer import MAX_WALK_DEPTH
from nosql_advisor.sources import dump, export, live
from nosql_advisor.sources.base import CollectionInfo, Document, Selection, reservoir, split_namespace
from nosql_advisor.sources.files import file_kind, find_collection_files, namespace_of, printable


@dataclass(frozen=True)
class ScanOptions:
    selection: Selection = Selection()
    max_paths: int = DEFAULT_MAX_PATHS
    live: live.LiveOptions = live.LiveOptions()
    schemas: dict[str, DeclaredSchema] = field(default_factory=dict)  # from --schemas, by namespace
    enum_limit: int = 0  # keep values of string fields with at most this many (validators --enum)
    workers: int = 1  # processes that decode and infer one large file (parallel.py)
    tenant_keys: tuple[str, ...] = TENANT_KEYS  # their values are counted, for tenant skew
    exact: bool = False  # live: the server computes the shape over every document (exact.py)
    max_docs: int | None = None  # documents read per collection, all passes together (--max-docs)
    throttle: object | None = None  # throttle.Throttle shared by the whole scan (--rate)
    stratify: str | None = None  # "time": sample equally from age buckets (--stratify time)
    time_field: str | None = None  # the date field that gives a document's age (--time-field)


@dataclass
class Collection:
    """One namespace: where it came from, its metadata, the shape of its documents, and how they
    fared against the declared schema (validated in the same pass)."""

    info: CollectionInfo
    shape: CollectionShape
    server_validator: DeclaredSchema | None = None  # what the server / dump metadata holds
    declared: DeclaredSchema | None = None  # what the data was held against (file, else server)
    validation: ValidationResult | None = None


class _Pass:
    """One pass over a collection's documents: shape inference, and validation when declared."""

    def __init__(self, info: CollectionInfo, options: ScanOptions) -> None:
        self.info = info
        self.builder = ShapeBuilder(info.namespace, options.max_paths, options.enum_limit,
                                    frozenset(options.tenant_keys))
        origin = "server validator" if info.kind == "live" else "dump metadata"
        self.server = declared_from_options(info.namespace, info.options, origin)
        self.declared = options.schemas.get(info.namespace) or self.server
        has_schema = self.declared is not None and self.declared.schema is not None
        self.tally = ValidationTally(self.declared) if has_schema else None

    def add(self, document: dict, size: int) -> None:
        self.builder.add(document, size)
        if self.tally is not None:
            self.tally.add(document)

    def finish(self) -> Collection:
        shape = self.builder.finish(self.info.estimated_count)
        shape.method = self.info.method
        shape.strata = self.info.strata
        shape.stratify_fallback = self.info.stratify_fallback
        add_intervals(shape)
        _add_notes(self.info, shape)
        validation = self.tally.result() if self.tally is not None else None
        return Collection(self.info, shape, self.server, self.declared, validation)


@dataclass
class Landscape:
    """Every collection of every source, scanned as one database landscape."""

    sources: list[dict] = field(default_factory=list)
    collections: list[Collection] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=ProblemList)  # bounded per file (errors.py)
    workload: object | None = None  # workload.shapes.Workload from --profile / --log, when read

    def not_checked(self) -> dict[tuple[str, str], str]:
        """(namespace, rule) -> why that rule could not be checked there (coverage.py decides:
        missing metadata, no workload, a privilege missing...). Rules report nothing there, and
        report.json's coverage says why."""
        from nosql_advisor.coverage import not_checked  # coverage.py is about this module's Landscape

        return not_checked(self)


def scan_sources(specs: list[str], options: ScanOptions, reporter: Reporter | None = None) -> Landscape:
    """Scan every source; several sources make one landscape (namespaces must not repeat)."""
    specs = [resolve_source(spec) for spec in specs]  # env:NAME, file:PATH (redact.py)
    reporter = reporter or Reporter(enabled=False)
    landscape = Landscape()
    for spec in specs:
        try:
            found = (scan_uri(spec, options, reporter, landscape.problems) if live.is_uri(spec)
                     else scan_path(Path(spec), options, reporter, landscape.problems))
        except AdvisorError as error:  # one bad source does not stop the others
            message = scrub(str(error), [spec]).removeprefix(f"{_safe(spec)}: ")
            landscape.problems.append(Problem(_safe(spec), message, error.exit_code))
            found = []
        _add_source(landscape, spec, found)
    landscape.collections.sort(key=lambda c: c.info.namespace)
    return landscape


def _add_source(landscape: Landscape, spec: str, found: list[Collection]) -> None:
    seen = {c.info.namespace: c.info.location for c in landscape.collections}
    kept = []
    for collection in found:
        namespace = collection.info.namespace
        if namespace in seen:
            landscape.problems.append(Problem(
                collection.info.location,
                f"{namespace} was already read from {seen[namespace]}; this copy is ignored"))
            continue
        kept.append(collection)
        landscape.problems.extend(collection.info.problems)
    landscape.collections.extend(kept)
    landscape.sources.append({
        "location": _safe(spec),
        "kind": "live" if live.is_uri(spec) else _path_kind(found),
        "collections": len(kept),
        "documents_read": sum(c.shape.sampled for c in kept),
    })


def _safe(spec: str) -> str:
    return live.redact_uri(spec)  # unchanged unless it reads as a URI (in any case: MONGODB://)


def _path_kind(found: list[Collection]) -> str:
    kinds = sorted({c.info.kind for c in found})
    return "+".join(kinds) if kinds else "files"


# -- files ------------------------------------------------------------------------------

READERS: dict[str, tuple[Callable, Callable]] = {
    "dump": (dump.read_bson_records, dump.decode_bson_record),
    "export": (export.read_export_records, export.decode_export_record),
}
BATCHED: dict[str, tuple[Callable, Callable]] = {
    "dump": (dump.bson_batches, dump.decode_bson_batch),
    "export": (export.ndjson_batches, export.decode_ndjson_batch),
}


def scan_path(source: Path, options: ScanOptions, reporter: Reporter,
              problems: list[Problem] | None = None) -> list[Collection]:
    """Every selected collection file under `source`. What cannot be read (a folder, a file) is
    a problem in `problems` and the rest is read."""
    problems = ProblemList() if problems is None else problems
    collections = []
    for path in find_collection_files(source, problems):
        namespace = namespace_of(path)
        for named in (path.parent, path):  # the database folder, then the file
            if printable(named.name) != named.name:
                problems.append(_odd_name(path, named, namespace))
        if options.selection.wants(*split_namespace(namespace)):
            collection = scan_file(path, namespace, options, reporter)
            if collection is None:
                problems.append(Problem(printable(str(path)), f"cannot read this file ({unreadable(path)}); skipped"))
            else:
                collections.append(collection)
    return collections


def _odd_name(path: Path, named: Path, namespace: str) -> Problem:
    """A file or folder name that is not UTF-8 cannot be a MongoDB collection or database name
    (bad input, exit 2); one holding control characters can, and is only shown escaped (a note)."""
    what = "file" if named == path else "database folder"
    if named.name.encode("utf-8", "surrogateescape") != named.name.encode("utf-8", "replace"):
        return Problem(printable(str(path)), f"the {what} name is not UTF-8, so not a MongoDB name; "
                       f"read as {printable(namespace)}")
    return Problem(printable(str(path)), f"the {what} name holds control characters; read as {printable(namespace)}",
                   EXIT_OK)


def unreadable(path: Path) -> str | None:
    """Why `path` cannot be opened for reading (None: it can)."""
    try:
        with open(path, "rb"):
            return None
    except OSError as error:
        return (error.strerror or str(error)).lower()


def scan_file(path: Path, namespace: str, options: ScanOptions, reporter: Reporter) -> Collection | None:
    """One collection file read (or sampled) into its shape; None when it cannot be opened."""
    if unreadable(path) is not None:
        return None
    kind = file_kind(path)
    info = CollectionInfo(namespace=namespace, location=printable(str(path)), kind=kind, problems=ProblemList())
    if kind == "dump":
        info.indexes, info.options, info.has_metadata = dump.load_metadata(path, info.problems)
    one_pass = _Pass(info, options)
    task = reporter.task(f"reading {printable(path.name)}", path.stat().st_size)
    stops: list[Problem] = []
    with paused_gc():
        read_or_sample(path, one_pass, options, task.advance, stops)
    task.finish()
    stopped = [_with_count(stop, _documents_read(one_pass)) for stop in stops]
    info.problems.extend(stopped)
    if stopped:  # the file ends before the collection does: read only in part (exit 4)
        info.status, info.status_reason = "incomplete", f"{stopped[-1].where}: {stopped[-1].message}"
    return one_pass.finish()


def read_or_sample(path: Path, one_pass: _Pass, options: ScanOptions, advance, stops: list[Problem]) -> None:
    """The file into `one_pass`: whole when no limit is set or the file holds no more records
    than it (method "full"), else a seeded uniform sample of the limit ("file-sample", with the
    file's record count as the estimate, so intervals get the finite population correction)."""
    info = one_pass.info
    limit = sample_limit(options)
    whole = limit is None or _fits_in(path, info.kind, limit)
    info.method = "full" if whole else "file-sample"
    if whole and (info.kind == "dump" or export.is_ndjson(path)):
        read_whole_file(path, one_pass, options, advance, stops)
        return
    selection = replace(options.selection, sample_size=None if whole else limit)
    for document, size in read_file_documents(path, info, selection, advance, stops):
        one_pass.add(document, size)
    if not whole and (info.estimated_count or 0) <= limit:
        info.method = "full"  # the sample kept every record (a JSON array is not counted first)
    elif not whole:
        info.problems.append(_unsampled_note(info, limit))


def sample_limit(options: ScanOptions) -> int | None:
    """The most documents a file gives its shape: --sample-size, capped by --max-docs (None: all)."""
    limits = [n for n in (options.selection.sample_size, options.max_docs) if n is not None]
    return min(limits) if limits else None


def _fits_in(path: Path, kind: str, limit: int) -> bool:
    """Whether the file holds no more than `limit` records, so a sample of `limit` is the whole
    file and is read whole: faster, in bounded memory (the reservoir would hold every raw record)
    and exact (no intervals). The count is cheap and stops once past `limit`: BSON lengths are
    sought past, NDJSON lines are counted in binary chunks. A JSON array (or --pretty output) is
    not counted first: finding where its values end is about half of what reading it costs (13.8
    s of 25.1 s for 20,000 orders documents), so a count would make every sample of it slower; it
    goes to the reservoir, and a reservoir that kept every record is called a full read
    afterwards (read_or_sample)."""
    if kind == "dump":
        return dump.count_bson_records(path, at_most=limit + 1) <= limit
    return export.is_ndjson(path) and export.count_ndjson_records(path, at_most=limit) <= limit


def _documents_read(one_pass: _Pass) -> int:
    """Documents read before a stop: decoded ones of a whole read, records seen by a sample."""
    if one_pass.info.method == "file-sample":
        return one_pass.info.estimated_count or 0
    one_pass.builder.flush()
    return one_pass.builder.root.objects


def _with_count(stop: Problem, documents: int) -> Problem:
    """A problem that stopped the reading (a truncation, a broken stream), saying exactly how
    many documents before it were read."""
    read = {0: "no document before it was read", 1: "the 1 document before it was read"}.get(
        documents, f"the {documents:,} documents before it were read")
    return Problem(stop.where, f"{stop.message}; {read}", stop.exit_code)


def read_whole_file(path: Path, one_pass: _Pass, options: ScanOptions, advance, stops: list[Problem]) -> None:
    """Every document of a BSON or NDJSON file, batch by batch, in this process or in several.
    A problem that stops the reading (truncation, a broken gzip stream) goes to `stops`."""
    info = one_pass.info
    read_batches, decode_batch = BATCHED[info.kind]
    batches = read_batches(path, info.problems, advance, stops=stops)
    if _in_parallel(path, options):
        one_pass.builder, one_pass.tally, info.estimated_count = infer_in_workers(
            batches, decode_batch, path, info.namespace, options, one_pass.declared, info.problems)
    else:
        info.estimated_count = 0
        for batch in batches:
            documents, records = decode_batch(batch, batch.data, path, info.problems)
            info.estimated_count += records
            for document, size in documents:
                one_pass.add(document, size)


def _in_parallel(path: Path, options: ScanOptions) -> bool:
    """Several processes for a large file read whole (read_whole_file; a sample smaller than
    the file goes through the reservoir, in one process). A --sample-size at least the file's
    records is a whole read too, so the sample size is not looked at here."""
    return options.workers > 1 and path.stat().st_size >= PARALLEL_MIN_BYTES


@contextmanager
def paused_gc():
    """Decoded documents hold no reference cycles (refcounting frees them), so the cyclic
    collector only burns time while millions of them stream past: about 15 % of a scan."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def read_file_documents(path: Path, info: CollectionInfo, selection: Selection, advance,
                        stops: list[Problem] | None = None) -> Iterator[Document]:
    """Every document of the file, or a seeded uniform sample of `selection.sample_size`.

    Sets `info.estimated_count` to the number of documents in the file once it is read. A
    problem that stops the reading goes to `stops` (to `info.problems` when not given)."""
    read_records, decode_record = READERS[info.kind]
    stops = info.problems if stops is None else stops
    last: list = []
    counted = _counting(read_records(path, info.problems, advance, stops=stops), info, path, last)
    if selection.sample_size is not None:
        counted = reservoir(counted, selection.sample_size, selection.seed)
        if last and not any(record is last[0] for record in counted):
            _check_last(last[0], decode_record, path, info)
    for record in counted:
        document = decode_record(record, path, info.problems)
        if document is not None:
            yield document


def _counting(records: Iterator, info: CollectionInfo, path: Path, last: list) -> Iterator:
    """The records, counted into `info.estimated_count`; the last one is kept in `last`. A BSON
    record whose last byte is not the 0 every document ends with is decoded here (cheap: only
    such records), so a damaged length inside the file is reported and not counted, as a whole
    read skips it, even when the sample does not draw it."""
    info.estimated_count = 0
    for record in records:
        if info.kind == "dump" and record[0][-1:] != b"\0":
            if dump.decode_bson_record(record, path, info.problems) is None:
                continue
        info.estimated_count += 1
        last[:] = [record]
        yield record


def _check_last(record, decode_record, path: Path, info: CollectionInfo) -> None:
    """The file's last record, when the sample did not draw it, is still decoded (one record):
    a truncated last line is reported as a whole read reports it, and not counted."""
    if decode_record(record, path, info.problems) is None:
        info.estimated_count -= 1


def _unsampled_note(info: CollectionInfo, decoded: int) -> Problem:
    """What a file sample cannot see: the records it did not draw were counted, not decoded."""
    return Problem(info.namespace, f"{info.estimated_count or 0:,} records counted, {decoded:,} decoded: the records "
                   "not sampled were counted, not decoded, so damage in them is not seen; read the file whole "
                   "to check every record", EXIT_OK)


def _nothing_read(info: CollectionInfo) -> str:
    """Why a collection read to the end gave no document: it is empty, or (a live one listed
    with documents, still there) it was emptied while it was scanned."""
    if info.kind == "live" and info.estimated_count:
        return (f"no documents read although about {info.estimated_count:,} were estimated "
                "(the collection is still there: emptied while it was scanned?)")
    return "empty collection: no documents to infer a shape from"


def _add_notes(info: CollectionInfo, shape: CollectionShape) -> None:
    """Notes (exit code 0) for what a user should know but is not an error."""
    if shape.sampled == 0 and not info.problems and info.status == "complete":
        info.problems.append(Problem(info.namespace, _nothing_read(info), EXIT_OK))
    if shape.capped:
        where = ", ".join(f"'{path or '(top level)'}' ({n})" for path, n in list(shape.capped.at.items())[:3])
        info.problems.append(Problem(
            info.namespace,
            f"more than {shape.capped.limit} distinct paths: {shape.capped.dropped_keys} key occurrences "
            f"not recorded, under {where}; raise --max-paths to see them", EXIT_OK))
    if shape.too_deep:
        info.problems.append(Problem(
            info.namespace, f"{shape.too_deep} subdocuments nested more than {MAX_WALK_DEPTH} levels deep "
            "were not read (MongoDB itself stores at most 100 levels)", EXIT_OK))


# -- live -------------------------------------------------------------------------------

def scan_uri(uri: str, options: ScanOptions, reporter: Reporter,
             problems: list[Problem] | None = None) -> list[Collection]:
    """Every selected collection of the server at `uri`. A database that cannot be listed is a
    problem in `problems`; a collection that cannot be read to the end carries its status."""
    return asyncio.run(_scan_uri(uri, options, reporter, [] if problems is None else problems))


async def _scan_uri(uri: str, options: ScanOptions, reporter: Reporter, problems: list[Problem]) -> list[Collection]:
    client = live.open_client(uri, options.live)
    try:
        return await _scan_client(client, uri, options, reporter, problems)
    finally:
        await client.close()


async def scan_client(client, options: ScanOptions, reporter: Reporter | None = None,
                      location: str = "client") -> Landscape:
    """Scan through an async client the caller already holds: PyMongo's AsyncMongoClient, or a
    Motor client (Motor reached end of life in May 2026; its API is close enough). The client's
    own read preference and timeouts apply; `location` names it in messages and the report."""
    landscape = Landscape()
    try:
        found = await _scan_client(client, location, options, reporter or Reporter(enabled=False), landscape.problems)
    except AdvisorError as error:
        landscape.problems.append(Problem(location, str(error).removeprefix(f"{location}: "), error.exit_code))
        found = []
    _add_source(landscape, location, found)
    landscape.sources[-1]["kind"] = "live"
    landscape.collections.sort(key=lambda c: c.info.namespace)
    return landscape


async def _scan_client(client, uri: str, options: ScanOptions, reporter: Reporter,
                       problems: list[Problem]) -> list[Collection]:
    """List and describe the collections, then sample several at a time. A fault marks what it
    hit (live.Reader); a server lost on the way leaves the rest marked, not waited for."""
    reader = live.Reader(client, uri, options.live, throttle=options.throttle)
    infos = await live.list_collections(reader, options.selection, problems)
    limit = asyncio.Semaphore(options.live.concurrency)
    size = live.capped_sample_size(options.selection.sample_size, options.max_docs)

    operators = exact.Operators() if options.exact else None  # probed once for the whole server

    async def one(info: CollectionInfo) -> Collection:
        async with limit:
            return await _sample_collection(reader, info, size, options, reporter, operators)

    return list(await asyncio.gather(*(one(info) for info in infos)))


async def _sample_collection(reader: live.Reader, info: CollectionInfo, size: int, options: ScanOptions,
                             reporter: Reporter, operators: exact.Operators | None = None) -> Collection:
    """One collection's sample through one inference pass; what was read before a failure is kept.
    With --exact the server then computes the shape over every document (exact.py)."""
    info.method = "full" if live.reads_whole(info, size) else "sample"
    one_pass = _Pass(info, options)
    task = reporter.task(f"sampling {info.namespace}", min(size, info.estimated_count or 0) or None)

    def add(document: dict, bson_size: int) -> None:
        one_pass.add(document, bson_size)
        task.advance(1)

    reason = info.status_reason
    await reader.sample_into(info, size, add)
    task.finish()
    collection = one_pass.finish()
    if operators is not None:
        await exact.read_exact(reader, collection, options, reporter, operators,
                               sample_finished=info.status_reason == reason)
    return collection
