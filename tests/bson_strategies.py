"""Hypothesis strategies for raw BSON: documents over every BSON type, written byte by byte.

The two inference engines must agree on whatever a dump can hold, and a dump holds more than
`bson.encode` writes: the deprecated types (undefined 0x06, dbPointer 0x0C, symbol 0x0E), dates
past datetime's range, non-canonical Decimal128 bits, every binary subtype. So values here are
drawn as `(type byte, value bytes)` elements and documents are framed by `document()`, the way a
server writes them; `bson.decode` is only the judge of what is valid (tests/test_engine_sameness.py
checks that every drawn document decodes, so the strategies cannot silently drift into garbage).

Values are drawn often from a small shared pool (POOL) so equal values of different types meet
at one path (1, 1.0, True, Int64(1), "x" and symbol "x"): that is where an engine keyed on bytes
instead of on Python equality would differ. Batches share a few layouts, so the column walk's
grouping of objects by key sequence is exercised, and some are orders-like (created_at,
updated_at, status, total = Σ price × qty, ObjectId `_id`s over years) so invariants (DM507) and
versions (DM508) have something to find.
"""

from __future__ import annotations

import random
import struct

from bson import Decimal128
from hypothesis import strategies as st

from nosql_advisor.sources.base import joined

Element = tuple[int, bytes]  # (BSON type byte, the value's bytes)

# -- the writer ----------------------------------------------------------------------------------


def document(pairs: list[tuple[str, Element]]) -> bytes:
    """A BSON document of (key, element) pairs, in order (keys as given: "", "a.b", "$x" too)."""
    body = b"".join(bytes([kind]) + key.encode() + b"\x00" + value for key, (kind, value) in pairs)
    return struct.pack("<i", len(body) + 5) + body + b"\x00"


def obj(pairs: list[tuple[str, Element]]) -> Element:
    return 0x03, document(pairs)


def arr(elements: list[Element], keys: list[str] | None = None) -> Element:
    """An array; `keys` other than "0", "1", ... are still an array to the decoder (it ignores them)."""
    names = keys or [str(index) for index in range(len(elements))]
    return 0x04, document(list(zip(names, elements)))


def _text(value: str | bytes) -> bytes:
    data = (value.encode() if isinstance(value, str) else value) + b"\x00"
    return struct.pack("<i", len(data)) + data


def _cstring(value: str) -> bytes:
    return value.encode() + b"\x00"


def double(value: float) -> Element:
    return 0x01, struct.pack("<d", value)


def double_bits(bits: int) -> Element:
    """A double from its 64 bits: NaNs with any payload and sign, subnormals."""
    return 0x01, struct.pack("<Q", bits)


def string(value: str) -> Element:
    return 0x02, _text(value)


def binary(subtype: int, data: bytes) -> Element:
    if subtype == 2:  # the old binary subtype holds its own length again
        data = struct.pack("<i", len(data)) + data
    return 0x05, struct.pack("<i", len(data)) + bytes([subtype]) + data


UNDEFINED: Element = (0x06, b"")


def object_id(seconds: int, rest: int = 0) -> Element:
    return 0x07, struct.pack(">I", seconds) + rest.to_bytes(8, "big")


def boolean(value: bool) -> Element:
    return 0x08, bytes([value])


def date(milliseconds: int) -> Element:
    return 0x09, struct.pack("<q", milliseconds)


NULL: Element = (0x0A, b"")


def regex(pattern: str, flags: str) -> Element:
    return 0x0B, _cstring(pattern) + _cstring(flags)


def db_pointer(namespace: str, seconds: int, rest: int = 0) -> Element:
    return 0x0C, _text(namespace) + object_id(seconds, rest)[1]


def code(source: str) -> Element:
    return 0x0D, _text(source)


def symbol(value: str) -> Element:
    return 0x0E, _text(value)


def code_with_scope(source: str, scope: list[tuple[str, Element]]) -> Element:
    body = _text(source) + document(scope)
    return 0x0F, struct.pack("<i", len(body) + 4) + body


def int32(value: int) -> Element:
    return 0x10, struct.pack("<i", value)


def timestamp(time: int, increment: int) -> Element:
    return 0x11, struct.pack("<II", increment, time)


def int64(value: int) -> Element:
    return 0x12, struct.pack("<q", value)


def decimal(text: str) -> Element:
    return 0x13, Decimal128(text).bid


