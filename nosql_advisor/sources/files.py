"""Finding collections in files and directories, and opening (possibly gzipped) files.

A namespace is the parent directory's name, a dot, and the file name without its extensions
(`dump/shop/orders.bson.gz` -> `shop.orders`), as mongodump and mongorestore lay them out.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from nosql_advisor.errors import InputError, Problem

BSON_SUFFIXES = (".bson", ".bson.gz")
EXPORT_SUFFIXES = (".json", ".json.gz", ".ndjson", ".ndjson.gz", ".jsonl", ".jsonl.gz")
METADATA_SUFFIXES = (".metadata.json", ".metadata.json.gz")


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
    return f"{path.resolve().parent.name}.{strip_suffixes(path.name)}"


def find_collection_files(source: Path) -> list[Path]:
    """Every collection file under `source` (a file, a db folder or a dump root), sorted."""
    if not source.exists():
        raise InputError(f"{source}: no such file or directory")
    if source.is_file():
        if file_kind(source) is None:
            raise InputError(
                f"{source}: not a collection file (expected .bson, .bson.gz, .json, .json.gz, "
                ".ndjson or .jsonl)")
        return [source]
    found = [p for p in source.rglob("*") if p.is_file() and file_kind(p)]
    if any(p.parent != source for p in found):
        # a dump or export root: its databases are folders; files beside them (oplog.bson, a
        # manifest.json, notes) are not collections
        found = [p for p in found if p.parent != source]
    if not found:
        raise InputError(f"{source}: no .bson or .json collection files in this directory")
    return sorted(found)


@contextmanager
def open_binary(path: Path) -> Iterator[tuple[BinaryIO, Callable[[], int]]]:
    """Open plain or gzipped; also return a function giving the position in the file on disk
    (compressed bytes for .gz), which is what a progress bar over the file size needs."""
    raw = open(path, "rb")
    try:
        if path.name.endswith(".gz"):
            stream: BinaryIO = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
        else:
            stream = raw
        yield stream, raw.tell
    finally:
        raw.close()


BLOCK_BYTES = 1 << 20


@dataclass(frozen=True)
class Batch:
    """Whole records (BSON documents, NDJSON lines) from one stretch of a file: the unit one
    process decodes. On its way to a worker process `data` is dropped when the worker can read
    the same bytes itself at `offset` (a plain file), so only four numbers cross."""

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
    place for a problem. A gzip stream that breaks keeps every whole record before the break."""
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
                problems.append(Problem(where(offset), stop or f"{stream_error(broken)}; the documents before it were read"))
                return
            if not chunk:
                return
            pieces, held = [buffer[cut:]], len(buffer) - cut


def stream_error(error: Exception) -> str:
    return "compressed stream ends early" if isinstance(error, EOFError) else f"cannot read: {error}"
