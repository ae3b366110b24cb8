"""The native core never reads a damaged document: `values_document_ok` refuses whatever
`bson.decode` refuses, and more (what a Python dict would change: duplicate keys, DBRef-shaped
subdocuments; nesting past the limit), and never reads past the bytes it is given.

A refusal is always safe (Python decodes the document and reports the problem); an acceptance of
a document bson refuses is the bug these tests look for. The damage is built on purpose (lying
lengths, invalid UTF-8, bad booleans, unknown types, truncation) and at random (byte flips of
real corpus documents, or of the demo's when ../shared/corpus is absent), the random part in a
`python -X dev` subprocess so a crash is a failure, not a lost test run.

Run as a script (`python -X dev tests/test_native_damaged.py DOCUMENTS.bson SEED COUNT`) it is that fuzzer.
"""

from __future__ import annotations

import gzip
import json
import random
import re
import struct
import subprocess
import sys
from pathlib import Path

import bson
import pytest
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bson_strategies as bs
from nosql_advisor.sources.legacy_types import DECODE_ERRORS
from nosql_advisor.sources.base import CODEC_OPTIONS
from nosql_advisor.sources.legacy_types import decode_one

core = pytest.importorskip("nosql_advisor._shapecore", reason="the native core is not built")

QUICK = settings(max_examples=200, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
DEPTH = 400  # infer.MAX_WALK_DEPTH: the depth the walker asks for
RAW = CodecOptions(document_class=RawBSONDocument, datetime_conversion=CODEC_OPTIONS.datetime_conversion)


def decodes(raw: bytes) -> bool:
    """The reference: the document its length prefix frames decodes as the shape decodes it."""
    if len(raw) < 4:
        return False
    size = struct.unpack_from("<i", raw)[0]
    if size < 5 or size > len(raw):
        return False
    try:
        decode_one(raw[:size], CODEC_OPTIONS)
    except DECODE_ERRORS:
        return False
    return True


def frame(body: bytes) -> bytes:
    return struct.pack("<i", len(body) + 5) + body + b"\x00"


def element(kind: int, key: bytes, value: bytes) -> bytes:
    return bytes([kind]) + key + b"\x00" + value


def text(data: bytes, length: int | None = None) -> bytes:
    return struct.pack("<i", len(data) + 1 if length is None else length) + data + b"\x00"


def one(kind: int, value: bytes, key: bytes = b"v") -> bytes:
    """A document holding one int32 and then the element under test."""
    return frame(element(0x10, b"a", struct.pack("<i", 1)) + element(kind, key, value))


def cws(code: bytes, scope: bytes, total_delta: int = 0, code_length: int | None = None) -> bytes:
    body = text(code, code_length) + scope
    return struct.pack("<i", len(body) + 4 + total_delta) + body


EMPTY = frame(b"")
OID = bytes(12)

INVALID_UTF8 = {
    "overlong 2": b"\xc0\x80", "overlong 2b": b"\xc1\xbf", "overlong 3": b"\xe0\x80\x80",
    "overlong 3b": b"\xe0\x9f\xbf", "overlong 4": b"\xf0\x80\x80\x80", "overlong 4b": b"\xf0\x8f\xbf\xbf",
    "high surrogate": b"\xed\xa0\x80", "low surrogate": b"\xed\xbf\xbf", "surrogate pair": b"\xed\xa0\xbd\xed\xb8\x80",
    "past U+10FFFF": b"\xf4\x90\x80\x80", "F5 lead": b"\xf5\x80\x80\x80", "FF": b"\xff",
    "lone continuation": b"\x80", "truncated 2": b"\xc3", "truncated 3": b"\xe2\x82", "truncated 4": b"\xf0\x9f\x98",
    "continuation missing": b"\xe2\x28\xa1", "ascii then bad": b"abcdefgh\xc3\x28",
}
VALID_UTF8 = {
    "U+007F": b"\x7f", "U+0080": b"\xc2\x80", "U+07FF": b"\xdf\xbf", "U+0800": b"\xe0\xa0\x80",
    "U+D7FF": b"\xed\x9f\xbf", "U+E000": b"\xee\x80\x80", "U+FFFF": b"\xef\xbf\xbf",
    "U+10000": b"\xf0\x90\x80\x80", "U+10FFFF": b"\xf4\x8f\xbf\xbf", "long ascii": b"abcdefghijklmnopq",
}


def utf8_places(data: bytes) -> dict[str, bytes]:
    """`data` in every place a decoder reads UTF-8."""
    return {
        "key": frame(element(0x10, data, struct.pack("<i", 1))),
        "string": one(0x02, text(data)),
        "string with a NUL": one(0x02, text(b"\x00" + data)),
        "code": one(0x0D, text(data)),
        "symbol": one(0x0E, text(data)),
        "dbpointer namespace": one(0x0C, text(data) + OID),
        "regex pattern": one(0x0B, data + b"\x00i\x00"),
        "regex flags": one(0x0B, b"a\x00" + data + b"\x00"),
        "subdocument key": one(0x03, frame(element(0x0A, data, b""))),
        "code with scope code": one(0x0F, cws(data, EMPTY)),
        "scope key": one(0x0F, cws(b"x", frame(element(0x0A, data, b"")))),
        "array element string": one(0x04, frame(element(0x02, b"0", text(data)))),
    }


@pytest.mark.parametrize("name", INVALID_UTF8)
def test_invalid_utf8_is_refused_wherever_it_is(name):
    for place, raw in utf8_places(INVALID_UTF8[name]).items():
        assert not decodes(raw), (name, place)  # the premise: bson refuses it
        assert not core._test_document_ok(raw, DEPTH), (name, place)


@pytest.mark.parametrize("name", VALID_UTF8)
def test_valid_utf8_at_the_edges_of_the_table_is_read(name):
    for place, raw in utf8_places(VALID_UTF8[name]).items():
        assert decodes(raw), (name, place)
        assert core._test_document_ok(raw, DEPTH), (name, place)


LYING = {
    # document framing
    "prefix under 5": struct.pack("<i", 4) + b"\x00",
    "prefix negative": struct.pack("<i", -1) + b"\x00" * 8,
    "prefix past the data": struct.pack("<i", 50) + b"\x00" * 10,
    "no terminator": frame(element(0x0A, b"a", b""))[:-1] + b"\x01",
    "elements short of the terminator": struct.pack("<i", 9) + b"\x0aa\x00\x00\x00",
    "key runs into the terminator": struct.pack("<i", 8) + b"\x10ab\x00",
    "NUL type inside": frame(b"\x00a\x00" + element(0x0A, b"b", b"")),
    # strings
    "string length 0": one(0x02, struct.pack("<i", 0) + b"\x00"),
    "string length negative": one(0x02, struct.pack("<i", -1) + b"ab\x00"),
    "string length past the document": one(0x02, struct.pack("<i", 50) + b"ab\x00"),
    "string length 2**31-1": one(0x02, struct.pack("<i", 2**31 - 1) + b"ab\x00"),
    "string not NUL-terminated": one(0x02, struct.pack("<i", 3) + b"abc"),
    "string length short": one(0x02, struct.pack("<i", 2) + b"abc\x00"),
    "code length lies": one(0x0D, struct.pack("<i", 9) + b"ab\x00"),
    "symbol length lies": one(0x0E, struct.pack("<i", 0) + b"\x00"),
    "dbpointer without its ObjectId": one(0x0C, text(b"a.b") + bytes(11)),
    # embedded documents and arrays
    "subdocument length 4": one(0x03, struct.pack("<i", 4) + b"\x00"),
    "subdocument length past the parent": one(0x03, struct.pack("<i", 40) + b"\x00"),
    "subdocument without its terminator": one(0x03, struct.pack("<i", 5) + b"\x01"),
    "subdocument shorter than its elements": one(0x03, struct.pack("<i", 6) + b"\x0aa\x00\x00"),
    "array length past the parent": one(0x04, struct.pack("<i", 90) + b"\x00"),
    "array element past the array": one(0x04, struct.pack("<i", 10) + b"\x100\x00" + b"\x01\x00\x00\x00" + b"\x00"),
    "nested lie": one(0x03, frame(element(0x03, b"b", struct.pack("<i", 3) + b"\x00"))),
    # binary
    "binary length past the document": one(0x05, struct.pack("<i", 30) + b"\x00ab"),
    "binary length negative": one(0x05, struct.pack("<i", -5) + b"\x00ab"),
    "binary without its subtype": frame(element(0x05, b"v", struct.pack("<i", 0))),
    "binary subtype 2 inner length long": one(0x05, struct.pack("<i", 6) + b"\x02" + struct.pack("<i", 3) + b"ab"),
    "binary subtype 2 inner length short": one(0x05, struct.pack("<i", 6) + b"\x02" + struct.pack("<i", 1) + b"ab"),
    "binary subtype 2 under 4 bytes": one(0x05, struct.pack("<i", 3) + b"\x02abc"),
    # code with scope
    "cws total long": one(0x0F, cws(b"x", EMPTY, +1)),
    "cws total short": one(0x0F, cws(b"x", EMPTY, -1)),
    "cws total past the document": one(0x0F, cws(b"x", EMPTY, +40)),
    "cws code length 0": one(0x0F, cws(b"", EMPTY, code_length=0)),
    "cws code length past the total": one(0x0F, cws(b"x", EMPTY, code_length=30)),
    "cws scope length under 5": one(0x0F, struct.pack("<i", 4 + 6 + 4) + text(b"x") + struct.pack("<i", 4)),
    "cws scope without terminator": one(0x0F, cws(b"x", struct.pack("<i", 5) + b"\x01")),
    "cws too short for lengths": one(0x0F, struct.pack("<i", 7) + b"\x00\x00\x00"),
    # regex
    "regex without its flags": frame(element(0x0B, b"v", b"abc\x00")),
    "regex without any NUL": struct.pack("<i", 9) + b"\x0bv\x00ab\x00",
    # fixed sizes
    "double cut": frame(element(0x01, b"v", b"\x00" * 7)),
    "date cut": frame(element(0x09, b"v", b"\x00" * 4)),
    "objectid cut": frame(element(0x07, b"v", b"\x00" * 11)),
    "decimal cut": frame(element(0x13, b"v", b"\x00" * 15)),
    "int32 cut": frame(element(0x10, b"v", b"\x00" * 3)),
    "bool missing": struct.pack("<i", 7) + b"\x08v\x00",
}
BAD_BOOLEANS = {f"bool {value}": one(0x08, bytes([value])) for value in (2, 3, 0x7F, 0x80, 0xFF)}
UNKNOWN_TYPES = {f"type {kind:#04x}": one(kind, b"") for kind in (0x00, 0x14, 0x15, 0x20, 0x7E, 0x80, 0xFE)}


@pytest.mark.parametrize("name", [*LYING, *BAD_BOOLEANS, *UNKNOWN_TYPES])
def test_a_document_that_lies_is_refused(name):
    raw = {**LYING, **BAD_BOOLEANS, **UNKNOWN_TYPES}[name]
    assert not decodes(raw), name
    assert not core._test_document_ok(raw, DEPTH), name


def test_truncations_are_refused_and_never_read_past_what_is_given():
    raw = bs.document([("a", bs.string("hello")), ("b", bs.obj([("c", bs.double(1.5)), ("d", bs.arr([bs.int32(1)]))])),
                       ("e", bs.code_with_scope("f()", [("g", bs.int64(2))])), ("h", bs.binary(2, b"xyz"))])
    assert core._test_document_ok(raw, DEPTH)
    for cut in range(len(raw)):
        short = bytes(raw[:cut])  # a fresh object of exactly `cut` bytes: reading past it is visible to -X dev/ASan
        assert not core._test_document_ok(short, DEPTH), cut


def test_the_length_prefix_frames_the_document_within_what_is_available():
    raw = bs.document([("a", bs.int32(1))])
    assert core._test_document_ok(raw + b"trailing bytes of the next document", DEPTH)


# -- what bson decodes and the core still leaves to Python ----------------------------------------


def test_duplicate_keys_are_left_to_python():
    twice = frame(element(0x10, b"a", struct.pack("<i", 1)) + element(0x02, b"a", text(b"x")))
    assert decodes(twice) and bson.decode(twice) == {"a": "x"}  # a dict keeps one: the walk would see two
    assert not core._test_document_ok(twice, DEPTH)
    nested = one(0x03, twice)
    assert decodes(nested) and not core._test_document_ok(nested, DEPTH)


def test_duplicates_among_many_keys_are_found_and_distinct_keys_pass():
    keys = [f"k{number}".encode() for number in range(300)]
    distinct = frame(b"".join(element(0x0A, key, b"") for key in keys))
    assert core._test_document_ok(distinct, DEPTH)
    for repeated in (0, 150, 299):
        raw = frame(b"".join(element(0x0A, key, b"") for key in keys + [keys[repeated]]))
        assert decodes(raw) and not core._test_document_ok(raw, DEPTH), repeated
    prefixes = frame(b"".join(element(0x0A, key, b"") for key in (b"a", b"ab", b"abc", b"b", b"", b"ba")))
    assert core._test_document_ok(prefixes, DEPTH)


def test_array_keys_are_not_fields():
    same_keys = one(0x04, frame(element(0x10, b"0", struct.pack("<i", 1)) * 2))
    odd_keys = one(0x04, frame(element(0x10, b"\xff", struct.pack("<i", 1))))  # bson skips array keys
    for raw in (same_keys, odd_keys):
        assert decodes(raw) and core._test_document_ok(raw, DEPTH)


def test_dbref_shaped_subdocuments_are_left_to_python():
    dbref = bs.document([("r", bs.db_ref("users", 1))])
    ref_only = bs.document([("r", bs.obj([("$ref", bs.int32(1))]))])
    in_array = bs.document([("r", bs.arr([bs.db_ref("users", 1)]))])
    for raw in (dbref, ref_only, in_array):
        assert decodes(raw) and not core._test_document_ok(raw, DEPTH)
    top_level = bs.document([("$ref", bs.string("users")), ("$id", bs.int32(1))])  # no hook at the top
    assert type(decode_one(top_level, CODEC_OPTIONS)) is dict and core._test_document_ok(top_level, DEPTH)


def chain(depth: int, array: bool) -> bytes:
    value = bs.int32(1)
    for _ in range(depth):
        value = bs.arr([value]) if array else bs.obj([("a", value)])
    return bs.document([("a", value)])


@pytest.mark.parametrize("array", [False, True])
def test_nesting_past_max_depth_is_refused(array):
    raw = chain(20, array)
    assert decodes(raw)
    assert core._test_document_ok(raw, 20)
    assert not core._test_document_ok(raw, 19)
    assert not core._test_document_ok(chain(600, array), 1000)  # capped: bson's C recursion has a limit


# -- drawn documents --------------------------------------------------------------------------


def holds_dbref_shape(raw: bytes) -> bool:
    """Whether the document holds a subdocument with a "$ref" key, which bson may turn into a DBRef
    (read with raw documents: no hook, and a DBPointer stays apart), scopes of Code included."""
    def held(value: object) -> bool:
        if isinstance(value, RawBSONDocument):
            return "$ref" in value or any(map(held, value.values()))
        if isinstance(value, list):
            return any(map(held, value))
        if isinstance(value, bson.Code) and value.scope is not None:
            return any(map(held, value.scope.values()))
        return False

    return any(map(held, RawBSONDocument(raw, RAW).values()))


def _members(inner):
    return st.lists(st.tuples(st.sampled_from(["a", "b", "$ref", "$id", "é", ""]), inner), max_size=3,
                    unique_by=lambda pair: pair[0])


nested = st.recursive(bs.scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3).map(bs.arr), _members(inner).map(bs.obj), bs.db_refs,
    st.builds(bs.code_with_scope, st.sampled_from(["", "f()"]), _members(inner))), max_leaves=6)
