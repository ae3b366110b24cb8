"""What the native core knows of one BSON value (nosql_advisor/native/values.c) is what Python knows.

Each property draws raw BSON (tests/bson_strategies.py: every type, the deprecated ones, dates
past datetime's range, NaNs, -0.0, int64 extremes, Decimal128 specials, every binary subtype),
decodes it the way the shape does (`legacy_types.decode_one` with CODEC_OPTIONS) and holds the
core's answer against the reference's: the BSON type name infer.py counts (`_count_kind`), the
Python type the walk buckets by, `stats.stable_hash`, Python's `==`, `zlib.crc32`, Python's
int/float comparison, `stats.Histogram`. Where the core declines (None: "hand it to Python"), it
may only do so for the kinds values.h lists.
"""

from __future__ import annotations

import struct
import zlib

import bson
from collections import Counter, OrderedDict
from datetime import datetime

import pytest
from bson import SON, Binary, Code, DBRef, Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex, Timestamp
from bson.datetime_ms import DatetimeMS
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import bson_strategies as bs
from nosql_advisor.bsontypes import DBPointer, Symbol, Undefined
from nosql_advisor.shape.infer import DECIMAL_BITS, _count_kind
from nosql_advisor.shape.stats import Histogram, stable_hash
from nosql_advisor.sources.base import CODEC_OPTIONS
from nosql_advisor.sources.legacy_types import decode_one

core = pytest.importorskip("nosql_advisor._shapecore", reason="the native core is not built")

QUICK = settings(max_examples=200, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# values.h's value_kind, by the Python type the reference decodes to
KINDS = {float: 0, str: 1, dict: 2, list: 3, bytes: 4, Binary: 5, Undefined: 6, ObjectId: 7, bool: 8,
         datetime: 9, DatetimeMS: 10, type(None): 11, Regex: 12, DBPointer: 13, Code: 14, Symbol: 15,
         int: 16, Timestamp: 17, Int64: 18, Decimal128: 19, MinKey: 20, MaxKey: 21, DBRef: 22}
KIND_DBREF = 22
# the kinds values.h lets the core decline to key or hash (the caller hands them to Python)
DECLINED = (Binary, Undefined, Regex, DBPointer, Code, Symbol, Timestamp, MinKey, MaxKey, DatetimeMS,
            DBRef, dict, list, SON, OrderedDict)


def reference_type_name(value: object) -> str:
    """The name infer.py counts the value under: `_count_kind` of a one-value bucket."""
    counter: Counter = Counter()
    _count_kind(counter, type(value), [value])
    (name,) = counter
    return name


def sketched(value: object) -> object:
    """What the distinct sketch holds for a value (infer.py: a Decimal128 by its bit pair)."""
    return DECIMAL_BITS(value) if type(value) is Decimal128 else value


def declinable(value: object) -> bool:
    return isinstance(value, DECLINED) or (type(value) is float and value != value)


def elements_of(raw: bytes) -> tuple[dict, list[tuple]]:
    decoded = decode_one(raw, CODEC_OPTIONS)
    return decoded, core._test_elements(raw)


containers = st.one_of(
    st.lists(bs.scalars, max_size=4).map(bs.arr),
    st.lists(st.tuples(st.sampled_from(["a", "b", "é", ""]), bs.scalars), max_size=3,
             unique_by=lambda pair: pair[0]).map(bs.obj),
    bs.db_refs,
    st.builds(bs.code_with_scope, bs.texts, st.lists(st.tuples(st.sampled_from(["x", "y"]), bs.scalars),
                                                     max_size=2, unique_by=lambda pair: pair[0])),
)
elements = st.one_of(bs.scalars, bs.scalars, containers)
documents = st.lists(st.tuples(bs.keys, elements), min_size=1, max_size=8,
                     unique_by=lambda pair: pair[0]).map(bs.document)


@QUICK
@given(documents)
def test_every_element_has_the_type_name_kind_and_stable_hash_python_gives(raw):
    decoded, found = elements_of(raw)
    assert [key for _, key, *_ in found] == list(decoded)
    for _, key, kind, type_name, canonical, hashed in found:
        value = decoded[key]
        assert type_name == reference_type_name(value), (key, value)
        assert kind == KINDS[type(value)], (key, value)  # the drawn "$ref" subdocuments are DBRefs
        if hashed is None:
            assert declinable(value), (key, value)
        else:
            assert hashed == stable_hash(sketched(value)), (key, value)
        if canonical is None:
            assert declinable(value), (key, value)


python_values = st.one_of(
    st.integers(bs.INT64_MIN, bs.INT64_MAX), st.integers(bs.INT64_MIN, bs.INT64_MAX).map(Int64), st.floats(),
    st.booleans(), st.none(), st.text(st.characters(blacklist_categories=("Cs",)), max_size=20), st.binary(max_size=20),
    st.datetimes(), st.binary(min_size=12, max_size=12).map(ObjectId),
    st.decimals(allow_nan=True, places=3).filter(lambda d: not d.is_finite() or len(d.as_tuple().digits) <= 34)
    .map(lambda d: Decimal128(str(d))),  # Decimal128 holds 34 digits: more would raise Inexact
    st.builds(Binary, st.binary(max_size=8), st.sampled_from([1, 2, 3, 4, 5, 0x80])),
    st.builds(Regex, st.text(max_size=5).map(lambda t: t.replace("\x00", "")), st.sampled_from(["", "i", "ms"])),
    st.builds(Code, st.text(max_size=5)), st.builds(Code, st.text(max_size=5), st.just({"x": 1})),
    st.builds(Timestamp, st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)), st.just(MinKey()), st.just(MaxKey()),
    st.integers(-(2**62), 2**62).map(DatetimeMS),
    st.lists(st.integers(-5, 5), max_size=3),
    st.dictionaries(st.sampled_from(["a", "b"]), st.integers(-5, 5), max_size=2),
)


