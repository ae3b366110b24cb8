"""mongoexport files: Extended JSON (canonical or relaxed), one document per line or a JSON
array (also `--pretty` output: documents spread over several lines), plain or gzipped.

Each NDJSON line is parsed by libbson's Extended JSON parser (MongoDB's `python-bsonjs`) straight
into BSON, then decoded like a dump record: three times faster than `bson.json_util`, and the
document's BSON size comes for free. A line libbson refuses (JSON's NaN, a byte-order mark,
deeper than its 100 levels, or plainly malformed) goes through `bson.json_util`, which is what
decides whether it is valid and words the error. A bad line is reported with its number and
skipped; the rest of the file is read.
"""

from __future__ import annotations

import codecs
import json
import zlib
from collections.abc import Iterator
from itertools import chain
from pathlib import Path

import bson
import bsonjs
from bson import json_util
from bson.codec_options import DatetimeConversion
from bson.errors import BSONError

from nosql_advisor.errors import Problem
from nosql_advisor.sources.base import CODEC_OPTIONS, Advance, Document
from nosql_advisor.sources.files import Batch, open_binary, read_batches, stream_error

JSON_OPTIONS = json_util.JSONOptions(
    datetime_conversion=DatetimeConversion.DATETIME_AUTO, tz_aware=False
)
CHUNK = 1 << 20
MAX_VALUE_CHARS = 64 << 20  # one JSON value larger than this is not a MongoDB document
REPORT_EVERY = 1024

Record = tuple[object, int]  # (line bytes or an already decoded document, line number)


def read_export_records(path: Path, problems: list[Problem], advance: Advance) -> Iterator[Record]:
    """Yield one record per document; NDJSON lines stay undecoded until `decode_export_record`
    (so a sample decodes only what it keeps)."""
    with open_binary(path) as (stream, position):
        last = 0
        try:
            head = stream.read(CHUNK)
            records = _records(head, stream, path, problems)
            for count, record in enumerate(records, 1):
                yield record
                if count % REPORT_EVERY == 0:
                    now = position()
                    advance(now - last)
                    last = now
        except (EOFError, OSError, zlib.error) as error:
            problems.append(Problem(str(path), f"{stream_error(error)}; the documents before it were read"))
        finally:
            advance(max(position() - last, 0))


def _records(head: bytes, stream, path: Path, problems: list[Problem]) -> Iterator[Record]:
    if not _lines_of_objects(head):
        return _value_records(head, stream, path, problems)
    return _line_records(head, stream)


def _lines_of_objects(head: bytes) -> bool:
    start = head.lstrip()[:1]
    first_line = head.lstrip().split(b"\n", 1)[0].strip()
    return not (start == b"[" or (start == b"{" and not first_line.endswith(b"}")))


def _line_records(head: bytes, stream) -> Iterator[Record]:
    lines = chain((head + stream.readline()).splitlines(keepends=True), stream)
    for number, line in enumerate(lines, 1):
        if line.strip():
            yield line, number


def is_ndjson(path: Path) -> bool:
    """One document per line (mongoexport's default), rather than a JSON array or pretty output."""
    with open_binary(path) as (stream, _):
        try:
            head = stream.read(CHUNK)
        except (EOFError, OSError, zlib.error):
            return False  # the record reader words the error
    return _lines_of_objects(head)


def ndjson_batches(path: Path, problems: list[Problem], advance: Advance) -> Iterator[Batch]:
    """The whole NDJSON file in batches of whole lines, each knowing its first line's number."""
    line = 1
    for batch in read_batches(path, problems, advance, _whole_lines, lambda _: str(path)):
        yield Batch(batch.number, batch.offset, batch.length, batch.data, line)
        line += batch.data.count(b"\n")


def _whole_lines(buffer: bytes, at_end: bool) -> tuple[int, None]:
    return (len(buffer) if at_end else buffer.rfind(b"\n") + 1), None


