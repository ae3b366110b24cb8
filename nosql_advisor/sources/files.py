"""Finding collections in files and directories, and opening (possibly gzipped) files.

A namespace is the parent directory's name, a dot, and the file name without its extensions
(`dump/shop/orders.bson.gz` -> `shop.orders`), as mongodump and mongorestore lay them out.
"""

from __future__ import annotations

import io
import os
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote

from nosql_advisor.errors import EXIT_OK, InputError, Problem

BSON_SUFFIXES = (".bson", ".bson.gz")
EXPORT_SUFFIXES = (".json", ".json.gz", ".ndjson", ".ndjson.gz", ".jsonl", ".jsonl.gz")
METADATA_SUFFIXES = (".metadata.json", ".metadata.json.gz")
# A file of this name marks a folder as nosql-advisor's own output (`--out`): report/write.py
# writes it, and finding collection files never reads such a folder back as data.
OUTPUT_MARKER = ".nosql-advisor-output"


def strip_suffixes(name: str) -> str:
    for suffix in METADATA_SUFFIXES + BSON_SUFFIXES + EXPORT_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def file_kind(path: Path) -> str | None:
    """'dump' for BSON, 'export' for Extended JSON, None for anything else (metadata too)."""
    name = path.name
    if name.endswith(METADATA_SUFFIXES):
        return None
    if name.endswith(BSON_SUFFIXES):
        return "dump"
    if name.endswith(EXPORT_SUFFIXES):
        return "export"
    return None


def namespace_of(path: Path) -> str:
    """`<folder>.<file without extensions>`, printable. The folder is the one named on the way
    in (a symlinked database folder keeps its own name, not its target's). mongodump writes a
    `/` or `%` of a collection name as `%2F` / `%25`, so a dump file's name is unescaped."""
    folder = Path(os.path.abspath(path)).parent.name
    collection = strip_suffixes(path.name)
    if path.name.endswith(BSON_SUFFIXES):
        collection = unquote(collection, errors="surrogateescape")
    return f"{printable(folder)}.{printable(collection)}"


def printable(text: str) -> str:
    """A name as it can be printed on one line and written as UTF-8: bytes that are not UTF-8
    (a file name's surrogate escapes) as `\\xNN`, control characters as `\\n`, `\\x1b`..."""
    if text.isprintable() and text.isascii():
        return text
    raw = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in raw)


def find_collection_files(source: Path, problems: list[Problem] | None = None) -> list[Path]:
    """Every collection file under `source` (a file, a db folder or a dump root), sorted.

    Folders that cannot be read, symlinks that loop or point nowhere, and folders holding the
    tool's own output (OUTPUT_MARKER) are each one problem in `problems`; the rest is read."""
    problems = [] if problems is None else problems
    if not os.path.lexists(source):
        raise InputError(f"{printable(str(source))}: no such file or directory")
    owner = output_folder_around(source)
    if owner is not None:
        raise InputError(f"{printable(str(source))}: inside {printable(str(owner))}, an output folder of nosql-advisor "
                         f"(it holds {OUTPUT_MARKER}); the tool's own reports are never read back as data")
    if source.is_file():
        if file_kind(source) is None:
            raise InputError(
                f"{printable(str(source))}: not a collection file (expected .bson, .bson.gz, .json, "
                ".json.gz, .ndjson or .jsonl)")
        return [source]
    if not source.is_dir():
        raise InputError(f"{printable(str(source))}: not a regular file or folder (a broken link, a pipe or a device)")
    found = [path for path in walk_files(source, problems) if file_kind(path)]
    if any(p.parent != source for p in found):
        # a dump or export root: its databases are folders; files beside them (oplog.bson, a
        # manifest.json, notes) are not collections
        found = [p for p in found if p.parent != source]
    if not found:
        read = "could be read" if any(p.exit_code for p in problems) else "found"
        raise InputError(f"{printable(str(source))}: no .bson or .json collection files {read} in this directory")
    return sorted(found)


def output_folder_around(source: Path) -> Path | None:
    """The tool's own output folder that `source` is (or is inside), if any."""
    try:
        start = Path(os.path.realpath(source))
        for folder in ([start] if start.is_dir() else []) + list(start.parents):
            if (folder / OUTPUT_MARKER).is_file():
                return folder
    except OSError:
        return None
    return None


