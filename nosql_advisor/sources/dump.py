"""mongodump directories: `<db>/<coll>.bson[.gz]` with `<coll>.metadata.json[.gz]` beside it.

The .bson file is a plain concatenation of BSON documents, each starting with its int32
length; reading the length first lets a corrupt document be skipped and a truncated file be
reported at its byte offset without losing what came before.
"""

from __future__ import annotations

import gzip
import struct
from collections.abc import Iterator
from pathlib import Path

import bson
from bson import json_util
from bson.errors import BSONError

from nosql_advisor.errors import Problem
from nosql_advisor.sources.base import CODEC_OPTIONS, Advance, Document
from nosql_advisor.sources.files import Batch, read_batches, strip_suffixes

MAX_DOCUMENT_BYTES = 48_000_000  # mongod's maxMessageSizeBytes: nothing real is larger


def read_bson_records(path: Path, problems: list[Problem], advance: Advance) -> Iterator[tuple[bytes, int]]:
    """Yield `(raw_document, byte_offset)` from a .bson or .bson.gz file, one by one (for a
    sample; a whole file is decoded batch by batch, see `bson_batches`)."""
    for batch in bson_batches(path, problems, advance):
        position = 0
        for size in _sizes(batch.data):
            yield batch.data[position:position + size], batch.offset + position
            position += size


def _bad_length(header: bytes, length: int) -> str:
    if len(header) < 4:
        return "file ends inside a document header; the documents before it were read"
    return f"invalid document length {length}: not a BSON file or corrupt from here; stopped reading it"


def decode_bson_record(record: tuple[bytes, int], path: Path, problems: list[Problem]) -> Document | None:
    raw, offset = record
    try:
        return bson.decode(raw, CODEC_OPTIONS), len(raw)
    except (BSONError, ValueError, OverflowError) as error:
        problems.append(Problem(f"{path}@{offset}", f"invalid BSON document skipped: {error}"))
        return None


def bson_batches(path: Path, problems: list[Problem], advance: Advance) -> Iterator[Batch]:
    """The whole file in batches of whole documents (scan_file decodes them, in one process or several)."""
    return read_batches(path, problems, advance, whole_documents, lambda offset: f"{path}@{offset}")


def whole_documents(buffer: bytes, at_end: bool) -> tuple[int, str | None]:
    """Bytes of whole documents at the buffer's start; a message where reading must stop."""
    position, size = 0, len(buffer)
    while position + 4 <= size:
        length = struct.unpack_from("<i", buffer, position)[0]
        if not 5 <= length <= MAX_DOCUMENT_BYTES:
            return position, _bad_length(buffer[position:position + 4], length)
        if position + length > size:
            break
        position += length
    if at_end and position < size:
        rest = buffer[position:]
        if len(rest) < 4:
            return position, _bad_length(rest, 0)
        return position, (f"file ends inside a document ({len(rest)} of {struct.unpack_from('<i', rest)[0]} "
                          "bytes); the documents before it were read")
    return position, None


def decode_bson_batch(batch: Batch, data: bytes, path: Path, problems: list[Problem]) -> tuple[list[Document], int]:
    """The documents of a batch with their sizes, and how many records it held. All at once in
    C; when one is corrupt, one by one, so only that one is skipped (and reported)."""
    sizes = _sizes(data)
    try:
        return list(zip(bson.decode_all(data, CODEC_OPTIONS), sizes)), len(sizes)
    except (BSONError, ValueError, OverflowError):
        pass
    documents, position = [], 0
    for size in sizes:
        document = decode_bson_record((data[position:position + size], batch.offset + position), path, problems)
        if document is not None:
            documents.append(document)
        position += size
    return documents, len(sizes)


def _sizes(data: bytes) -> list[int]:
    """The length of each document of a batch (whole documents, already checked)."""
    sizes, position = [], 0
    while position < len(data):
        size = struct.unpack_from("<i", data, position)[0]
        sizes.append(size)
        position += size
    return sizes


def metadata_path(bson_path: Path) -> Path | None:
    base = strip_suffixes(bson_path.name)
    for name in (f"{base}.metadata.json", f"{base}.metadata.json.gz"):
        candidate = bson_path.with_name(name)
        if candidate.exists():
            return candidate
    return None


def load_metadata(bson_path: Path, problems: list[Problem]) -> tuple[list[dict], dict]:
    """Indexes and collection options (validator included) from mongodump's metadata file."""
    path = metadata_path(bson_path)
    if path is None:
        return [], {}
    try:
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as handle:
            metadata = json_util.loads(handle.read())
    except (OSError, EOFError, ValueError) as error:
        problems.append(Problem(str(path), f"metadata not read ({error}); indexes and options unknown"))
        return [], {}
    if not isinstance(metadata, dict):
        problems.append(Problem(str(path), "metadata is not a JSON object; ignored"))
        return [], {}
    return list(metadata.get("indexes") or []), dict(metadata.get("options") or {})
