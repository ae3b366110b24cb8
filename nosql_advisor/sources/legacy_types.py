"""Decoding that keeps the three deprecated BSON types PyMongo folds into others.

PyMongo decodes a symbol (0x0E) as a str, undefined (0x06) as None and a DBPointer (0x0C) as a
DBRef, so the shape would call them string, null and object, and a validator generated from it
would reject the very documents it came from. Old drivers wrote these types and production data
still holds them. After the C decoder has done its work, the raw bytes are read again only where
one of these types can be. Each candidate type byte is found at C speed (a regex, or memchr and
a regex anchored there) and must be followed by what such an element needs: a UTF-8 key, its
NUL, then a string length, or the next element, or the documents' ends; its value must fit its
document. Only the documents holding a candidate are walked element by element, exactly, to put
the marker types of bsontypes.py (Symbol, UNDEFINED, DBPointer) in place of the folded values.
Ordinary data pays one scan and a few anchored matches per document (`scripts/bench shape`).
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import accumulate

import bson
import bson.errors
from bson import DBRef, json_util
from bson.codec_options import CodecOptions, TypeEncoder, TypeRegistry

from nosql_advisor.bsontypes import UNDEFINED, DBPointer, Symbol, Undefined

SYMBOL, UNDEFINED_TYPE, DBPOINTER = 0x0E, 0x06, 0x0C
LEGACY = (UNDEFINED_TYPE, DBPOINTER, SYMBOL)

# A key as the decoder accepted it: valid UTF-8 without NUL (a document whose key is not UTF-8
# does not decode, so a candidate whose "key" is not is inside some value).
KEY = rb"(?:[\x01-\x7f]|[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3})*+\x00"
NEXT = rb"[\x01-\x13\x7f\xff]" + KEY  # the next element: a type byte and its key
LENGTH_END = rb"[\x00-\xff]{3}[\x00-\x02]"  # an int32 length under 48 MB (a document's, a string's)
LENGTH = rb"(?!\x00\x00\x00\x00)" + LENGTH_END  # a string value's: 1 byte at least
GATES = {
    # undefined has no value: after NULs closing documents, the next element follows, or the end
    # of the top-level one (the `tail` group: the data ends, or the next document's length
    # follows; checked against the document ends by the caller). All of it a lookahead: a match
    # holds the type byte only, so one inside a false match's "key" is still tried (finditer)
    UNDEFINED_TYPE: re.compile(rb"\x06(?=" + KEY + rb"(?P<nuls>\x00*+)(?:" + NEXT
                               + rb"|(?P<tail>(?=" + LENGTH_END + rb"|\Z))))"),
    SYMBOL: re.compile(rb"\x0e" + KEY + LENGTH),
    DBPOINTER: re.compile(rb"\x0c" + KEY + LENGTH),
}
TYPE_BYTES = {kind: bytes([kind]) for kind in LEGACY}

FIXED_SIZES = {0x01: 8, 0x06: 0, 0x07: 12, 0x08: 1, 0x09: 8, 0x0A: 0, 0x10: 4, 0x11: 8, 0x12: 8,
               0x13: 16, 0x7F: 0, 0xFF: 0}


def decode_one(raw: bytes, codec_options) -> dict:
    """`bson.decode`, with symbol, undefined and DBPointer values kept as their own types."""
    document = bson.decode(raw, codec_options)
    hits = candidates(raw, [0], [len(raw)])
    if hits:
        restore(document, raw, 0, len(raw), hits)
    return document


def decode_many(data: bytes, sizes: Sequence[int], codec_options) -> list[dict]:
    """`bson.decode_all` of whole documents of `sizes` bytes, the deprecated types kept."""
    documents = bson.decode_all(data, codec_options)
    ends = list(accumulate(sizes))
    starts = [0, *ends[:-1]]
    hits = candidates(data, starts, ends)
    if hits:
        first = 0
        while first < len(hits):
            index = bisect_right(starts, hits[first]) - 1
            last = bisect_left(hits, ends[index], first)
            restore(documents[index], data, starts[index], ends[index], hits[first:last])
            first = last
    return documents


DECODE_ERRORS = (bson.errors.BSONError, ValueError, OverflowError, RecursionError)  # what damaged BSON raises


def decode_run(data: bytes, starts: Sequence[int]) -> tuple[list[tuple[int, dict, int]], list[tuple[int, str]]]:
    """The documents of a raw batch (whole documents at `starts`, the last ending with `data`)
    decoded as `(index, document, size)`, and `(index, why)` of those that do not decode: all
    at once in C, else one by one so only a damaged one is left out (infer.ShapeBuilder.add_raw
    does the same; a ValidationTally needs the objects)."""
    from nosql_advisor.sources.base import CODEC_OPTIONS

    ends = [*starts[1:], len(data)]
    sizes = [end - start for start, end in zip(starts, ends)]
    if _framed(data, starts, sizes):  # else decode_all could take two documents for one: each says why
        try:
            body = data if starts[0] == 0 else data[starts[0]:]
            return [(i, d, s) for i, (d, s) in enumerate(zip(decode_many(bytes(body), sizes, CODEC_OPTIONS), sizes))], []
        except DECODE_ERRORS:
            pass
    documents, failures = [], []
    for index, (start, end) in enumerate(zip(starts, ends)):
        try:
            documents.append((index, decode_one(bytes(data[start:end]), CODEC_OPTIONS), end - start))
        except DECODE_ERRORS as error:
            failures.append((index, str(error)))
    return documents, failures


def _framed(data: bytes, starts: Sequence[int], sizes: Sequence[int]) -> bool:
    """Whether each start begins a document whose length prefix is exactly its share of `data`."""
    return bool(starts) and all(size >= 5 and int.from_bytes(data[start:start + 4], "little") == size
                                for start, size in zip(starts, sizes))


def candidates(data: bytes, starts: Sequence[int], ends: Sequence[int]) -> list[int]:
    """Sorted offsets where a symbol, undefined or DBPointer element may start: a superset of the
    real ones (the exact walk decides). Each occurrence of a type byte (memchr) must pass its
    anchored regex, lie past its document's length, and hold a value that fits its document
    and is followed by an element or a document's end."""
    found: list[int] = []
    for match in GATES[UNDEFINED_TYPE].finditer(data):  # 0x06 is common (lengths of 5-byte strings)
        _keep(found, data, match, starts, ends)
    for kind in (DBPOINTER, SYMBOL):  # rarer bytes: memchr, then the regex where one is
        byte, gate = TYPE_BYTES[kind], GATES[kind]
        position = data.find(byte)
        while position >= 0:
            match = gate.match(data, position)
            if match is not None:
                _keep(found, data, match, starts, ends)
            position = data.find(byte, position + 1)
    found.sort()
    return found