def walk_files(root: Path, problems: list[Problem]) -> Iterator[Path]:
    """The regular files under `root`, following symlinked folders once each: a folder reached
    again (a symlink loop, two links to one folder) is a note, not a second visit or a hang."""
    seen: set[tuple[int, int]] = set()
    pending = [root]
    while pending:
        folder = pending.pop()
        identity = _identity(folder, problems)
        if identity is None:
            continue
        if identity in seen:
            problems.append(Problem(printable(str(folder)), "a folder already read (a symlink loop or a "
                                    "second link to it); not read again", EXIT_OK))
            continue
        seen.add(identity)
        entries = _entries(folder, problems)
        if entries is None:
            continue
        if any(entry.name == OUTPUT_MARKER for entry in entries):
            problems.append(Problem(printable(str(folder)), f"holds {OUTPUT_MARKER}: nosql-advisor's own "
                                    "output (--out), not data; skipped", EXIT_OK))
            continue
        folders, files = _split_entries(entries, problems)
        yield from files
        pending.extend(reversed(folders))


def _identity(folder: Path, problems: list[Problem]) -> tuple[int, int] | None:
    try:
        status = folder.stat()
    except OSError as error:
        problems.append(Problem(printable(str(folder)), f"cannot read this folder ({_reason(error)}); skipped"))
        return None
    return status.st_dev, status.st_ino


def _entries(folder: Path, problems: list[Problem]) -> list[os.DirEntry] | None:
    try:
        with os.scandir(folder) as listing:
            return sorted(listing, key=lambda entry: entry.name)
    except OSError as error:
        problems.append(Problem(printable(str(folder)), f"cannot read this folder ({_reason(error)}); skipped"))
        return None


def _split_entries(entries: list[os.DirEntry], problems: list[Problem]) -> tuple[list[Path], list[Path]]:
    """(folders, regular files) of a listing; a broken link to a collection file is a problem,
    pipes and devices are passed over (opening a pipe would wait forever)."""
    folders, files = [], []
    for entry in entries:
        path = Path(entry.path)
        try:
            if entry.is_dir():
                folders.append(path)
            elif entry.is_file():
                files.append(path)
            elif entry.is_symlink() and not path.exists() and file_kind(path):
                problems.append(Problem(printable(entry.path), "a symbolic link to nothing; skipped"))
            elif file_kind(path):
                problems.append(Problem(printable(entry.path), "not a regular file (a pipe, a socket or a "
                                        "device); skipped"))
        except OSError as error:  # a symlink loop on the entry itself, a vanished entry
            problems.append(Problem(printable(entry.path), f"cannot follow ({_reason(error)}); skipped"))
    return folders, files


def _reason(error: OSError) -> str:
    return (error.strerror or str(error)).lower()


@contextmanager
def open_binary(path: Path) -> Iterator[tuple[BinaryIO, Callable[[], int]]]:
    """Open plain or gzipped; also return a function giving the position in the file on disk
    (compressed bytes for .gz), which is what a progress bar over the file size needs."""
    raw = open(path, "rb")
    try:
        if path.name.endswith(".gz"):
            stream: BinaryIO = io.BufferedReader(GzipStream(raw), BLOCK_BYTES)  # type: ignore[assignment]
        else:
            stream = raw
        yield stream, raw.tell
    finally:
        raw.close()


GZIP_MAGIC = b"\x1f\x8b"
GZIP_INPUT = 1 << 16  # compressed bytes per step: a corrupt block loses at most this much


