"""Finding collections in files and directories, and opening (possibly gzipped) files.

A namespace is the parent directory's name, a dot, and the file name without its extensions
(`dump/shop/orders.bson.gz` -> `shop.orders`), as mongodump and mongorestore lay them out.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from nosql_advisor.errors import InputError

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