def decimal_bits(data: bytes) -> Element:
    """Any 16 bytes are a Decimal128 to the decoder: non-canonical forms, NaN payloads."""
    return 0x13, data


MIN_KEY: Element = (0xFF, b"")
MAX_KEY: Element = (0x7F, b"")


def db_ref(collection: str, seconds: int, database: str | None = None) -> Element:
    """A DBRef: an ordinary subdocument whose keys are $ref, $id (and $db); PyMongo decodes it as
    bson.DBRef, MongoDB counts it an object."""
    pairs = [("$ref", string(collection)), ("$id", object_id(seconds))]
    if database is not None:
        pairs.append(("$db", string(database)))
    return obj(pairs)


# -- scalars -------------------------------------------------------------------------------------

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
DATETIME_MIN_MS = -62135596800000  # 0001-01-01: below, PyMongo's DATETIME_AUTO gives DatetimeMS
DATETIME_MAX_MS = 253402300799999  # 9999-12-31T23:59:59.999
YEAR = 365 * 86400

# Equal values of different types, and the values most data holds: drawn often, so that one path
# meets 1, 1.0, True and Int64(1), or "x" and symbol "x", within one batch.
POOL: list[Element] = [
    int32(1), double(1.0), boolean(True), int64(1), decimal("1"), decimal("1.0"),
    int32(0), double(0.0), double(-0.0), boolean(False), int64(0), decimal("0"), decimal("-0"),
    string("x"), symbol("x"), code("x"), string(""), symbol(""),
    NULL, UNDEFINED, double(float("nan")), double(float("inf")), double(float("-inf")),
    int32(INT32_MAX), int64(INT32_MAX), int64(INT32_MAX + 1), double(2.0**53), int64(2**53 + 1),
    object_id(1_700_000_000, 1), string("000000000000000000000001"), date(0), date(-1),
    MIN_KEY, MAX_KEY, binary(0, b"x"), binary(4, bytes(16)), binary(3, bytes(16)),
]
pooled = st.sampled_from(POOL)

texts = st.one_of(
    st.sampled_from(["", "x", "X", "é", "𝒳🙂", "a.b", "$x", " ", "paid", "shipped", "2025-01-01",
                     "ada@example.com", "+44 20 7946 0958", "https://example.com/a?b=c"]),
    st.text(st.characters(codec="utf-8"), max_size=12),  # any code point UTF-8 holds (no surrogates)
    st.text(st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF, codec="utf-8"),
            min_size=1, max_size=4),  # astral only: four UTF-8 bytes, two UTF-16 units each
)
cstrings = texts.map(lambda value: value.replace("\x00", ""))  # keys, regex parts: no NUL

doubles = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(double),
    st.sampled_from([5e-324, -5e-324, 2.2250738585072014e-308, 1e308, -1e308, 1.7976931348623157e308,
                     0.1, 0.5, 3.0, -3.0, 1e15, 1e16, 2.0**63, -(2.0**63), 2.0**64, 123.45, 1e-7]).map(double),
    st.integers(-(2**53), 2**53).map(lambda value: double(float(value))),  # whole doubles equal to ints
    st.integers(0, 2**64 - 1).map(double_bits),  # any bits: NaN payloads, negative NaNs, subnormals
)
int32s = st.one_of(st.integers(INT32_MIN, INT32_MAX), st.sampled_from([INT32_MIN, INT32_MAX, -1, 0, 1])).map(int32)
int64s = st.one_of(st.integers(INT64_MIN, INT64_MAX),
                   st.sampled_from([INT64_MIN, INT64_MAX, INT32_MIN - 1, INT32_MAX + 1, -1, 0, 1, 2**53 + 1])
                   ).map(int64)
DECIMALS = ["1", "1.0", "1.00", "-1.5", "0", "-0", "0E-6176", "0E+6111", "1E+6144", "-1E-6176",
            "9.999999999999999999999999999999999E+6144", "1.000000000000000000000000000000000E-6143",
            "1234567890123456789012345678901234", "0.01", "12.34", "NaN", "-NaN", "sNaN", "Infinity",
            "-Infinity", "1E+300", "1E-300", "5E-324", "1.7976931348623157E+308", "2E+308", "-2E+308"]
decimals = st.one_of(st.sampled_from(DECIMALS).map(decimal),
                     st.decimals(allow_nan=False, allow_infinity=False, places=2,
                                 min_value=-10**6, max_value=10**6).map(lambda d: decimal(str(d))),
                     st.binary(min_size=16, max_size=16).map(decimal_bits))
