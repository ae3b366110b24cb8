"""The native walk gives the reference's shape: NativeShapeBuilder and infer.ShapeBuilder fed the same
raw-BSON batches give byte-identical shapes, rows, invariants and evolution, and the same problems.

Each case is built to exercise one part of the port (the order kinds are met in, the path cap, the
distinct sketch past its exact phase, Decimal128 ends, legacy types handed to Python, ...), and
checks that the walker itself read the documents it should (`walked`), so a silent fallback to
Python everywhere would fail here too.
"""

from __future__ import annotations

import json
import pickle
import random
import struct
from datetime import datetime, timedelta

import bson
import pytest
from bson import Binary, Code, Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex, Timestamp

pytest.importorskip("nosql_advisor._shapecore", reason="the native core is not built (no C compiler)")

from nosql_advisor.shape.infer import FLUSH_EVERY, ShapeBuilder  # noqa: E402
from nosql_advisor.shape.native import NativeShapeBuilder, new_walker  # noqa: E402
from nosql_advisor.sources.base import joined  # noqa: E402

BASE = datetime(2024, 1, 1)


batch = joined  # a raw batch as every source hands one: the documents and where each starts


def encoded(documents: list[dict]) -> list[bytes]:
    return [bson.encode(document) for document in documents]


def everything(shape) -> str:
    """The whole result, as a test can compare it: to_dict() and what it leaves out."""
    data = shape.to_dict()
    data["rows"] = repr(shape.rows)
    data["invariants"] = repr(shape.invariants)
    data["evolution"] = repr(shape.evolution)
    data["fingerprints"] = repr([(field.path, field.fingerprints) for field in shape.fields])
    return json.dumps(data, sort_keys=True, default=str)


def both(raws: list[bytes], per_batch: int = 1000, decoded: list[dict] = (), **options):
    """(reference builder, native builder, reference problems, native problems) after the same
    batches (and the same decoded documents, added after the first batch)."""
    results = []
    for kind in (ShapeBuilder, NativeShapeBuilder):
        builder = kind("db.c", **options)
        problems = []
        for first in range(0, len(raws), per_batch):
            problems.append(builder.add_raw(*batch(raws[first:first + per_batch])))
            if first == 0:
                for document in decoded:  # as a JSON source adds them (its own size estimate)
                    builder.add(document, 64)
        results.append((builder, problems))
    (python, python_problems), (native, native_problems) = results
    return python, native, python_problems, native_problems


def assert_same(raws: list[bytes], native_chunks: int | None = None, **options) -> NativeShapeBuilder:
    python, native, python_problems, native_problems = both(raws, **options)
    assert native.engine == "native" and python.engine == "python"
    assert everything(native.finish(len(raws))) == everything(python.finish(len(raws)))
    assert native_problems == python_problems
    if native_chunks is not None:
        assert native.walked["native"] == native_chunks
    return native


def orders(count: int, seed: int = 1) -> list[dict]:
    """Documents like an orders collection: ObjectId ids over a year, nested objects, arrays of
    objects, a Decimal128 price, dates, a tenant key, a field that is sometimes absent."""
    rng = random.Random(seed)
    documents = []
    for i in range(count):
        document = {
            "_id": ObjectId.from_datetime(BASE + timedelta(hours=i)),
            "tenant_id": rng.choice(["t1", "t2", "t3"]),
            "number": i,
            "status": rng.choice(["new", "paid", "shipped"]),
            "created_at": BASE + timedelta(seconds=rng.randint(0, 10**7)),
            "updated_at": BASE + timedelta(seconds=rng.randint(0, 10**7)),
            "customer": {"name": f"c{rng.randint(0, 5000)}", "address": {"city": rng.choice(["Leeds", "Lyon"])}},
            "items": [{"sku": f"s{rng.randint(0, 900)}", "qty": rng.randint(1, 5),
                       "price": Decimal128(f"{rng.randint(0, 999)}.{rng.randint(0, 99):02d}"),
                       "tags": ["eco", "new"][:rng.randint(0, 2)]} for _ in range(rng.randint(0, 2))],
            "total": rng.choice([rng.random() * 500, float(rng.randint(0, 9)), rng.randint(0, 9)]),
        }
        if i % 7 == 0:
            del document["status"]
        if i % 11 == 0:  # the same keys in another order
            document = dict(reversed(list(document.items())))
        documents.append(document)
    return documents