drawn_documents = st.lists(st.tuples(bs.keys, st.one_of(nested, nested, bs.deep_chains(40))), min_size=1,
                           max_size=5, unique_by=lambda pair: pair[0]).map(bs.document)
DRAWN = settings(QUICK, max_examples=60)


@DRAWN
@given(drawn_documents)
def test_every_drawn_document_is_read_unless_python_must_decide(raw):
    assert decodes(raw)
    assert core._test_document_ok(raw, DEPTH) == (not holds_dbref_shape(raw)), raw.hex()


def damage(raw: bytes, rng: random.Random) -> bytes:
    """A few random edits: byte changes, bit flips, deletions, insertions, length lies."""
    data = bytearray(raw)
    for _ in range(rng.randint(1, 3)):
        if not data:
            break
        at, how = rng.randrange(len(data)), rng.random()
        if how < 0.35:
            data[at] = rng.randrange(256)
        elif how < 0.55:
            data[at] ^= 1 << rng.randrange(8)
        elif how < 0.65:
            del data[at]
        elif how < 0.75:
            data.insert(at, rng.randrange(256))
        elif how < 0.9 and at + 4 <= len(data):  # a length prefix (or anything) off by a little
            old = struct.unpack_from("<i", data, at)[0]
            struct.pack_into("<i", data, at, max(-2**31, min(2**31 - 1, old + rng.choice([-5, -1, 1, 4, 2**20]))))
        else:
            data[at] = rng.choice([0x00, 0x01, 0x02, 0x05, 0x7F, 0x80, 0xC0, 0xED, 0xF4, 0xF5, 0xFF])
    if rng.random() < 0.5 and len(data) >= 4:
        struct.pack_into("<i", data, 0, len(data))  # the outer length right, the damage inside
    return bytes(data)