field_names = st.text(st.characters(blacklist_categories=("Cs",)), max_size=6).map(lambda t: t.replace("\x00", ""))


@QUICK
@given(st.dictionaries(field_names, python_values, min_size=1, max_size=6))
def test_values_bson_encodes_are_known_as_python_knows_them(document):
    raw = bson.encode(document)
    decoded, found = elements_of(raw)
    for _, key, kind, type_name, canonical, hashed in found:
        value = decoded[key]
        assert (kind, type_name) == (KINDS[type(value)], reference_type_name(value)), (key, value)
        assert hashed == stable_hash(sketched(value)) if hashed is not None else declinable(value), (key, value)
        assert canonical is not None or declinable(value), (key, value)


POOLED_ELEMENTS = st.one_of(bs.pooled, bs.pooled, bs.pooled, bs.scalars)


@QUICK
@given(POOLED_ELEMENTS, POOLED_ELEMENTS)
@example(bs.int32(1), bs.double(1.0))
@example(bs.boolean(True), bs.int64(1))
@example(bs.double(-0.0), bs.int32(0))
@example(bs.double(2.0**53), bs.int64(2**53))
@example(bs.double(2.0**53), bs.int64(2**53 + 1))
@example(bs.double(-(2.0**63)), bs.int64(bs.INT64_MIN))
@example(bs.double(2.0**63), bs.int64(bs.INT64_MAX))
@example(bs.date(0), bs.date(0))
@example(bs.string("x"), bs.binary(0, b"x"))
@example(bs.decimal("1"), bs.decimal("1.0"))
def test_canonical_keys_are_equal_exactly_when_the_decoded_values_are(first, second):
    raw = bs.document([("a", first), ("b", second)])
    decoded, found = elements_of(raw)
    (_, _, _, _, key_a, _), (_, _, _, _, key_b, _) = found
    a, b = sketched(decoded["a"]), sketched(decoded["b"])
    if key_a is None or key_b is None:
        assert declinable(decoded["a"] if key_a is None else decoded["b"])
        return
    assert (key_a == key_b) == (a == b), (a, b)
    if a == b:
        assert hash(a) == hash(b)  # what makes the core's dedup the set's: Python agrees too


@QUICK
@given(st.binary(max_size=300), st.integers(0, 2**32 - 1))
@example(b"", 0)
@example(b"hello world", 0)
@example(b"\xff" * 17, 0xFFFFFFFF)
def test_crc32_is_zlibs(data, start):
    assert core._test_crc32(data, start) == zlib.crc32(data, start)


INT64 = st.one_of(st.integers(bs.INT64_MIN, bs.INT64_MAX),
                  st.sampled_from([bs.INT64_MIN, bs.INT64_MAX, 0, -1, 1, 2**53, 2**53 + 1, -(2**53) - 1,
                                   2**63 - 1024, 2**63 - 512, -(2**63) + 1]))