# -- the walk itself -------------------------------------------------------------------------------

def test_an_orders_like_collection_in_three_chunks_is_walked_natively_and_gives_the_same_shape():
    raws = encoded(orders(12_000))
    native = assert_same(raws, per_batch=700, native_chunks=3)  # 12,000 documents: 5,000 + 5,000 + 2,000
    assert native.walked["python"] == 0


def test_tenant_counts_enums_and_the_distinct_sketch_past_exact_are_the_same():
    raws = encoded(orders(3000, seed=2))
    native = assert_same(raws, enum_limit=10, count_values=frozenset({"tenant_id", "status", "items"}))
    names = {node.path: node for node in native.nodes}
    assert names["customer.name"].distinct.exact is None  # past 512 distinct names: the sketch's bottom-k
    assert names["tenant_id"].value_counts is not None and names["items"].value_counts is None


def test_one_and_one_point_zero_and_true_meet_the_sketch_and_the_ranges_in_the_reference_order():
    rng = random.Random(3)
    values = [1, 1.0, True, Int64(1), 0, -0.0, 0.0, False, "1", None, 2**40, -2**53 - 1, float(2**53),
              float("nan"), float("inf"), -float("inf"), 2.5]
    for order in range(3):
        documents = [{"v": rng.choice(values), "w": [rng.choice(values) for _ in range(rng.randint(0, 3))]}
                     for _ in range(400)]
        assert_same(encoded(documents), native_chunks=1)


def test_mixed_kinds_nested_arrays_arrays_of_objects_empty_and_dotted_keys():
    rng = random.Random(4)
    kinds = [lambda: rng.randint(-5, 5), lambda: rng.random(), lambda: f"s{rng.randint(0, 9)}", lambda: None,
             lambda: [1, [2, [3, [4.5]]]], lambda: [{"a": 1}, {"a": "x", "b": [{"c": True}]}], lambda: {"a": {"": 1}},
             lambda: BASE + timedelta(days=rng.randint(-7 * 10**5, 10**6)), lambda: b"\x00\x01", lambda: ObjectId(),
             lambda: Binary(b"\x00\x01", rng.choice([1, 3, 4, 0x80])),  # UUIDs and the like: bson.Binary
             lambda: Decimal128(rng.choice(["-0", "0", "1.5", "1E+6000", "NaN", "-Infinity", "12.30"]))]
    documents = []
    for _ in range(1500):
        document = {rng.choice(["x", "y", "a.b", "", "é"]): rng.choice(kinds)() for _ in range(rng.randint(0, 5))}
        document["a"] = {"b": rng.choice(kinds)()}  # "a.b" twice: a dotted key and a path
        documents.append(document)
    assert_same(encoded(documents), native_chunks=1)


def test_a_path_cap_of_ten_keeps_the_first_ten_paths_and_counts_the_rest():
    documents = [{f"k{i % 25}": i, "nested": {f"n{i % 7}": [i]}} for i in range(600)]
    native = assert_same(encoded(documents), max_paths=10, native_chunks=1)
    assert len(native.nodes) == 10 and native.dropped > 0


def test_deep_nesting_past_what_the_core_reads_is_handed_to_python():
    deep = {"leaf": 1}
    for _ in range(450):
        deep = {"k": deep, "n": [1]}
    native = assert_same(encoded([deep, {"k": 1}, {"k": {"k": "x"}}]))
    assert native.walked["python"] == 1  # the whole chunk: it holds a document the core refuses
    assert native.finish().too_deep