class GzipStream(io.RawIOBase):
    """A gzip stream (several members too) that hands out every byte it could decompress
    before it raises: Python's GzipFile drops what it decompressed in the call that meets a
    truncation, so a small truncated .json.gz read 0 documents. The error (EOFError for a
    stream that ends early, OSError for damage) comes on the read after the last good byte."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self.output = b""
        self.error: Exception | None = None
        self.done = False
        self.empty = True  # an empty file is an empty stream, as gzip(1) and GzipFile read it

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self.output and not self.done and self.error is None:
            self._step()
        if not self.output and self.error is not None:
            error, self.error = self.error, None
            self.done = True
            raise error
        size = min(len(buffer), len(self.output))
        buffer[:size] = self.output[:size]
        self.output = self.output[size:]
        return size

    def _step(self) -> None:
        if self.inflater.eof:
            self._next_member(self.inflater.unused_data)
            return
        data = self.inflater.unconsumed_tail or self.raw.read(GZIP_INPUT)
        if not data:
            self.done = True
            if not self.inflater.eof and not self.empty:
                self.error = EOFError("compressed stream ends early")
            return
        self.empty = False
        try:
            self.output += self.inflater.decompress(data, BLOCK_BYTES)
        except zlib.error as error:
            self.error = OSError(f"damaged compressed data ({error})")

    def _next_member(self, rest: bytes) -> None:
        """Concatenated gzip members are one stream (as gzip(1) reads them); zero padding ends it."""
        rest = rest or self.raw.read(GZIP_INPUT)
        while rest and not rest.strip(b"\0"):
            rest = self.raw.read(GZIP_INPUT)
        if not rest:
            self.done = True
            return
        if not rest.startswith(GZIP_MAGIC[:len(rest)]):
            self.error = OSError("data after the end of the compressed stream is not gzip")
            return
        self.inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            self.output += self.inflater.decompress(rest, BLOCK_BYTES)
        except zlib.error as error:
            self.error = OSError(f"damaged compressed data ({error})")


BLOCK_BYTES = 1 << 20


@dataclass(frozen=True)
class Batch:
    """Whole records (BSON documents, NDJSON lines) from one stretch of a file: the unit one
    process reads (the kind's `raw_batch` makes it a base.RawBatch). On its way to a worker
    process `data` is dropped when the worker can read the same bytes itself at `offset` (a
    plain file), so only four numbers cross."""

    number: int
    offset: int  # in the uncompressed stream
    length: int
    data: bytes | None
    first_line: int = 1  # NDJSON: the number of the batch's first line


Complete = Callable[[bytes, bool], tuple[int, str | None]]


def read_batches(path: Path, problems: list[Problem], advance: Callable[[int], None], complete: Complete,
                 where: Callable[[int], str]) -> Iterator[Batch]:
    """Batches of about BLOCK_BYTES of whole records, in file order. `complete(buffer, at_end)`
    gives how many bytes at the buffer's start are whole records, and a message when reading
    must stop there (a corrupt length, a file ending inside a record); `where(offset)` names the
    place for a problem. A gzip stream that breaks keeps every whole record before the break; the
    caller says how many documents that was (scan.py)."""
    number = offset = 0
    pieces: list[bytes] = []
    held = 0
    with open_binary(path) as (stream, position):
        last = 0
        while True:
            broken = None
            try:
                chunk = stream.read1(BLOCK_BYTES)  # one read at most: what came before a break is kept
            except (EOFError, OSError, zlib.error) as error:
                broken, chunk = error, b""
            if chunk:
                pieces.append(chunk)
                held += len(chunk)
                if held < BLOCK_BYTES:
                    continue
            buffer = b"".join(pieces)
            cut, stop = complete(buffer, not chunk and broken is None)
            if cut:
                yield Batch(number, offset, cut, buffer[:cut])
                number, offset = number + 1, offset + cut
            now = position()
            advance(now - last)
            last = now
            if stop or broken:
                problems.append(Problem(where(offset), stop or stream_error(broken)))
                return
            if not chunk:
                return
            pieces, held = [buffer[cut:]], len(buffer) - cut


def stream_error(error: Exception) -> str:
    return "compressed stream ends early" if isinstance(error, EOFError) else f"cannot read: {error}"


STREAM_FAULTS = (EOFError, OSError, zlib.error)  # what reading a broken or truncated stream raises


def skip_forward(stream: BinaryIO, length: int) -> bool:
    """Pass over `length` bytes of a stream that cannot seek (gzip): decompressed and dropped a
    block at a time, never held whole. Whether the stream held them all."""
    while length > 0:
        piece = stream.read(min(length, BLOCK_BYTES))
        if not piece:
            return False
        length -= len(piece)
    return True


def plain_size(path: Path) -> int | None:
    """The size of a plain file (what a seek may not pass); None for a gzip stream."""
    return None if path.name.endswith(".gz") else path.stat().st_size