@DRAWN
@given(drawn_documents, st.integers(0, 2**32 - 1))
def test_damaged_drawn_documents_are_never_accepted_when_bson_refuses_them(raw, seed):
    rng = random.Random(seed)
    for _ in range(20):
        bad = damage(raw, rng)
        if core._test_document_ok(bad, DEPTH):
            assert decodes(bad), bad.hex()
            core._test_elements(bad)


# -- the fuzzer, in its own process -------------------------------------------------------------

def seed_documents(origin: str | Path, limit: int = 600) -> list[bytes]:
    """Real documents: up to `limit` from each dump of the corpus (`origin` its folder), or the demo's."""
    if origin == "demo":
        from nosql_advisor.demo.generate import build_demo

        demo = build_demo(seed=7, scale=0.02)
        return [bson.encode(document) for collection in demo.collections for document in collection.documents]
    found: list[bytes] = []
    for path in sorted(Path(origin, "dumps").glob("*/*/*.bson*")):
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        position, taken = 0, 0
        while position + 4 <= len(data) and taken < limit:
            size = struct.unpack_from("<i", data, position)[0]
            found.append(data[position:position + size])
            position += size
            taken += 1
    return found


def fuzz(path: str, seed: int, count: int) -> int:
    """Damage `count` of the documents in file `path` (concatenated); 1 (and the document, in hex) at
    the first one accepted that bson refuses."""
    data, documents, position = Path(path).read_bytes(), [], 0
    while position < len(data):
        size = struct.unpack_from("<i", data, position)[0]
        documents.append(data[position:position + size])
        position += size
    rng = random.Random(seed)
    accepted = 0
    for _ in range(count):
        raw = damage(rng.choice(documents), rng)
        if core._test_document_ok(raw, DEPTH):
            accepted += 1
            if not decodes(raw):
                print(f"accepted a document bson refuses: {raw.hex()}")
                return 1
            core._test_elements(raw)
    print(f"{count} damaged documents from {len(documents)}, {accepted} accepted, every one decodes")
    return 0