dates = st.one_of(
    st.integers(DATETIME_MIN_MS, DATETIME_MAX_MS).map(date),
    st.integers(INT64_MIN, INT64_MAX).map(date),  # far past and future: DatetimeMS to PyMongo
    st.sampled_from([DATETIME_MIN_MS, DATETIME_MIN_MS - 1, DATETIME_MAX_MS, DATETIME_MAX_MS + 1, 0, -1,
                     -86400000, 1735689600000, INT64_MIN, INT64_MAX]).map(date),
)
seconds = st.one_of(st.integers(0, 2**32 - 1), st.integers(1_420_000_000, 1_800_000_000))  # 1970-2106; 2015-2027
object_ids = st.builds(object_id, seconds, st.integers(0, 2**64 - 1))
SUBTYPES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 0x80, 0xFF]
binaries = st.one_of(
    st.builds(binary, st.sampled_from(SUBTYPES), st.binary(max_size=20)),
    st.builds(binary, st.sampled_from([3, 4]), st.binary(min_size=16, max_size=16)),  # UUIDs
    st.builds(binary, st.integers(0, 255).filter(lambda subtype: subtype != 2), st.binary(max_size=8)),
)
regexes = st.builds(regex, cstrings, st.sampled_from(["", "i", "m", "x", "s", "u", "l", "ims", "imsux", "lux"]))
timestamps = st.builds(timestamp, st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))
db_pointers = st.builds(db_pointer, st.sampled_from(["shop.users", "a.b", "x"]), seconds, st.integers(0, 99))
db_refs = st.builds(db_ref, st.sampled_from(["users", "orders"]), seconds, st.sampled_from([None, "shop"]))

scalars = st.one_of(
    pooled, pooled, pooled, doubles, texts.map(string), binaries, st.just(UNDEFINED), object_ids,
    st.booleans().map(boolean), dates, st.just(NULL), regexes, db_pointers, texts.map(code),
    texts.map(symbol), int32s, timestamps, int64s, decimals, st.just(MIN_KEY), st.just(MAX_KEY),
)

# The kinds most data holds (double, string, object, array, binary subtype 0, ObjectId, bool, a date
# in datetime's range, null, int32, int64): batches of these alone are walked end to end by the
# native core, where a batch holding any rarer type may be handed to the reference whole.
COMMON_POOL: list[Element] = [
    int32(1), double(1.0), boolean(True), int64(1), int32(0), double(0.0), double(-0.0), boolean(False),
    int64(0), string("x"), string(""), string("1"), NULL, double(float("nan")), double(float("inf")),
    double(float("-inf")), int32(INT32_MAX), int64(INT32_MAX), int64(INT32_MAX + 1), double(2.0**53),
    int64(2**53 + 1), int64(INT64_MIN), object_id(1_700_000_000, 1), string("000000000000000000000001"),
    date(0), date(-1), date(DATETIME_MAX_MS), date(DATETIME_MIN_MS), binary(0, b"x"), binary(0, b""),
]
common_scalars = st.one_of(
    st.sampled_from(COMMON_POOL), st.sampled_from(COMMON_POOL), doubles, texts.map(string),
    st.binary(max_size=20).map(lambda data: binary(0, data)), object_ids, st.booleans().map(boolean),
    st.integers(DATETIME_MIN_MS, DATETIME_MAX_MS).map(date), st.just(NULL), int32s, int64s,
)

# -- keys, objects, arrays -------------------------------------------------------------------

KEYS = ["", "a", "b", "x", "a.b", ".", "..", "$x", "$ref", "$id", "$db", "_id", "é", "𝒳", "items",
        "tags", "name", "0", "1", "tenant_id"]
keys = st.one_of(st.sampled_from(KEYS), cstrings)


COMMON_KEYS = [key for key in KEYS if key != "$ref"]  # a "$ref" key may make a DBRef
common_keys = st.one_of(st.sampled_from(COMMON_KEYS), cstrings.map(lambda key: "ref" if key == "$ref" else key))


def _members(inner, names=keys):
    return st.lists(st.tuples(names, inner), max_size=5, unique_by=lambda pair: pair[0])