def _keep(found: list[int], data: bytes, match: re.Match, starts: Sequence[int], ends: Sequence[int]) -> None:
    position = match.start()
    index = bisect_right(starts, position) - 1
    if _plausible(data, position, match, starts[index], ends[index]):
        found.append(position)


def _plausible(data: bytes, position: int, match: re.Match, start: int, end: int) -> bool:
    if position < start + 4:
        return False
    if data[position] != UNDEFINED_TYPE:
        return match.end() <= end and element_end(data, position, end) > 0
    after = match.end("nuls")
    if after == end:  # NULs closing documents up to the end of the top-level one
        return True
    return match.group("tail") is None and after < end and element_end(data, after, end) > 0


END_BYTES = frozenset(range(0x14)) | {0x7F, 0xFF}  # what follows an element: a type byte or a NUL


def element_end(data: bytes, position: int, end: int) -> int:
    """Where the element at `position` would end if it were one, or -1 when its value does not
    fit before `end` or is not followed by a type byte or a NUL (a local test, not a proof)."""
    key_end = data.find(b"\x00", position + 1, end)
    if key_end < 0:
        return -1
    value, kind = key_end + 1, data[position]
    if kind in FIXED_SIZES:
        stop = value + FIXED_SIZES[kind]
    elif value + 4 > end:
        return -1
    else:
        length = int.from_bytes(data[value:value + 4], "little")
        if kind in (0x03, 0x04, 0x0F):
            stop = value + length
            if length < 5 or stop > end or data[stop - 1] != 0:
                return -1
        elif kind == 0x05:
            stop = value + 5 + length
        elif kind == 0x0B:
            first = data.find(b"\x00", value, end)
            stop = data.find(b"\x00", first + 1, end) + 1 if first >= 0 else 0
            if stop <= 0:
                return -1
        else:
            stop = value + 4 + length + (12 if kind == DBPOINTER else 0)
            text_end = value + 3 + length
            if length < 1 or text_end >= end or data[text_end] != 0:
                return -1
    if stop >= end or data[stop] not in END_BYTES:
        return -1
    return stop


def restore(document: dict, data: bytes, start: int, end: int, hits: Sequence[int]) -> None:
    """Replace the folded values of `document` (decoded from data[start:end]) by Symbol,
    UNDEFINED or DBPointer where the exact walk finds those elements."""
    for path, kind in legacy_elements(data, start, end, hits):
        _replace(document, path, kind)


