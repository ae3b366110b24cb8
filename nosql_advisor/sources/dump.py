"""mongodump directories: `<db>/<coll>.bson[.gz]` with `<coll>.metadata.json[.gz]` beside it.

The .bson file is a plain concatenation of BSON documents, each starting with its int32
length; reading the length first lets a corrupt document be skipped and a truncated file be
reported at its byte offset without losing what came before.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from pathlib import Path

from bson import json_util
from bson.errors import BSONError

from nosql_advisor.errors import Problem
from nosql_advisor.schema.dialect import check_schema
from nosql_advisor.sources.base import CODEC_OPTIONS, Advance, Document, RawBatch, document_starts, joined
from nosql_advisor.sources.files import (STREAM_FAULTS, Batch, open_binary, plain_size, printable, read_batches,
                                         skip_forward, strip_suffixes)
from nosql_advisor.sources.legacy_types import decode_one

MAX_DOCUMENT_BYTES = 48_000_000  # mongod's maxMessageSizeBytes: nothing real is larger


def read_bson_records(path: Path, problems: list[Problem], advance: Advance,
                      stops: list[Problem] | None = None) -> Iterator[tuple[bytes, int]]:
    """Yield `(raw_document, byte_offset)` from a .bson or .bson.gz file, one by one (what a
    file sample draws from; a whole file goes batch by batch, see `bson_batches`)."""
    for batch in bson_batches(path, problems, advance, stops):
        data = batch.data
        ends = [*(starts := document_starts(data))[1:], len(data)]
        for start, end in zip(starts, ends):
            yield data[start:end], batch.offset + start


def _bad_length(header: bytes, length: int) -> str:
    if len(header) < 4:
        return "file ends inside a document header"
    return f"invalid document length {length}: not a BSON file or corrupt from here; stopped reading it"


def decode_bson_record(record: tuple[bytes, int], path: Path, problems: list[Problem]) -> Document | None:
    raw, offset = record
    try:
        return decode_one(raw, CODEC_OPTIONS), len(raw)
    except (BSONError, ValueError, OverflowError, RecursionError) as error:
        problems.append(Problem(f"{printable(str(path))}@{offset}", f"invalid BSON document skipped: {error}"))
        return None


def bson_batches(path: Path, problems: list[Problem], advance: Advance,
                 stops: list[Problem] | None = None) -> Iterator[Batch]:
    """The whole file in batches of whole documents (raw_batch makes each one the engine's, in
    one process or several: filesource.py). What stops the reading (a corrupt length, a truncation) goes to `stops` (default:
    `problems`)."""
    where = printable(str(path))
    return read_batches(path, problems if stops is None else stops, advance, whole_documents,
                        lambda offset: f"{where}@{offset}")


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
        return position, f"file ends inside a document ({len(rest)} of {struct.unpack_from('<i', rest)[0]} bytes)"
    return position, None


def count_bson_records(path: Path, at_most: int | None = None) -> int:
    """How many whole documents the file holds (no more than `at_most` are counted: enough to
    tell a sample from a whole read), from their int32 length prefixes alone: each body is
    sought past (a .gz stream is decompressed and dropped), nothing is decoded. It stops where
    `bson_batches` stops reading (a length no document has, a file or stream ending inside a
    document) and reports nothing there: the reading that follows reports it, once."""
    size = plain_size(path)
    if size is not None:
        with open(path, "rb", buffering=1 << 16) as stream:  # most seeks stay inside the buffer
            return _count_lengths(stream, lambda length: stream.seek(length, 1) <= size, at_most)
    with open_binary(path) as (stream, _):
        return _count_lengths(stream, lambda length: skip_forward(stream, length), at_most)


def _count_lengths(stream, skip, at_most: int | None) -> int:
    """Whole documents from here on; `skip(n)` passes over n bytes and says whether they were there."""
    count, read, unpack = 0, stream.read, struct.Struct("<i").unpack
    at_most = -1 if at_most is None else at_most
    try:
        while count != at_most:
            header = read(4)
            if len(header) < 4:
                return count
            length = unpack(header)[0]
            if not 5 <= length <= MAX_DOCUMENT_BYTES or not skip(length - 4):
                return count
            count += 1
        return count
    except STREAM_FAULTS:  # a gzip stream that breaks: the documents before the break are read
        return count


def raw_batch(batch: Batch, data: bytes, path: Path) -> RawBatch:
    """A stretch of the file as the engine takes it: its bytes are already whole documents."""
    where = printable(str(path))
    starts = document_starts(data)
    return RawBatch(data, starts, lambda index: f"{where}@{batch.offset + starts[index]}", len(starts))


def record_batches(records: list[tuple[bytes, int]], path: Path, per_batch: int = 1000) -> Iterator[RawBatch]:
    """Raw records drawn by a sample (`(bytes, offset)`), in batches of `per_batch`."""
    where = printable(str(path))
    for first in range(0, len(records), per_batch):
        part = records[first:first + per_batch]
        data, starts = joined([raw for raw, _ in part])
        offsets = [offset for _, offset in part]
        yield RawBatch(data, starts, lambda index, offsets=offsets: f"{where}@{offsets[index]}", len(part))


def metadata_path(bson_path: Path) -> Path | None:
    base = strip_suffixes(bson_path.name)
    for name in (f"{base}.metadata.json", f"{base}.metadata.json.gz"):
        candidate = bson_path.with_name(name)
        try:
            if candidate.exists():
                return candidate
        except OSError:  # a name too long for the filesystem once ".metadata.json.gz" is added
            continue
    return None


VALIDATION_SETTINGS = {"validationLevel": ("off", "strict", "moderate"),
                       "validationAction": ("error", "warn", "errorAndLog")}
_NULL = object()  # a metadata file holding `null` (None means: already reported, not read)
MAX_METADATA_BYTES = 16 << 20  # mongodump's metadata is a few KB; more is not metadata


def load_metadata(bson_path: Path, problems: list[Problem]) -> tuple[list[dict], dict, bool]:
    """Indexes and collection options (validator included) from mongodump's metadata file, and
    whether they are known. A file that cannot be read or is not the shape mongodump writes is
    one problem naming the file and what is wrong; what is sound in it is still used."""
    path = metadata_path(bson_path)
    if path is None:
        return [], {}, False
    metadata = _read_metadata(path, problems)
    if metadata is None:
        return [], {}, False
    if metadata is _NULL:
        problems.append(Problem(printable(str(path)), "metadata is JSON null, not an object; indexes and options unknown"))
        return [], {}, False
    where = printable(str(path))
    if not isinstance(metadata, dict):
        problems.append(Problem(where, f"metadata is a JSON {_json_type(metadata)}, not an object; "
                                "indexes and options unknown"))
        return [], {}, False
    indexes, indexes_known = _indexes(metadata.get("indexes", []), where, problems)
    options, options_known = _options(metadata.get("options", {}), where, problems)
    return indexes, options, indexes_known and options_known


def _read_metadata(path: Path, problems: list[Problem]) -> object | None:
    where = printable(str(path))
    try:
        with open_binary(path) as (stream, _):
            data = stream.read(MAX_METADATA_BYTES + 1)
        if len(data) > MAX_METADATA_BYTES:
            problems.append(Problem(where, f"metadata larger than {MAX_METADATA_BYTES:,} bytes: not what "
                                    "mongodump writes; not read, indexes and options unknown"))
            return None
        value = json_util.loads(data.decode("utf-8"))
        return _NULL if value is None else value
    except (OSError, EOFError) as error:
        reason = "compressed stream ends early" if isinstance(error, EOFError) else (error.strerror or str(error)).lower()
        problems.append(Problem(where, f"metadata not read ({reason}); indexes and options unknown"))
    except (ValueError, TypeError, KeyError, OverflowError, BSONError, RecursionError) as error:
        message = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
        problems.append(Problem(where, f"metadata is not valid Extended JSON ({message}); indexes and options unknown"))
    return None


def _indexes(value: object, where: str, problems: list[Problem]) -> tuple[list[dict], bool]:
    """The sound index entries, and whether the list itself was there (a bad entry is skipped,
    with a problem; the others are still known)."""
    if not isinstance(value, list):
        problems.append(Problem(where, f"'indexes' is a JSON {_json_type(value)}, not a list; indexes unknown"))
        return [], False
    indexes = []
    for number, index in enumerate(value):
        if not isinstance(index, dict):
            problems.append(Problem(where, f"indexes[{number}] is a JSON {_json_type(index)}, not an object; skipped"))
        elif not isinstance(index.get("key"), dict) or not index["key"]:
            problems.append(Problem(where, f"indexes[{number}] has no 'key' object; skipped"))
        elif not all(isinstance(direction, (int, float, str)) and not isinstance(direction, bool)
                     for direction in index["key"].values()):
            problems.append(Problem(where, f"indexes[{number}]'s key holds a direction that is neither a "
                                    "number nor a string; skipped"))
        elif not isinstance(index.get("name", ""), str):
            problems.append(Problem(where, f"indexes[{number}]'s 'name' is not a string; skipped"))
        else:
            indexes.append(index)
    return indexes, True


def _options(value: object, where: str, problems: list[Problem]) -> tuple[dict, bool]:
    if not isinstance(value, dict):
        problems.append(Problem(where, f"'options' is a JSON {_json_type(value)}, not an object; "
                                "collection options (the validator) unknown"))
        return {}, False
    options = dict(value)
    known = True
    for key, allowed in VALIDATION_SETTINGS.items():
        if key in options and options[key] not in allowed:
            problems.append(Problem(where, f"options.{key} is {json_util.dumps(options[key])[:60]}, not one of "
                                    f"{', '.join(allowed)}; ignored"))
            del options[key]
            known = False
    if "validator" not in options:
        return options, known
    issue = _validator_issue(options["validator"])
    if issue is None:
        return options, known
    problems.append(Problem(where, f"options.validator {issue}; the validator is ignored"))
    del options["validator"]
    return options, False


def _validator_issue(validator: object) -> str | None:
    """What makes a validator unusable (None: it is usable): not an object, or a $jsonSchema
    mongod would refuse."""
    if not isinstance(validator, dict):
        return f"is a JSON {_json_type(validator)}, not an object"
    parts = validator.get("$and") if list(validator) == ["$and"] else [validator]
    if not isinstance(parts, list) or not all(isinstance(part, dict) for part in parts):
        return "'$and' is not a list of objects"
    for part in parts:
        if "$jsonSchema" in part:
            issues = check_schema(part["$jsonSchema"])
            if issues:
                return f"$jsonSchema is not valid at {issues[0].pointer}: {issues[0].message}"
    return None


def _json_type(value: object) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number" if isinstance(value, (int, float)) else type(value).__name__)