values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5).map(arr),  # empty arrays, arrays of arrays, mixed
        st.lists(inner, min_size=1, max_size=3).map(lambda items: arr(items, ["1", "x", ""][:len(items)])),
        st.lists(_members(inner).map(obj), min_size=1, max_size=4).map(arr),  # arrays of objects
        _members(inner).map(obj),
        db_refs,
        st.builds(code_with_scope, texts, _members(inner)),
    ),
    max_leaves=10,
)
common_values = st.recursive(
    common_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5).map(arr),
        st.lists(_members(inner, common_keys).map(obj), min_size=1, max_size=4).map(arr),
        _members(inner, common_keys).map(obj),
    ),
    max_leaves=10,
)


@st.composite
def deep_chains(draw, max_depth: int = 100, common: bool = False):
    """An object/array chain `depth` levels deep (at most 100: MongoDB's limit), each level an
    object under a drawn key or a one- or two-element array, a scalar at the bottom."""
    depth = draw(st.integers(1, max_depth))
    element = draw(common_scalars if common else scalars)
    for level in range(depth - 1):
        if draw(st.booleans()):
            element = obj([(draw(st.sampled_from(["a", "", "b.c", "$d"])), element)])
        else:
            element = arr([element] if level % 3 else [element, draw(st.sampled_from(COMMON_POOL) if common
                                                                      else pooled)])
    return element


# -- documents and batches -------------------------------------------------------------------

ID_FORMS = ["objectid", "objectid", "none", "int", "mixed", "few", "any"]  # few: repeated; any: any value


@st.composite
def layouts(draw, common: bool = False):
    """The keys of one document layout (unique, `_id` left to the batch) and, for each, whether it
    is deep, pooled or free."""
    names = draw(st.lists((common_keys if common else keys).map(lambda key: "id" if key == "_id" else key),
                          max_size=6, unique=True))
    return [(name, draw(st.sampled_from(["free", "free", "pooled", "deep"]))) for name in names]


def _identifier(draw, form: str, number: int) -> Element | None:
    if form == "none":
        return None
    if form == "int" or (form == "mixed" and number % 3 == 1):
        return int32(number)
    if form == "mixed" and number % 3 == 2:
        return string(f"id-{number}")
    if form == "few":
        return [int32(number % 3), double(number % 3), object_id(1_600_000_000, number % 2)][number % 3]
    if form == "any":
        return draw(common_values)
    return draw(object_ids)


@st.composite
def layout_batches(draw, max_documents: int = 20, common: bool = False):
    """Documents sharing one to three layouts (in any order of their keys now and then, as the
    column walk must group them), with `_id`s of one form per batch; `common`: of the common kinds
    only (COMMON_POOL), which the native core walks itself."""
    shapes = draw(st.lists(layouts(common), min_size=1, max_size=3))
    form = draw(st.sampled_from(ID_FORMS))
    count = draw(st.integers(1, max_documents))
    pool = st.sampled_from(COMMON_POOL) if common else pooled
    kinds = {"deep": deep_chains(20, common), "pooled": pool, "free": common_values if common else values}
    # each key's values come from a small palette drawn once (equal values meet, and drawing stays
    # cheap), now and then from a fresh draw
    palettes = {(number, name): draw(st.lists(kinds[kind], min_size=1, max_size=3))
                for number, layout in enumerate(shapes) for name, kind in layout}
    found = []
    for number in range(count):
        which = draw(st.integers(0, len(shapes) - 1))
        pairs = []
        for name, kind in shapes[which]:
            choice = draw(st.integers(0, 9))
            if choice == 0 and kind == "free":  # now and then a layout's key is missing
                continue
            palette = palettes[which, name]
            pairs.append((name, draw(kinds[kind]) if choice == 1 else palette[choice % len(palette)]))
        if len(pairs) > 1 and not draw(st.integers(0, 7)):
            pairs.reverse()  # the same keys in another order
        if pairs and not common and not draw(st.integers(0, 24)):  # a key twice: the decoder keeps the last
            pairs.append((pairs[0][0], draw(st.sampled_from(COMMON_POOL))))
        identifier = _identifier(draw, form, number)
        found.append(document(([("_id", identifier)] if identifier else []) + pairs))
    return found