@pytest.fixture(scope="module")
def demo_documents() -> list[bytes]:
    return seed_documents("demo")


def run_fuzzer(documents: list[bytes], count: int, folder: Path) -> None:
    (folder / "seeds.bson").write_bytes(b"".join(documents))
    done = subprocess.run([sys.executable, "-X", "dev", __file__, str(folder / "seeds.bson"), "1", str(count)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (done.returncode, done.stdout[-2000:], done.stderr[-2000:])  # a crash is < 0
    assert "every one decodes" in done.stdout


@pytest.mark.corpus
def test_random_damage_to_corpus_documents_never_gets_past_the_core(corpus, tmp_path):
    run_fuzzer(seed_documents(corpus), 8_000, tmp_path)


def test_random_damage_to_demo_documents_never_gets_past_the_core(demo_documents, tmp_path):
    run_fuzzer(demo_documents, 2_500, tmp_path)


# -- the same problems from both engines --------------------------------------------------------


def damaged_dump(folder: Path, documents: list[bytes], seed: int) -> int:
    """A mongodump folder of one collection, a quarter of its records damaged inside (their length
    prefixes right, so the dump reader hands them on whole); how many of them bson refuses."""
    rng = random.Random(seed)
    records = []
    for _ in range(200):
        raw = rng.choice(documents)
        if rng.random() < 0.25:
            raw = bytearray(damage(raw, rng))
            struct.pack_into("<i", raw, 0, len(raw))
            raw = bytes(raw)
        records.append(raw)
    (folder / "dump" / "shop").mkdir(parents=True)
    (folder / "dump" / "shop" / "things.bson").write_bytes(b"".join(records))
    return sum(not decodes(raw) for raw in records)


def shape_by_engine(folder: Path, engine: str, monkeypatch) -> tuple[int, list[str], list[dict]]:
    from helpers import run_in_process

    monkeypatch.setenv("NOSQL_ADVISOR_ENGINE", engine)
    done = run_in_process("shape", "dump/shop", "--json", cwd=folder)
    shapes = json.loads(done.stdout)
    assert [shape.pop("engine") for shape in shapes] == [engine]  # the engine asked for is the one that ran
    return done.returncode, done.stderr.splitlines(), shapes


@pytest.mark.parametrize("origin", [pytest.param("corpus", marks=pytest.mark.corpus), "demo"])
def test_damaged_dump_records_give_both_engines_the_same_problems(origin, tmp_path, monkeypatch, request):
    if origin == "demo":
        documents = request.getfixturevalue("demo_documents")
    else:
        documents = seed_documents(request.getfixturevalue("corpus"), limit=150)  # absent: skipped, saying so
    refused = damaged_dump(tmp_path, documents, seed=13)
    python = shape_by_engine(tmp_path, "python", monkeypatch)
    native = shape_by_engine(tmp_path, "native", monkeypatch)
    shown = [line for line in python[1] if "invalid BSON document skipped" in line]
    more = [int(found) for line in python[1] for found in re.findall(r"(\d+) more problems not shown", line)]
    assert refused >= 5 and len(shown) + sum(more) == refused, python[1]  # every one counted, the first with
    assert native == python                                                # their offsets and bson's messages


if __name__ == "__main__":
    sys.exit(fuzz(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))  # FILE SEED COUNT
