"""From source specs to a landscape: every selected collection with its shape.

This is the library entry point the CLI calls; it holds the order of work and nothing
else. Every source (a live server, dump and export files) yields its collections, each with its
metadata and its documents as raw-BSON batches (sources/base.py); the scan only wires them to
an inference pass (a builder of the engine in use, shape/engine.py) and, when a schema is
declared, the validation tally, with progress, stops and notes. How a source reads (whole,
sampled, in several processes) is the source's business.
"""

from __future__ import annotations

import asyncio
import gc
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from nosql_advisor.confidence import add_intervals
from nosql_advisor import exact
from nosql_advisor.errors import EXIT_OK, AdvisorError, Problem, ProblemList
from nosql_advisor.progress import Reporter
from nosql_advisor.redact import resolve_source, scrub
from nosql_advisor.rules import TENANT_KEYS
from nosql_advisor.schema.load import DeclaredSchema, declared_from_options
from nosql_advisor.schema.validate import ValidationResult, ValidationTally
from nosql_advisor.shape import DEFAULT_MAX_PATHS, CollectionShape
from nosql_advisor.shape.engine import new_builder
from nosql_advisor.shape.infer import MAX_WALK_DEPTH
from nosql_advisor.sources import live
from nosql_advisor.sources.base import CollectionInfo, RawBatch, Selection
from nosql_advisor.sources.filesource import FileCollection, file_collections
from nosql_advisor.sources.files import printable


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


class Intake:
    """Where a collection's batches go (sources/base.py's Intake): a builder of the engine in
    use, and the validation tally when a schema is declared. Only the tally needs decoded
    documents: with a schema the Python engine gets the documents decoded once for both; the
    native one reads the bytes and the tally gets its own decode."""

    def __init__(self, builder_args: tuple, declared: DeclaredSchema | None) -> None:
        self.builder_args, self.declared = builder_args, declared
        self.builder = new_builder(*builder_args)
        has_schema = declared is not None and declared.schema is not None
        self.tally = ValidationTally(declared) if has_schema else None
        self.documents = 0

    def feed(self, batch: RawBatch) -> ProblemList:
        """The batch's documents in the source's order (runs of raw BSON to `add_raw`, documents
        the source decoded to `add`); a raw one that does not decode becomes what the source
        says (a problem, or a document read another way). Returns the batch's problems."""
        problems = ProblemList()
        problems.extend(batch.problems)
        for piece in batch.pieces():
            if len(piece) == 2:  # a document the source decoded (an export line libbson cannot take)
                self._add(*piece)
                continue
            first, data, starts = piece
            if self.tally is None:
                failures = self.builder.add_raw(data, starts)
            else:  # the tally needs the objects: the builder says what it decoded (once, in Python)
                documents, failures = self.builder.add_raw_decoded(data, starts)
                for _, document, _ in documents:
                    self.tally.add(document)
            self.documents += len(starts) - len(failures)
            for index, why in failures:
                rescued = batch.undecodable(first + index, why)
                if isinstance(rescued, Problem):
                    problems.append(rescued)
                else:
                    self._add(*rescued)
        return problems

    def _add(self, document, size: int) -> None:
        self.builder.add(document, size)
        self.documents += 1
        if self.tally is not None:
            self.tally.add(document)

    def fresh(self) -> Intake:
        return Intake(self.builder_args, self.declared)

    def merge(self, other: Intake) -> None:
        self.builder.merge(other.builder)
        if self.tally is not None:
            self.tally.merge(other.tally)
        self.documents += other.documents

    def adopt(self, other: Intake) -> None:
        self.builder, self.tally, self.documents = other.builder, other.tally, other.documents

    def flush(self) -> None:
        self.builder.flush()


class _Pass:
    """One pass over a collection's documents: shape inference, and validation when declared."""

    def __init__(self, info: CollectionInfo, options: ScanOptions) -> None:
        self.info = info
        origin = "server validator" if info.kind == "live" else "dump metadata"
        self.server = declared_from_options(info.namespace, info.options, origin)
        self.declared = options.schemas.get(info.namespace) or self.server
        self.intake = Intake((info.namespace, options.max_paths, options.enum_limit, frozenset(options.tenant_keys)),
                             self.declared)

    def finish(self) -> Collection:
        shape = self.intake.builder.finish(self.info.estimated_count)
        shape.method = self.info.method
        shape.strata = self.info.strata
        shape.stratify_fallback = self.info.stratify_fallback
        add_intervals(shape)
        _add_notes(self.info, shape)
        tally = self.intake.tally
        validation = tally.result() if tally is not None else None
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

def scan_path(source: Path, options: ScanOptions, reporter: Reporter,
              problems: list[Problem] | None = None) -> list[Collection]:
    """Every selected collection file under `source`. What cannot be read (a folder, a file) is
    a problem in `problems` and the rest is read."""
    problems = ProblemList() if problems is None else problems
    return [read_file(found, options, reporter)
            for found in file_collections(source, options.selection, sample_limit(options), options.workers, problems)]


def sample_limit(options: ScanOptions) -> int | None:
    """The most documents a file gives its shape: --sample-size, capped by --max-docs (None: all)."""
    limits = [n for n in (options.selection.sample_size, options.max_docs) if n is not None]
    return min(limits) if limits else None


def read_file(found: FileCollection, options: ScanOptions, reporter: Reporter) -> Collection:
    """One collection file into its shape (the source reads it whole or samples it)."""
    info = found.info
    one_pass = _Pass(info, options)
    task = reporter.task(f"reading {printable(found.path.name)}", found.path.stat().st_size)
    stops: list[Problem] = []
    with paused_gc():
        found.fill(one_pass.intake, task.advance, stops)
    task.finish()
    read = (info.estimated_count or 0) if info.method == "file-sample" else one_pass.intake.documents
    stopped = [_with_count(stop, read) for stop in stops]
    info.problems.extend(stopped)
    if stopped:  # the file ends before the collection does: read only in part (exit 4)
        info.status, info.status_reason = "incomplete", f"{stopped[-1].where}: {stopped[-1].message}"
    return one_pass.finish()


def _with_count(stop: Problem, documents: int) -> Problem:
    """A problem that stopped the reading (a truncation, a broken stream), saying exactly how
    many documents before it were read (records seen, for a file sample)."""
    read = {0: "no document before it was read", 1: "the 1 document before it was read"}.get(
        documents, f"the {documents:,} documents before it were read")
    return Problem(stop.where, f"{stop.message}; {read}", stop.exit_code)


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

    def feed(batch: RawBatch) -> None:
        info.problems.extend(one_pass.intake.feed(batch))
        task.advance(batch.records)

    reason = info.status_reason
    await reader.sample_into(info, size, feed)
    task.finish()
    collection = one_pass.finish()
    if operators is not None:
        await exact.read_exact(reader, collection, options, reporter, operators,
                               sample_finished=info.status_reason == reason)
    return collection