def decode_ndjson_batch(batch: Batch, data: bytes, path: Path, problems: list[Problem]) -> tuple[list[Document], int]:
    """The documents of a batch of lines, and how many non-blank lines (records) it held."""
    documents, records = [], 0
    for number, line in enumerate(data.split(b"\n"), batch.first_line):
        if not line or line.isspace():
            continue
        records += 1
        document = decode_export_record((line, number), path, problems)
        if document is not None:
            documents.append(document)
    return documents, records


def _value_records(head: bytes, stream, path: Path, problems: list[Problem]) -> Iterator[Record]:
    """A JSON array or concatenated JSON values, read incrementally with raw_decode."""
    decoder = json.JSONDecoder(object_pairs_hook=_object_pairs_hook)
    text_of = codecs.getincrementaldecoder("utf-8")("replace").decode
    buffer, position, line, eof = text_of(head), 0, 1, False
    while True:
        position, line = _skip_separators(buffer, position, line)
        if position >= len(buffer) and eof:
            return
        if position < len(buffer) and buffer[position] == "]":
            return
        try:
            value, end = decoder.raw_decode(buffer, position)
        except json.JSONDecodeError as error:
            if not eof and len(buffer) - position < MAX_VALUE_CHARS:
                chunk = stream.read(CHUNK)
                eof = not chunk
                buffer = buffer[position:] + text_of(chunk, final=eof)
                position = 0
                continue
            problems.append(Problem(f"{path}:{line + error.doc[position:error.pos].count(chr(10))}",
                                    f"invalid Extended JSON ({error.msg}); stopped reading this file"))
            return
        except (ValueError, TypeError, KeyError, BSONError) as error:  # a malformed $-wrapper
            problems.append(Problem(f"{path}:{line}", f"invalid Extended JSON ({error}); stopped reading this file"))
            return
        yield value, line
        line += buffer.count("\n", position, end)
        position = end


def _skip_separators(buffer: str, position: int, line: int) -> tuple[int, int]:
    while position < len(buffer) and buffer[position] in " \t\r\n,[":
        if buffer[position] == "\n":
            line += 1
        position += 1
    return position, line


def _object_pairs_hook(pairs):
    return json_util.object_pairs_hook(pairs, JSON_OPTIONS)


def decode_export_record(record: Record, path: Path, problems: list[Problem]) -> Document | None:
    payload, line = record
    if isinstance(payload, bytes):
        raw = line_to_bson(payload)
        if raw is not None:
            try:
                return bson.decode(raw, CODEC_OPTIONS), len(raw)
            except (BSONError, ValueError, OverflowError):
                pass  # json_util below decides, and words the error
    try:
        document = json_util.loads(payload, json_options=JSON_OPTIONS) if isinstance(payload, bytes) else payload
    except (ValueError, TypeError, KeyError, OverflowError, BSONError) as error:
        # json_util raises all of these for malformed $-wrappers ($oid "nothex", $date {}...)
        message = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
        problems.append(Problem(f"{path}:{line}", f"invalid Extended JSON ({message}); line skipped"))
        return None
    if not isinstance(document, dict):
        problems.append(Problem(f"{path}:{line}", f"not a JSON object but {type(document).__name__}; skipped"))
        return None
    try:
        return document, len(bson.encode(document))
    except (BSONError, OverflowError, ValueError) as error:
        problems.append(Problem(f"{path}:{line}", f"document not representable in BSON ({error}); skipped"))
        return None


def line_to_bson(line: bytes) -> bytes | None:
    """The BSON of one NDJSON line holding exactly one JSON object, via libbson; None when
    libbson refuses it or it is not exactly one object.

    libbson reads the first JSON value and ignores what follows it (`{"a":1},` or `{"a":1}{"b":2}`
    would pass), and turns a top-level array into a document. Parsing the line as the value of a
    one-key object, `{"_": LINE}`, closes both holes: trailing text makes the wrapper invalid or
    gives it a second key, and the value must then be an embedded document (type 0x03) filling
    the wrapper exactly."""
    try:
        wrapped = bsonjs.loads(b'{"_":' + line + b"}")
    except ValueError:
        return None
    inner = wrapped[7:-1]  # int32 size, type byte, "_\0", the value, the closing 0x00
    if wrapped[4] != 0x03 or int.from_bytes(inner[:4], "little") != len(inner):
        return None
    return inner
