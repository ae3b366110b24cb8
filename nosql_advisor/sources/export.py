"""mongoexport files: Extended JSON (canonical or relaxed), one document per line or a JSON
array (also `--pretty` output: documents spread over several lines), plain or gzipped.

Each NDJSON line is parsed by libbson's Extended JSON parser (MongoDB's `python-bsonjs`) straight
into BSON and goes to inference as raw BSON, like a dump record (`raw_batch`): three times faster
than `bson.json_util`, and the document's BSON size comes for free. A line libbson refuses (JSON's NaN, a byte-order mark,
deeper than its 100 levels, or plainly malformed), or one that may hold `$symbol`, `$undefined`
or `$dbPointer`, goes through `bson.json_util`, which is what decides whether it is valid and
words the error; it travels decoded, in its place in the batch. A bad line is reported with its number and
skipped; the rest of the file is read.

Memory stays bounded whatever the file holds: a line longer than MAX_LINE_BYTES is passed over
by reading to its end without holding it (LineCutter), and a JSON array is cut into its values
as bytes (ValueScanner finds where each ends without parsing it), so neither is ever read whole.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterator
from pathlib import Path

import bson
import bsonjs
from bson import json_util
from bson.codec_options import DatetimeConversion
from bson.errors import BSONError

from nosql_advisor.errors import Problem, ProblemList
from nosql_advisor.sources.base import CODEC_OPTIONS, Advance, Document, RawBatch, joined
from nosql_advisor.sources.files import Batch, open_binary, printable, stream_error
from nosql_advisor.sources.legacy_types import bson_size, loads_json, may_hold_legacy_json

JSON_OPTIONS = json_util.JSONOptions(
    datetime_conversion=DatetimeConversion.DATETIME_AUTO, tz_aware=False
)
CHUNK = 1 << 20
# One NDJSON line or JSON array element longer than this is not a MongoDB document (16 MiB of
# BSON, with room for Extended JSON's longer spelling): it is skipped by reading to its end
# without holding it, so memory stays bounded whatever the file holds.
MAX_LINE_BYTES = 48 << 20
UTF8_BOM = b"\xef\xbb\xbf"

Record = tuple[object, int]  # (the document's JSON bytes or an already decoded document, line number)


def read_export_records(path: Path, problems: list[Problem], advance: Advance,
                        max_line: int = MAX_LINE_BYTES, stops: list[Problem] | None = None) -> Iterator[Record]:
    """Yield one record per document: its JSON text, undecoded until `decode_export_record`
    (so a sample decodes only what it keeps), with the number of the line it starts on. What
    stops the reading (a broken stream, a file ending inside a value) goes to `stops`."""
    stops = problems if stops is None else stops
    if is_ndjson(path):
        for batch in ndjson_batches(path, problems, advance, max_line, stops):
            for number, line in enumerate(batch.data.split(b"\n"), batch.first_line):
                if line and not line.isspace():
                    yield line, number
        return
    yield from _value_records(path, problems, advance, max_line, stops)


def is_ndjson(path: Path) -> bool:
    """One document per line (mongoexport's default), rather than a JSON array or pretty output."""
    with open_binary(path) as (stream, _):
        return _lines_of_objects(_head(stream))


def _head(stream) -> bytes:
    """The file's first bytes: enough for two lines, at most CHUNK (and what came before a break)."""
    pieces: list[bytes] = []
    held = 0
    while held < CHUNK and b"".join(pieces).count(b"\n") < 2:
        try:
            piece = stream.read1(CHUNK)
        except (EOFError, OSError, zlib.error):
            break  # the record reader words the error
        if not piece:
            break
        pieces.append(piece)
        held += len(piece)
    return b"".join(pieces)


def _lines_of_objects(head: bytes) -> bool:
    """NDJSON unless the file opens a JSON array, or its first line is not a whole object and
    the next line does not start one (pretty output: `{` then `  "_id": ...`)."""
    text = head.removeprefix(UTF8_BOM).lstrip()
    if text[:1] == b"[":
        return False
    lines = text.split(b"\n", 2)
    if len(lines) < 2 or lines[0].rstrip().endswith(b"}"):
        return True
    return lines[1].lstrip().startswith(b"{")


def ndjson_batches(path: Path, problems: list[Problem], advance: Advance,
                   max_line: int = MAX_LINE_BYTES, stops: list[Problem] | None = None) -> Iterator[Batch]:
    """The whole NDJSON file in batches of whole lines, each knowing its first line's number.
    A line longer than `max_line` is skipped by reading to its end (named with its number and
    length); a stream that breaks keeps every whole line before the break (the break goes to
    `stops`, default `problems`)."""
    cutter = LineCutter(path, problems, max_line)
    with open_binary(path) as (stream, position):
        last = 0
        for chunk, error in _chunks(stream, min(CHUNK, max_line)):
            yield from cutter.feed(chunk, at_end=not chunk, broken=error is not None)
            now = position()
            advance(now - last)
            last = now
            if error is not None:
                (problems if stops is None else stops).append(Problem(printable(str(path)), stream_error(error)))


# a newline followed by a blank line (what `bytes.isspace` calls blank): starting with a literal, it is
# searched for at memchr speed, where a MULTILINE `^` would be tried at every byte
BEFORE_BLANK_LINE = re.compile(rb"\n(?=[ \t\r\v\f]*\n)")


def count_ndjson_records(path: Path, at_most: int | None = None) -> int:
    """How many records (lines that are not blank) the NDJSON file holds, counted in binary
    chunks without parsing a line; a .gz stream is decompressed on the way. Past `at_most` it
    stops at the end of the chunk (enough to tell a sample from a whole read). Like the reading,
    it stops where a stream breaks (the line it broke in is not a record) and reports nothing
    there: the reading that follows reports it, once. One difference: a line longer than
    MAX_LINE_BYTES is counted here and skipped by the reading, so this can be one over per such line."""
    count, pending = 0, False  # pending: the line the last chunk ended in holds something
    with open_binary(path) as (stream, _):
        for chunk, error in _chunks(stream, CHUNK):
            if not chunk:
                return count + (pending and error is None)
            first, last = chunk.find(b"\n"), chunk.rfind(b"\n")
            if first < 0:
                pending = pending or _has_text(chunk)
                continue
            count += pending or _has_text(chunk[:first])
            lines = chunk.count(b"\n", first + 1, last + 1)  # the whole lines after the first
            count += lines - len(BEFORE_BLANK_LINE.findall(chunk, first, last + 1))
            pending = _has_text(chunk[last + 1:])
            if at_most is not None and count > at_most:
                return count
    return count


def _has_text(line: bytes) -> bool:
    return bool(line) and not line.isspace()


def _chunks(stream, size: int) -> Iterator[tuple[bytes, Exception | None]]:
    """The stream's chunks, then `(b"", None)` at its end or `(b"", error)` where it broke."""
    while True:
        try:
            chunk = stream.read1(size)
        except (EOFError, OSError, zlib.error) as error:
            yield b"", error
            return
        yield chunk, None
        if not chunk:
            return


class LineCutter:
    """Cuts a stream of chunks into batches of about CHUNK bytes of whole lines. It holds at
    most one chunk beyond `max_line`: a line that grows past it is dropped and only counted."""

    def __init__(self, path: Path, problems: list[Problem], max_line: int) -> None:
        self.path, self.problems, self.max_line = printable(str(path)), problems, max_line
        self.number = self.offset = 0  # the next batch's number and offset in the stream
        self.line = 1  # the number of the line starting at `offset`
        self.pieces: list[bytes] = []
        self.held = 0  # bytes in pieces
        self.partial = 0  # bytes of the unfinished last line in pieces
        self.skipping: int | None = None  # bytes of the over-long line being passed over

    def feed(self, chunk: bytes, at_end: bool, broken: bool = False) -> Iterator[Batch]:
        """Take the next chunk (b"" at the end); yield the batches it completes. When the stream
        broke (`broken`), the line it broke in is not a record: only whole lines are kept."""
        if self.skipping is not None:
            chunk = self._pass_over(chunk, at_end)
            if self.skipping is not None:
                return
        first = chunk.find(b"\n")
        line_ends = first if first >= 0 else (len(chunk) if not at_end else -1)
        if line_ends >= 0 and self.partial + line_ends > self.max_line:
            yield from self._emit(self.held - self.partial)
            self._start_skipping(self.partial)
            chunk = self._pass_over(chunk, at_end)
            if self.skipping is not None:
                return
            first = chunk.find(b"\n")
        if chunk:
            self.pieces.append(chunk)
            self.held += len(chunk)
            self.partial = len(chunk) - chunk.rfind(b"\n") - 1 if first >= 0 else self.partial + len(chunk)
        if at_end:
            yield from self._emit(self.held - (self.partial if broken else 0))
        elif self.held >= CHUNK:
            yield from self._emit(self.held - self.partial)

    def _emit(self, length: int) -> Iterator[Batch]:
        """The first `length` bytes held (whole lines) as one batch; the rest stays held."""
        if length <= 0:
            return
        data = b"".join(self.pieces)
        yield Batch(self.number, self.offset, length, data[:length], self.line)
        self.number += 1
        self.offset += length
        self.line += data.count(b"\n", 0, length)
        rest = data[length:]
        self.pieces, self.held = ([rest] if rest else []), len(rest)

    def _start_skipping(self, already: int) -> None:
        self.skipping = already
        self.pieces, self.held, self.partial = [], 0, 0

    def _pass_over(self, chunk: bytes, at_end: bool) -> bytes:
        """Count the skipped line's bytes in `chunk`; once it ends, report it and return the rest."""
        end = chunk.find(b"\n")
        if end < 0 and not at_end:
            self.skipping += len(chunk)
            return b""
        length = self.skipping + (end if end >= 0 else len(chunk))
        self.problems.append(Problem(
            f"{self.path}:{self.line}", f"line of {length:,} bytes is longer than {self.max_line:,} "
            "(no MongoDB document is that large); skipped without reading it"))
        self.offset += length + (1 if end >= 0 else 0)
        self.line += 1
        self.skipping = None
        return chunk[end + 1:] if end >= 0 else b""


def raw_batch(batch: Batch, data: bytes, path: Path) -> RawBatch:
    """A batch of lines as the engine takes it: each line turned into BSON by libbson, the
    non-blank lines counted as records. One search for a legacy form per batch; lines are
    looked at one by one only then."""
    legacy = may_hold_legacy_json(data)
    records = ((line, number) for number, line in enumerate(data.split(b"\n"), batch.first_line)
               if line and not line.isspace())
    return _batch(records, path, legacy)


def record_batches(records: list[Record], path: Path, per_batch: int = 1000) -> Iterator[RawBatch]:
    """Records (a sample's, a JSON array's values) in batches of `per_batch`."""
    for first in range(0, len(records), per_batch):
        yield _batch(records[first:first + per_batch], path)


def value_batches(records: Iterator[Record], path: Path, per_batch: int = 1000) -> Iterator[RawBatch]:
    """A stream of records (a JSON array read whole) in batches of `per_batch`, never held whole."""
    part: list[Record] = []
    for record in records:
        part.append(record)
        if len(part) >= per_batch:
            yield _batch(part, path)
            part = []
    if part:
        yield _batch(part, path)


def _batch(records, path: Path, legacy: bool = True) -> RawBatch:
    """Each record to BSON with libbson; what libbson cannot take (a legacy form json_util reads
    with our hook, NaN, a BOM...) is decoded by decode_export_record as always, in its place, and
    a record that is no document is its problem, with its line number."""
    where = printable(str(path))
    raws: list[bytes] = []
    kept: list[Record] = []
    decoded: list = []
    problems = ProblemList()
    count = 0
    for record in records:
        count += 1
        payload = record[0]
        raw = None
        if isinstance(payload, bytes) and not (legacy and may_hold_legacy_json(payload)):
            raw = line_to_bson(payload)
        if raw is not None:
            raws.append(raw)
            kept.append(record)
            continue
        document = decode_export_record(record, path, problems, legacy=True)
        if document is not None:
            decoded.append((len(raws), *document))
    data, starts = joined(raws)

    def rescue(index: int, why: str):
        """A line libbson took whose BSON does not decode: json_util decides, and words the error."""
        found: list[Problem] = []
        document = decode_export_record(kept[index], path, found, legacy=True)
        return document if document is not None else found[0]

    return RawBatch(data, starts, lambda index: f"{where}:{kept[index][1]}", count, decoded, problems, rescue)


# -- JSON arrays and pretty output: values streamed one by one -----------------------------

STRUCTURE = re.compile(rb'[\[\]{}"]')
STRING_BODY = re.compile(rb'(?:[^"\\]++|\\.)*+', re.DOTALL)  # a string's bytes up to its closing quote
SCALAR_END = re.compile(rb'[\s,\[\]{}"]')


class ValueScanner:
    """Where one JSON value ends, found without parsing it (nesting depth, inside a string or
    not, a pending escape), resumable across chunks: so an element can be cut out of an array
    as bytes, and one too large to hold can be passed over. Bytes are scanned, not text: no
    byte of a UTF-8 multi-byte character is a bracket or a quote."""

    def __init__(self) -> None:
        self.depth = 0
        self.in_string = self.escaped = self.scalar = self.started = False

    def end(self, data, position: int) -> int | None:
        """The index just past the value in `data`, scanning from `position`; None when the
        value goes on past `data` (call again with the next bytes)."""
        size = len(data)
        while position < size:
            if self.escaped:
                position, self.escaped = position + 1, False
            elif self.in_string:
                position = STRING_BODY.match(data, position).end()  # escapes included, in C
                if position >= size:
                    return None
                if data[position] == 0x5C:  # a backslash ending the data: the next byte is escaped
                    position, self.escaped = position + 1, True
                    continue
                position, self.in_string = position + 1, False
                if self.depth == 0:
                    return position
            elif self.scalar:
                found = SCALAR_END.search(data, position)
                return None if found is None else found.start()
            elif not self.started:
                self.started = True
                first = data[position]
                if first in b"{[":
                    self.depth, position = 1, position + 1
                elif first == 0x22:
                    self.in_string, position = True, position + 1
                else:  # a number, true, false, null (or garbage): it ends at the next separator
                    self.scalar, position = True, position + 1
            else:
                found = STRUCTURE.search(data, position)
                if found is None:
                    return None
                position, byte = found.end(), data[found.start()]
                if byte == 0x22:
                    self.in_string = True
                elif byte in b"{[":
                    self.depth += 1
                else:
                    self.depth -= 1
                    if self.depth == 0:
                        return position
        return None


def _value_records(path: Path, problems: list[Problem], advance: Advance, max_value: int,
                   stops: list[Problem]) -> Iterator[Record]:
    """A JSON array (or values one after another, as `--pretty` writes them), value by value."""
    with open_binary(path) as (stream, position):
        values = ValueStream(path, problems, max_value, stops)
        last = 0
        for chunk, error in _chunks(stream, min(CHUNK, max_value)):
            yield from values.feed(chunk, broken=error is not None)
            now = position()
            advance(now - last)
            last = now
            if error is not None:
                stops.append(Problem(printable(str(path)), stream_error(error)))


class ValueStream:
    """Cuts the values out of a stream of chunks: what is held is at most one value being read
    (up to `max_value`) and one chunk; a longer value is passed over and named."""

    def __init__(self, path: Path, problems: list[Problem], max_value: int, stops: list[Problem]) -> None:
        self.path, self.problems, self.max_value, self.stops = printable(str(path)), problems, max_value, stops
        self.buffer = bytearray()
        self.start = 0  # where the value being read (or the next separator) starts in buffer
        self.line = 1  # the line `start` is on
        self.scanner: ValueScanner | None = None
        self.resume = 0  # where the scanner goes on in buffer
        self.skipped: int | None = None  # bytes of the over-long value passed over so far
        self.newlines_passed = 0  # newlines in the part of a skipped value no longer held
        self.started = False  # a first value was seen
        self.in_array = self.closed = False  # the file opened with `[`; its `]` was met

    def feed(self, chunk: bytes, broken: bool = False) -> Iterator[Record]:
        """Take the next chunk (b"" at the end); yield the values it completes. When the stream
        broke, the value it broke in is dropped without a word of its own (the break is the word)."""
        if not chunk:
            yield from self._values(at_end=True, broken=broken)
            return
        if not self.started and not self.buffer:
            chunk = chunk.removeprefix(UTF8_BOM)
        del self.buffer[:self.start]
        self.resume -= self.start
        self.start = 0
        self.buffer += chunk
        yield from self._values(at_end=False)

    def _values(self, at_end: bool, broken: bool = False) -> Iterator[Record]:
        while not self.closed:
            if self.scanner is None:
                if not self._next_value():
                    return
            end = self.scanner.end(self.buffer, self.resume)
            if end is None and at_end and self.scanner.scalar and not broken:
                end = len(self.buffer)
            if end is None:
                self.resume = len(self.buffer)
                if at_end and broken:
                    self.closed = True
                elif at_end:
                    self._stop(f"file ends inside a JSON value of {self._length(len(self.buffer)):,} bytes; stopped")
                elif self._length(len(self.buffer)) > self.max_value:
                    self._pass_over()
                return
            yield from self._value_done(end)

    def _next_value(self) -> bool:
        """Skip separators (white space, commas, the array's brackets); False when the buffer
        holds no start of a value yet."""
        buffer, position = self.buffer, self.start
        while position < len(buffer):
            byte = buffer[position]
            if byte == 0x0A:
                self.line += 1
            elif byte == 0x5B and not self.started:  # the `[` opening the file's array
                self.in_array = self.started = True
            elif byte == 0x5D and self.in_array:  # ]
                self.closed = True
                return False
            elif byte not in b" \t\r,":
                break
            position += 1
        self.start = self.resume = position
        if position >= len(buffer):
            return False
        self.started = True
        self.scanner = ValueScanner()
        return True

    def _value_done(self, end: int) -> Iterator[Record]:
        if self.skipped is not None:
            length = self._length(end)
            self.problems.append(Problem(
                f"{self.path}:{self.line}", f"document of {length:,} bytes of JSON is longer than "
                f"{self.max_value:,} (no MongoDB document is that large); skipped without reading it"))
            self.skipped = None
        else:
            yield bytes(self.buffer[self.start:end]), self.line
        self.line += self.buffer.count(b"\n", self.start, end) + self.newlines_passed
        self.newlines_passed = 0
        self.start = self.resume = end
        self.scanner = None

    def _length(self, end: int) -> int:
        return (self.skipped or 0) + end - self.start

    def _pass_over(self) -> None:
        """Drop what is held of an over-long value, keeping only its length and line count."""
        self.skipped = self._length(len(self.buffer))
        self.newlines_passed += self.buffer.count(b"\n", self.start)
        del self.buffer[:]
        self.start = self.resume = 0

    def _stop(self, message: str) -> None:
        self.stops.append(Problem(f"{self.path}:{self.line}", message))
        self.closed = True


def decode_export_record(record: Record, path: Path, problems: list[Problem],
                         legacy: bool | None = None) -> Document | None:
    """One document from its JSON bytes. `legacy`: whether the text may hold `$symbol`,
    `$undefined` or `$dbPointer` (None: look); only then is it read by json_util with our hook."""
    payload, line = record
    if isinstance(payload, bytes):
        if legacy is None:
            legacy = may_hold_legacy_json(payload)
        # a line that may hold $symbol/$undefined/$dbPointer goes to json_util with our hook, which
        # keeps their types and holds them to Extended JSON's forms (libbson takes {"$undefined": false})
        raw = None if legacy else line_to_bson(payload)
        if raw is not None:
            try:
                return bson.decode(raw, CODEC_OPTIONS), len(raw)
            except (BSONError, ValueError, OverflowError):
                pass  # json_util below decides, and words the error
    try:
        document = loads_json(payload, JSON_OPTIONS) if isinstance(payload, bytes) else payload
    except (ValueError, TypeError, KeyError, OverflowError, BSONError, RecursionError) as error:
        # json_util raises all of these for malformed $-wrappers ($oid "nothex", $date {}...),
        # RecursionError for JSON nested past Python's recursion limit
        message = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
        if isinstance(error, json.JSONDecodeError):  # a value over several lines: the line of the fault
            line += error.lineno - 1
        if isinstance(error, UnicodeDecodeError):
            message = f"not UTF-8: byte 0x{error.object[error.start]:02x} at column {error.start + 1}"
        problems.append(Problem(f"{printable(str(path))}:{line}", f"invalid Extended JSON ({message}); skipped"))
        return None
    if not isinstance(document, dict):
        problems.append(Problem(f"{printable(str(path))}:{line}", f"not a JSON object but {type(document).__name__}; skipped"))
        return None
    try:
        return document, bson_size(document)
    except (BSONError, OverflowError, ValueError, RecursionError) as error:
        problems.append(Problem(f"{printable(str(path))}:{line}", f"document not representable in BSON ({error}); skipped"))
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
    except (ValueError, TypeError, OverflowError):
        return None
    inner = wrapped[7:-1]  # int32 size, type byte, "_\0", the value, the closing 0x00
    if wrapped[4] != 0x03 or int.from_bytes(inner[:4], "little") != len(inner):
        return None
    return inner