def order(rng: random.Random, number: int, money: str = "double", start: int = 1_500_000_000) -> bytes:
    """One orders document: created two years apart at most, a version field only in the older
    ones, a total that is Σ price × qty except now and then."""
    created = start + rng.randint(0, 2 * YEAR)
    prices = [rng.randint(100, 99_999) for _ in range(rng.randint(0, 5))]
    quantities = [rng.randint(1, 5) for _ in prices]
    cents = sum(p * q for p, q in zip(prices, quantities)) + (rng.choice([1, 100]) if rng.random() < 0.05 else 0)
    as_decimal = money == "decimal" or (money == "mixed" and rng.random() < 0.5)
    money = (lambda c: decimal(f"{c // 100}.{c % 100:02d}")) if as_decimal else (lambda c: double(c / 100))
    items = [obj([("sku", string(f"S{rng.randint(1, 40)}")), ("price", money(p)), ("qty", int32(q))])
             for p, q in zip(prices, quantities)]
    pairs = [("_id", object_id(created, number)),
             ("tenant_id", string(f"t{rng.randint(1, 4) if rng.random() < 0.8 else 1}")),
             ("status", string(rng.choice(["paid", "paid", "shipped", "cancelled"]))),
             ("created_at", date(created * 1000)),
             ("updated_at", date((created + rng.randint(0, 30 * 86400)) * 1000)),
             ("items", arr(items)), ("total", money(cents))]
    if created < start + YEAR:
        pairs.append(("legacy_code", string(f"L{number}")))  # a field only older documents hold
    if rng.random() < 0.3:
        pairs.append(("schema_version", int32(1 if created < start + YEAR else 2)))
    return document(pairs)


def orders(seed: int, count: int, money: str = "double") -> list[bytes]:
    """`count` orders, their money as doubles, Decimal128 or either ("mixed")."""
    rng = random.Random(seed)
    return [order(rng, number, money) for number in range(count)]


order_batches = st.builds(orders, st.integers(0, 2**32 - 1), st.integers(1, 300),
                          st.sampled_from(["double", "decimal", "mixed"]))