FLOATS = st.one_of(st.floats(allow_nan=False),
                   st.sampled_from([0.0, -0.0, 2.0**53, 2.0**53 + 2, 2.0**63, -(2.0**63), 2.0**64,
                                    float("inf"), float("-inf"), 0.5, -0.5, 5e-324, 9.223372036854775e18]),
                   INT64.map(float))


@QUICK
@given(INT64, FLOATS)
@example(2**53 + 1, 2.0**53)
@example(2**63 - 1, 2.0**63)
@example(-(2**63), -(2.0**63))
@example(0, -0.0)
@example(-1, -0.5)
def test_int_double_comparison_is_pythons(a, b):
    assert core._test_compare_int_double(a, b) == (a > b) - (a < b)


SIZES = st.one_of(st.integers(0, 1100), st.integers(0, 2**20), st.integers(0, 2**64 - 1),
                  st.sampled_from([1023, 1024, 1025, 2047, 2048, 2**64 - 1]))


@QUICK
@given(st.lists(SIZES, max_size=300))
def test_histogram_is_stats_histogram(values):
    expected = Histogram()
    expected.add_many(values)
    found = core._test_histogram(values)
    if not values:
        assert found is None
        return
    counts, n, total, low, high = found
    assert (dict(counts), n, total, low, high) == (dict(expected.counts), expected.n, expected.total,
                                                  expected.min, expected.max)
    merged = Histogram()  # what the walker does with it: merge into the Python histogram
    merged.counts.update(counts)
    merged.n, merged.total, merged.min, merged.max = n, total, low, high
    assert merged.summary() == expected.summary()


def test_histogram_total_does_not_wrap_at_64_bits():
    values = [2**64 - 1] * 5 + [7]
    counts, n, total, low, high = core._test_histogram(values)
    assert (n, total, low, high) == (6, 5 * (2**64 - 1) + 7, 7, 2**64 - 1)


@QUICK
@given(st.lists(st.one_of(st.binary(max_size=40), st.sampled_from([b"", b"a", b"N\x01" + bytes(7)])),
                max_size=200))
def test_keyset_adds_each_key_once(keys):
    added, size = core._test_keyset(keys)
    seen: set[bytes] = set()
    expected = []
    for key in keys:
        expected.append(key not in seen)
        seen.add(key)
    assert (added, size) == (expected, len(seen))


def test_keyset_grows_past_many_keys_and_copies_them():
    keys = [f"key-{number}".encode() * (number % 7 + 1) for number in range(20_000)]
    added, size = core._test_keyset(keys + keys[::-1])
    assert size == 20_000
    assert added == [True] * 20_000 + [False] * 20_000


# -- the hashes Python computes itself, at their edges --------------------------------------------


@pytest.mark.parametrize("element", [
    bs.double(float("nan")), bs.double(-0.0), bs.double(1e16), bs.double(1e-7), bs.double(5e-324),
    bs.double(float("inf")), bs.double(float("-inf")), bs.double(0.1), bs.double(123456789.0),
    bs.double(9999999999999998.0), bs.double(-9999999999999998.0), bs.double(1e15), bs.double(-1e16),
    bs.double(2.0**53), bs.double(-(2.0**63)), bs.double(2.0**63), bs.double(-3.0), bs.double(1e22),
    bs.int32(bs.INT32_MIN), bs.int64(bs.INT64_MIN), bs.int64(bs.INT64_MAX), bs.int64(-1),
    bs.date(bs.DATETIME_MIN_MS), bs.date(bs.DATETIME_MAX_MS), bs.date(-1), bs.date(-86_400_001),
    bs.binary(0, b""), bs.binary(0, b"'"), bs.binary(0, b"'\""), bs.binary(0, bytes(range(256)) * 3),
    bs.decimal("NaN"), bs.decimal("-Infinity"), bs.decimal_bits(b"\xff" * 16), bs.decimal_bits(bytes(16)),
    bs.NULL, bs.boolean(False), bs.string("𝒳🙂\x00é"),
])
def test_edge_values_hash_as_python_hashes_them(element):
    raw = bs.document([("v", element)])
    decoded, [(_, _, _, _, _, hashed)] = elements_of(raw)
    assert hashed == stable_hash(sketched(decoded["v"]))


def test_dates_just_outside_datetimes_range_are_datetime_ms():
    for millis, kind in ((bs.DATETIME_MIN_MS - 1, DatetimeMS), (bs.DATETIME_MAX_MS + 1, DatetimeMS),
                         (bs.DATETIME_MIN_MS, datetime), (bs.DATETIME_MAX_MS, datetime)):
        raw = bs.document([("d", bs.date(millis))])
        decoded, [(_, _, found_kind, name, _, _)] = elements_of(raw)
        assert type(decoded["d"]) is kind
        assert (found_kind, name) == (KINDS[kind], "date")