def test_array_growth_sums_follow_pythons_float_sum():
    rng = random.Random(6)
    documents = [{"_id": ObjectId.from_datetime(BASE + timedelta(minutes=37 * i)), "log": [0] * rng.randint(0, 40),
                  "route": {"points": [[1.0, 2.0]] * rng.randint(0, 9)}} for i in range(3000)]
    native = assert_same(encoded(documents), native_chunks=1)
    assert {"log", "route.points"} <= set(native.growth)


# -- documents the core does not read ------------------------------------------------------------

def element(kind: int, key: bytes, payload: bytes) -> bytes:
    return bytes([kind]) + key + b"\x00" + payload


def raw_document(*elements: bytes) -> bytes:
    body = b"".join(elements) + b"\x00"
    return struct.pack("<i", len(body) + 4) + body


def string(text: str) -> bytes:
    data = text.encode() + b"\x00"
    return struct.pack("<i", len(data)) + data


LEGACY = [
    raw_document(element(0x07, b"_id", ObjectId().binary), element(0x0E, b"v", string("a symbol"))),
    raw_document(element(0x07, b"_id", ObjectId().binary), element(0x06, b"v", b"")),  # undefined
    raw_document(element(0x0C, b"v", string("db.c") + ObjectId().binary)),  # DBPointer
]
DAMAGED = [
    raw_document(element(0x02, b"v", string("x")))[:-1] + b"\x01",  # no terminating NUL
    raw_document(element(0x02, b"v", b"\x03\x00\x00\x00\xff\xfe\x00")),  # a string that is not UTF-8
    raw_document(element(0x08, b"v", b"\x02")),  # a boolean of 2
]
READ_BY_PYTHON = [
    raw_document(element(0x02, b"v", string("1")), element(0x02, b"v", string("2"))),  # a key twice
    raw_document(element(0x09, b"v", struct.pack("<q", 2**62))),  # past datetime's range: DatetimeMS
    *encoded([{"v": Code("f"), "r": Regex("^a")}, {"v": Timestamp(1, 2), "m": MinKey(), "x": MaxKey()},
              {"v": Binary(b"x", 2)}, {"v": {"$ref": "c", "$id": 1}}]),  # old binary: an inner length
]
PLAIN = encoded([{"v": i, "s": "x" * (i % 5)} for i in range(40)])


def test_the_walker_refuses_exactly_what_it_does_not_read():
    walker = new_walker(100)
    for raws, refused in ((PLAIN, []), (LEGACY + DAMAGED + READ_BY_PYTHON, list(range(12)))):
        data, starts = batch(raws)
        assert walker.check(data, starts, [*starts[1:], len(data)]) == refused


@pytest.mark.parametrize("refused", [LEGACY, DAMAGED, READ_BY_PYTHON], ids=["legacy", "damaged", "python"])
def test_refused_documents_give_the_same_problems_and_shape(refused):
    python, native, python_problems, native_problems = both(PLAIN + refused + PLAIN)
    assert native_problems == python_problems
    assert [index for index, _ in native_problems[0]] == ([40, 41, 42] if refused is DAMAGED else [])
    assert everything(native.finish()) == everything(python.finish())
    # a damaged document is a problem, not a document: its chunk stays native
    assert native.walked == ({"native": 1} if refused is DAMAGED else {"python": 1})


def test_decoded_and_raw_documents_in_one_chunk_then_native_chunks_keep_one_tree():
    documents = [{"_id": ObjectId.from_datetime(BASE + timedelta(minutes=i)), "number": i, "tags": ["a", i % 3],
                  "extra": {"deep": i % 5}} for i in range(FLUSH_EVERY + 1500)]
    raws = encoded(documents)
    decoded = [{"number": "decoded", "extra": {"deep": [1, 2]}, "_id": ObjectId()}]
    python, native, _, _ = both(raws, per_batch=2500, decoded=decoded)
    assert everything(native.finish()) == everything(python.finish())
    assert native.walked == {"python": 1, "native": 1}  # the decoded document's chunk, then the rest