# UTF-8 the decoder refuses: bytes no sequence starts with, overlong forms, UTF-16 surrogates,
# past U+10FFFF, a sequence cut short
BAD_UTF8 = [b"\xff\xfe", b"\x80", b"\xc0\x80", b"\xc1\xbf", b"\xe0\x80\x80", b"\xed\xa0\x80", b"\xed\xbf\xbf",
            b"\xf0\x80\x80\x80", b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xe2\x82", b"a\xe2\x82"]


@st.composite
def damaged_documents(draw):
    """A framed document (its length prefix is right) that does not decode: what a source hands
    on as whole and the decoder refuses: invalid UTF-8 in a value or a key, a bool that is not
    0/1, a string or subdocument length that lies, an unknown type byte, a missing NUL, binary
    subtype 2 whose inner length lies."""
    how = draw(st.sampled_from(["utf8 value", "utf8 key", "utf8 nested", "bool", "string length", "type", "nul",
                                "subdocument length", "binary 2", "scope length"]))
    good = [("a", int32(1))]
    bad = draw(st.sampled_from(BAD_UTF8))
    if how == "utf8 value":
        kind = draw(st.sampled_from([0x02, 0x0D, 0x0E]))  # string, javascript, symbol
        pairs = good + [("s", (kind, struct.pack("<i", len(bad) + 1) + bad + b"\x00"))]
    elif how == "utf8 key":
        body = b"\x10" + bad + b"\x00" + struct.pack("<i", 1)
        return struct.pack("<i", len(body) + 5) + body + b"\x00"
    elif how == "utf8 nested":
        inner = obj([("ok", (0x02, struct.pack("<i", len(bad) + 1) + bad + b"\x00"))])
        pairs = good + [("o", arr([int32(1), inner]))]
    elif how == "bool":
        pairs = good + [("b", (0x08, bytes([draw(st.integers(2, 255))])))]
    elif how == "string length":
        pairs = good + [("s", (0x02, struct.pack("<i", draw(st.sampled_from([0, -1, 50, 2**31 - 1]))) + b"ab\x00"))]
    elif how == "type":
        pairs = good + [("t", (draw(st.sampled_from([0x14, 0x20, 0x80, 0xFE])), b""))]
    elif how == "nul":
        pairs = good + [("s", (0x02, struct.pack("<i", 3) + b"abc"))]
    elif how == "subdocument length":
        kind, inner = obj([("x", int32(1)), ("y", string("z"))])
        lie = draw(st.sampled_from([-2, -1, 1, 3]))
        inner = struct.pack("<i", len(inner) + lie) + inner[4:]
        pairs = good + [("o", (kind, inner)), ("b", int32(2))]
    elif how == "binary 2":
        data = b"abcd"
        lie = draw(st.sampled_from([0, 3, 5, -1]))
        pairs = good + [("bin", (0x05, struct.pack("<i", len(data) + 4) + b"\x02" + struct.pack("<i", lie) + data))]
    else:
        kind, value = code_with_scope("f()", [("k", int32(1))])
        lie = draw(st.sampled_from([-1, 1, 8]))
        pairs = good + [("c", (kind, struct.pack("<i", len(value) + lie) + value[4:]))]
    return document(pairs)


@st.composite
def batches(draw):
    """A raw batch as a source hands it: the documents concatenated and each one's offset."""
    documents = draw(st.one_of(layout_batches(), layout_batches(common=True), order_batches))
    if not draw(st.integers(0, 9)):
        documents = list(documents)
        documents.insert(draw(st.integers(0, len(documents))), draw(damaged_documents()))
    return documents


concatenated = joined  # (data, starts) for `add_raw`, as the sources make them


def with_object_ids(documents: list[bytes], seed: int) -> list[bytes]:
    """The documents with their first element replaced by a fresh ObjectId `_id` (or one put in
    front): copies of a small batch become a large one of distinct documents."""
    rng = random.Random(seed)
    found = []
    for number, raw in enumerate(documents):
        body = raw[4:-1]
        if body[:1] == b"\x07" and body[1:5] == b"_id\x00":
            body = body[5 + 12:]
        fresh = b"\x07_id\x00" + object_id(rng.randint(1_400_000_000, 1_800_000_000), number)[1]
        found.append(struct.pack("<i", len(body) + len(fresh) + 5) + fresh + body + b"\x00")
    return found


def random_scalar(rng: random.Random, kinds: str = "common") -> Element:
    """One scalar of a random kind with a random value over its whole range (doubles from any 64
    bits, ints from every magnitude, dates over datetime's range), for paths holding more distinct
    values than the sketch keeps exactly (512): there the engines hash the values themselves."""
    kind = rng.randrange(10 if kinds == "common" else 14)
    if kind == 0:
        return double_bits(rng.getrandbits(64))
    if kind == 1:
        return double(rng.choice([rng.uniform(-1e6, 1e6), rng.randint(-10**6, 10**6) / 100,
                                  rng.random() * 1e-300, float(rng.randint(-(2**60), 2**60)),
                                  rng.uniform(-1, 1) * 10 ** rng.randint(-30, 30)]))
    if kind == 2:
        return int32(rng.randint(INT32_MIN, INT32_MAX) >> rng.randrange(32))
    if kind == 3:
        return int64(rng.randint(INT64_MIN, INT64_MAX) >> rng.randrange(64))
    if kind == 4:
        return string("".join(chr(rng.choice([rng.randint(32, 126), rng.randint(0xA0, 0xD7FF),
                                                   rng.randint(0x10000, 0x10FFFF)])) for _ in range(rng.randint(0, 8))))
    if kind == 5:
        return date(rng.randint(DATETIME_MIN_MS, DATETIME_MAX_MS) >> rng.randrange(20))
    if kind == 6:
        return object_id(rng.getrandbits(32), rng.getrandbits(64))
    if kind == 7:
        return binary(0, rng.randbytes(rng.randint(0, 12)))
    if kind == 8:
        return boolean(rng.random() < 0.5)
    if kind == 9:
        return rng.choice([NULL, double(float("nan")), int32(rng.randint(-5, 5)), double(rng.randint(-5, 5))])
    if kind == 10:
        return decimal_bits(rng.randbytes(16))
    if kind == 11:
        return symbol(str(rng.randint(0, 10**6)))
    if kind == 12:
        return date(rng.randint(INT64_MIN, INT64_MAX))
    return binary(rng.choice([1, 3, 4, 5, 0x80]), rng.randbytes(16))


def many_distinct(seed: int, count: int, kinds: str = "common") -> list[bytes]:
    """`count` documents whose `v`, `a` (an array of two) and `s` (a string) take distinct values."""
    rng = random.Random(seed)
    found = []
    for number in range(count):
        pairs = [("_id", object_id(1_400_000_000 + rng.getrandbits(28), number)), ("v", random_scalar(rng, kinds)),
                 ("a", arr([random_scalar(rng, kinds), random_scalar(rng, kinds)])), ("s", string(f"{rng.random()}"))]
        found.append(document(pairs))
    return found