def test_a_dbref_shaped_subdocument_is_left_to_python():
    raw = bs.document([("r", bs.db_ref("users", 1_700_000_000)), ("o", bs.obj([("$id", bs.int32(1))]))])
    _, found = elements_of(raw)
    assert [(kind, name) for _, _, kind, name, _, _ in found] == [(KIND_DBREF, "object"), (KINDS[dict], "object")]


def test_code_is_javascript_or_javascript_with_scope_by_its_type_byte():
    raw = bs.document([("c", bs.code("x")), ("s", bs.code_with_scope("x", [])), ("y", bs.symbol("x"))])
    _, found = elements_of(raw)
    assert [(kind, name) for _, _, kind, name, _, _ in found] == [
        (KINDS[Code], "javascript"), (KINDS[Code], "javascriptWithScope"), (KINDS[Symbol], "symbol")]


# -- values_document_native: the walker's narrower acceptance (values_document_ok and its own kinds) --

def _element(type_byte: int, key: bytes, value: bytes) -> bytes:
    return bytes([type_byte]) + key + b"\x00" + value


def _document(*elements: bytes) -> bytes:
    body = b"".join(elements)
    return struct.pack("<i", 4 + len(body) + 1) + body + b"\x00"


def _string(text: bytes) -> bytes:
    return struct.pack("<i", len(text) + 1) + text + b"\x00"


# values the walker does not read itself: values_document_ok reads them, values_document_native not
NOT_WALKED = {
    "undefined": _element(0x06, b"v", b""),
    "regex": _element(0x0B, b"v", b"a\x00i\x00"),
    "dbPointer": _element(0x0C, b"v", _string(b"db.c") + bytes(12)),
    "javascript": _element(0x0D, b"v", _string(b"f()")),
    "symbol": _element(0x0E, b"v", _string(b"s")),
    "timestamp": _element(0x11, b"v", bytes(8)),
    "minKey": _element(0xFF, b"v", b""),
    "maxKey": _element(0x7F, b"v", b""),
    "date past datetime": _element(0x09, b"v", struct.pack("<q", 253402300800000)),
    "date before datetime": _element(0x09, b"v", struct.pack("<q", -62135596800001)),
    "binary subtype 2": _element(0x05, b"v", struct.pack("<i", 5) + b"\x02" + struct.pack("<i", 1) + b"x"),
    "binary subtype 8": _element(0x05, b"v", struct.pack("<i", 1) + b"\x08" + b"x"),
    "top-level $ref": _element(0x02, b"$ref", _string(b"c")),
}


@pytest.mark.parametrize("name", sorted(NOT_WALKED))
def test_values_the_walker_does_not_read_are_refused_by_document_native_only(name):
    raws = [_document(NOT_WALKED[name])]
    if name != "top-level $ref":  # a nested "$ref" document may be a DBRef: document_ok refuses it too
        raws.append(_document(_element(0x03, b"outer", _document(NOT_WALKED[name]))))
    for raw in raws:
        bson.decode(raw, CODEC_OPTIONS)  # a document Python reads
        assert core._test_document_ok(raw, 100) is True, name
        assert core._test_document_ok(raw, 100, True) is False, name


def test_every_kind_the_walker_reads_is_accepted_by_document_native():
    raw = bson.encode({"f": 1.5, "s": "x", "d": {"a": 1}, "l": [1, "a"], "b": b"x", "u": Binary(b"x" * 16, 4),
                       "o": ObjectId(b"abcdefghijkl"), "t": True, "dt": datetime(2020, 1, 1), "n": None, "i": 1,
                       "I": Int64(2), "m": Decimal128("1.5")})
    assert core._test_document_ok(raw, 100, True) is True
    assert core._test_document_ok(raw, 100) is True


def test_document_native_keeps_the_depth_limit_and_duplicate_rule_of_document_ok():
    nested = bson.encode({"a": {"b": {"c": 1}}})  # levels 0 (the top), 1 ("a"), 2 ("b")
    assert core._test_document_ok(nested, 2, True) is True
    assert core._test_document_ok(nested, 1, True) is False
    duplicated = _document(_element(0x10, b"k", struct.pack("<i", 1)), _element(0x10, b"k", struct.pack("<i", 2)))
    assert core._test_document_ok(duplicated, 100, True) is False