def test_merged_and_pickled_builders_give_the_same_shape():
    raws = encoded(orders(3000, seed=8))
    results = []
    for kind in (ShapeBuilder, NativeShapeBuilder):
        first, second = kind("db.c"), kind("db.c")
        first.add_raw(*batch(raws[:1200]))
        second.add_raw(*batch(raws[1200:]))
        second.flush()
        first.merge(pickle.loads(pickle.dumps(second)))  # a worker process's builder comes back pickled
        first.add_raw(*batch(raws[:1000]))  # and the walk goes on after the merge
        results.append(everything(first.finish()))
    assert results[0] == results[1]


def test_damaged_bytes_give_the_same_problems_and_never_crash():
    """Bytes flipped, lengths that lie, documents cut short: the walker's check must refuse what it
    cannot read (Python then reports it exactly as the reference does), never read past a buffer."""
    rng = random.Random(9)
    good = encoded(orders(60, seed=9))
    for trial in range(40):
        raws = list(good)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(raws))
            damaged = bytearray(raws[at])
            how = rng.choice(["flip", "length", "cut"])
            if how == "flip":
                damaged[rng.randrange(4, len(damaged))] = rng.randrange(256)
            elif how == "length":
                position = rng.randrange(4, len(damaged) - 4)
                lie = rng.choice([0, 1, 4, 5, 2**31 - 1, -1, rng.randrange(64)])
                damaged[position:position + 4] = struct.pack("<i", lie)
            else:  # cut short, its own length prefix kept true to the bytes left
                damaged = damaged[:rng.randrange(5, len(damaged))]
                damaged[:4] = struct.pack("<i", len(damaged))
            raws[at] = bytes(damaged)
        python, native, python_problems, native_problems = both(raws, per_batch=25)
        assert native_problems == python_problems, trial
        assert everything(native.finish()) == everything(python.finish()), trial


def test_the_walkers_stable_hashes_are_stats_stable_hash_bit_for_bit():
    from nosql_advisor.shape.stats import stable_hash

    rng = random.Random(10)
    values = [round(rng.uniform(-1e6, 1e6), rng.randint(0, 6)) for _ in range(300)]
    values += [rng.random(), 1e-4, 9.999e-5, 0.1, 1 / 3, 1e15, 999999999999999.9, 5e-324, -0.0, 0.0, 100.0, 1e300,
               float("inf"), float("nan"), 2**63 - 1, -2**63, -1, 0, 2**31, True, False, None, "", "é\U0001f600",
               ObjectId(), BASE, datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999000),
               BASE - timedelta(days=1, milliseconds=1),
               Int64(-5), Decimal128("1.50"), Decimal128("-1E+6000")]
    raws = encoded([{"v": value} for value in values])
    walker = new_walker(10)
    data, starts = batch(raws)
    walker.walk([(data, starts, [*starts[1:], len(data)])])
    decoded = [bson.decode(raw)["v"] for raw in raws]
    kinds = list(dict.fromkeys(map(type, decoded)))  # the walker files values kind by kind, first met first
    expected = [stable_hash((value._Decimal128__high, value._Decimal128__low) if type(value) is Decimal128 else value)
                for kind in kinds for value in decoded if type(value) is kind]
    assert walker.hashes(0) == expected


def test_a_decoded_document_with_a_lone_surrogate_key_joins_the_tree_and_matches_no_raw_key():
    """Extended JSON can spell a key no BSON document holds ("\\ud800"): the reference walks it, the
    walker is told of its node, and raw documents after it still walk natively."""
    raws = encoded([{"a": i, "b": {"c": i}} for i in range(30)])
    decoded = [{"\ud800": 1, "b": {"\udfff": "x", "c": 2}}]
    python, native, _, _ = both(raws, per_batch=10, decoded=decoded)
    native.flush()
    native.add_raw(*batch(raws))
    python.add_raw(*batch(raws))
    assert everything(native.finish()) == everything(python.finish())
    assert native.walked == {"python": 1, "native": 1}