def legacy_elements(data: bytes, start: int, end: int, hits: Sequence[int]) -> list[tuple[tuple, int]]:
    """(path of keys and array indexes, type byte) of each symbol/undefined/DBPointer element of
    the document data[start:end] that starts at one of the `hits` (a superset of where they
    are): each document or array is walked up to its last hit, and entered only if one lies
    among its elements."""
    found = []
    stack = [(start + 4, end - 1, (), False)]
    while stack:
        position, stop, path, is_array = stack.pop()
        last_hit = _last_hit(hits, position, stop)
        ordinal = 0
        while position <= last_hit:
            kind = data[position]
            key_end = data.index(0, position + 1)
            value = key_end + 1
            if kind in FIXED_SIZES:
                size = FIXED_SIZES[kind]
                if kind == UNDEFINED_TYPE:
                    found.append((path + (_key(data, position, key_end, is_array, ordinal),), kind))
            else:
                length = int.from_bytes(data[value:value + 4], "little")
                if kind == 0x03 or kind == 0x04 or kind == 0x0F:  # documents, arrays, code with scope
                    size = length
                    if kind != 0x0F and _last_hit(hits, value + 4, value + size - 1) >= 0:
                        key = _key(data, position, key_end, is_array, ordinal)
                        stack.append((value + 4, value + size - 1, path + (key,), kind == 0x04))
                elif kind == 0x05:  # binary: length, subtype, bytes
                    size = 5 + length
                elif kind == 0x0B:  # regex: two cstrings
                    size = data.index(0, data.index(0, value) + 1) + 1 - value
                else:  # string, javascript, symbol; DBPointer adds an ObjectId
                    size = 4 + length + (12 if kind == DBPOINTER else 0)
                    if kind == SYMBOL or kind == DBPOINTER:
                        found.append((path + (_key(data, position, key_end, is_array, ordinal),), kind))
            position = value + size
            ordinal += 1
    return found


def _last_hit(hits: Sequence[int], low: int, high: int) -> int:
    """The last of `hits` in [low, high), or -1."""
    index = bisect_left(hits, high) - 1
    return hits[index] if index >= 0 and hits[index] >= low else -1


def _key(data: bytes, position: int, key_end: int, is_array: bool, ordinal: int) -> str | int:
    """An array element is found by its place (the decoder appends in order), a field by name."""
    return ordinal if is_array else data[position + 1:key_end].decode("utf-8")


def _replace(document: dict, path: tuple, kind: int) -> None:
    container: object = document
    try:
        for key in path[:-1]:
            if type(container) is not dict and type(container) is not list:
                return  # inside a DBRef's own fields: the shape does not walk them
            container = container[key]
        if type(container) is not dict and type(container) is not list:
            return
        value = container[path[-1]]
    except (KeyError, IndexError, TypeError):
        return
    if kind == SYMBOL and type(value) is str:
        container[path[-1]] = Symbol(value)
    elif kind == UNDEFINED_TYPE and value is None:
        container[path[-1]] = UNDEFINED
    elif kind == DBPOINTER and isinstance(value, DBRef):
        container[path[-1]] = DBPointer(value.collection, value.id)


class _UndefinedAsNull(TypeEncoder):
    """Encodes UNDEFINED as null: the same size in BSON, for measuring a decoded document."""

    python_type = Undefined

    def transform_python(self, value):
        return None


SIZE_OPTIONS = CodecOptions(type_registry=TypeRegistry([_UndefinedAsNull()]))


def bson_size(document: dict) -> int:
    """The document's size in BSON (a DBPointer measured as the DBRef it decodes to)."""
    return len(bson.encode(document, codec_options=SIZE_OPTIONS))


# -- Extended JSON decoded by json_util (JSON arrays, lines libbson refuses) -------------------

def json_pairs_hook(json_options):
    """An object_pairs_hook for json.loads doing what json_util does, except that `$symbol`,
    `$undefined` and `$dbPointer` keep their types."""
    def hook(pairs):
        if len(pairs) == 1:
            _check_legacy_form(*pairs[0])
        value = json_util.object_pairs_hook(pairs, json_options)
        if len(pairs) == 1:
            key = pairs[0][0]
            if key == "$symbol" and type(value) is str:
                return Symbol(value)
            if key == "$undefined" and value is None:
                return UNDEFINED
            if key == "$dbPointer" and isinstance(value, DBRef):
                return DBPointer(value.collection, value.id)
        return value
    return hook


def _check_legacy_form(key: str, value: object) -> None:
    """Extended JSON's own rules, which json_util does not hold: `$symbol` is a string and
    `$undefined` is `true`. Anything else is not a value the file holds (a bad line, skipped)."""
    if key == "$symbol" and type(value) is not str:
        raise ValueError(f"$symbol must hold a string, not {json.dumps(value)}")
    if key == "$undefined" and value is not True:
        raise ValueError(f"$undefined must be true, not {json.dumps(value)}")


def loads_json(payload: bytes | str, json_options) -> object:
    """`json_util.loads` with the deprecated types kept (json_pairs_hook)."""
    return json.loads(payload, object_pairs_hook=json_pairs_hook(json_options))


# `$symbol`, `$undefined` or `$dbPointer` as a key, any of its letters possibly escaped (libbson
# unescapes keys: `"$\\u0073ymbol"` is `$symbol`); `$` itself escaped is looked for apart
TEXT_FORMS = re.compile(rb'\$(?:symbol"|undefined"|dbPointer"|\\u|s[a-z]{0,5}\\u|u[a-z]{0,8}\\u|d[a-zA-Z]{0,8}\\u)')


def may_hold_legacy_json(text: bytes) -> bool:
    """Whether Extended JSON text can hold one of the three: one regex pass (led by `$`) and
    one search for an escaped `$`."""
    return TEXT_FORMS.search(text) is not None or b"\\u0024" in text
