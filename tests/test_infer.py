"""Shape inference, read as usage examples: what infer_shape says about a handful of documents."""

from __future__ import annotations

import datetime
import re

import bson
from bson import Binary, Code, Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex, Timestamp
from hypothesis import given, settings
from hypothesis import strategies as st

from nosql_advisor.shape import infer_shape


def shape_of(documents, **options):
    return infer_shape(((d, len(bson.encode(d))) for d in documents), "db.coll", **options)


def fields(documents, **options) -> dict:
    return {f.path: f for f in shape_of(documents, **options).fields}


def test_paths_are_dot_notation_with_arrays_transparent():
    paths = fields([{"items": [{"sku": "a", "dims": {"w": 1}}], "customer": {"email": "x"}}])
    assert sorted(paths) == ["customer", "customer.email", "items", "items.dims", "items.dims.w", "items.sku"]


def test_probability_follows_mongodb_schema():
    """Count over the parent's occurrences as an object; inside arrays, each subdocument counts."""
    found = fields([
        {"a": 1, "items": [{"sku": "x", "q": 1}, {"sku": "y"}], "o": {"p": 1}},
        {"a": None, "items": [{"sku": "z"}]},
        {"o": [{"p": 2}, {"p": 3, "r": 1}]},
    ])
    summary = {path: (f.count, round(f.probability, 4), f.types) for path, f in found.items()}
    assert summary == {
        "a": (2, 0.6667, {"int": 1, "null": 1}),
        "items": (2, 0.6667, {"array": 2}),
        "items.q": (1, 0.3333, {"int": 1}),
        "items.sku": (3, 1.0, {"string": 3}),
        "o": (2, 0.6667, {"array": 1, "object": 1}),
        "o.p": (3, 1.0, {"int": 3}),
        "o.r": (1, 0.3333, {"int": 1}),
    }


def test_bson_type_names_are_the_type_aliases():
    document = {
        "int": 1, "long": Int64(1), "big": 2**40, "double": 1.5, "decimal": Decimal128("1.5"),
        "string": "s", "bool": True, "null": None, "date": datetime.datetime(2020, 1, 1),
        "objectId": ObjectId(), "binData": Binary(b"x", 0), "regex": Regex("^a", "i"),
        "pattern": re.compile("^b"), "timestamp": Timestamp(1, 1), "minKey": MinKey(), "maxKey": MaxKey(),
        "javascript": Code("return 1"), "scoped": Code("return x", {"x": 1}), "object": {}, "array": [],
    }
    types = {path: list(f.types) for path, f in fields([document]).items()}
    assert types == {
        "int": ["int"], "long": ["long"], "big": ["long"], "double": ["double"], "decimal": ["decimal"],
        "string": ["string"], "bool": ["bool"], "null": ["null"], "date": ["date"],
        "objectId": ["objectId"], "binData": ["binData"], "regex": ["regex"], "pattern": ["regex"],
        "timestamp": ["timestamp"], "minKey": ["minKey"], "maxKey": ["maxKey"],
        "javascript": ["javascript"], "scoped": ["javascriptWithScope"], "object": ["object"], "array": ["array"],
    }


def test_array_lengths_and_element_types():
    tags = fields([{"tags": ["x"] * n} for n in range(1, 101)] + [{"tags": [1, None]}])["tags"]
    assert tags.array.count == 101
    assert tags.array.lengths == {"min": 1, "max": 100, "mean": 50.02, "p50": 50, "p95": 95, "p99": 99}
    assert tags.array.element_types == {"int": 1, "null": 1, "string": 5050}


def test_nested_arrays_share_their_path():
    coordinates = fields([{"geo": {"coordinates": [[[0, 0], [1, 1], [0, 1]]]}}])["geo.coordinates"]
    assert coordinates.array.nesting == 3
    assert coordinates.array.count == 5  # the outer array, one ring, three points
    assert coordinates.array.lengths["max"] == 3


def test_strings_numbers_dates_and_distinct_values():
    found = fields([{"s": "ab" * n, "n": n, "d": datetime.datetime(2020, 1, n), "c": "x"} for n in range(1, 11)])
    assert found["s"].string_length["min"] == 2 and found["s"].string_length["max"] == 20
    assert found["n"].number_range == {"min": 1, "max": 10}
    assert found["d"].date_range == {"min": "2020-01-01T00:00:00Z", "max": "2020-01-10T00:00:00Z"}
    assert (found["s"].distinct_estimate, found["c"].distinct_estimate) == (10, 1)


def test_distinct_is_exact_below_512_and_close_above():
    assert fields([{"v": i % 500} for i in range(5000)])["v"].distinct_estimate == 500
    estimate = fields([{"v": f"user-{i}"} for i in range(20000)])["v"].distinct_estimate
    assert 17000 <= estimate <= 23000


def test_collection_figures_sizes_ids_and_creation_range():
    first = ObjectId.from_datetime(datetime.datetime(2024, 1, 1))
    last = ObjectId.from_datetime(datetime.datetime(2025, 6, 30))
    shape = shape_of([{"_id": first, "x": "a"}, {"_id": last, "x": "b" * 1000}, {"_id": "natural-key"}])
    assert shape.sampled == 3
    assert shape.id_types == {"objectId": 2, "string": 1}
    assert shape.created_range == {"min": "2024-01-01T00:00:00Z", "max": "2025-06-30T00:00:00Z"}
    sizes = [len(bson.encode(d)) for d in ({"_id": first, "x": "a"}, {"_id": last, "x": "b" * 1000}, {"_id": "natural-key"})]
    assert shape.document_size["max"] == max(sizes) and shape.document_size["min"] == min(sizes)


def test_depth_counts_objects_and_nested_arrays():
    shape = shape_of([{"a": {"b": {"c": [[{"d": 1}]]}}}])
    assert {f.path: f.depth for f in shape.fields}["a.b.c.d"] == 5  # a, b, c, the inner array, d
    assert shape.max_depth == 5


def test_the_path_cap_records_what_was_left_out_and_where():
    shape = shape_of([{"_id": 1, "by_day": {f"2025-01-{i:05d}": i for i in range(300)}}], max_paths=100)
    assert len(shape.fields) == 100
    assert shape.capped.limit == 100
    assert shape.capped.dropped_keys == 202  # 302 keys in all, 100 recorded
    assert shape.capped.at == {"by_day": 202}


def test_type_times_say_when_a_type_came():
    old = ObjectId.from_datetime(datetime.datetime(2024, 1, 1))
    new = ObjectId.from_datetime(datetime.datetime(2025, 1, 1))
    price = fields([{"_id": old, "price": "9.99"}, {"_id": new, "price": Decimal128("9.99")}])["price"]
    assert price.type_times == {"decimal": {"first": "2025-01-01T00:00:00Z", "last": "2025-01-01T00:00:00Z"},
                                "string": {"first": "2024-01-01T00:00:00Z", "last": "2024-01-01T00:00:00Z"}}



def test_type_times_tell_int_from_long_and_reach_into_arrays():
    old = ObjectId.from_datetime(datetime.datetime(2024, 1, 1))
    new = ObjectId.from_datetime(datetime.datetime(2025, 1, 1))
    shape = fields([{"_id": old, "n": 5, "items": [{"qty": 1}]},
                    {"_id": new, "n": 2**40, "items": [{"qty": "one"}]}])
    assert shape["n"].type_times == {"int": {"first": "2024-01-01T00:00:00Z", "last": "2024-01-01T00:00:00Z"},
                                     "long": {"first": "2025-01-01T00:00:00Z", "last": "2025-01-01T00:00:00Z"}}
    assert shape["items.qty"].type_times == {
        "int": {"first": "2024-01-01T00:00:00Z", "last": "2024-01-01T00:00:00Z"},
        "string": {"first": "2025-01-01T00:00:00Z", "last": "2025-01-01T00:00:00Z"}}


# -- property: every count equals a brute-force recount ------------------------------------------

scalars = st.one_of(st.integers(-(2**40), 2**40), st.floats(allow_nan=False), st.text(max_size=5),
                    st.booleans(), st.none(), st.builds(Int64, st.integers(-5, 5)))
keys = st.sampled_from(["a", "b", "c", "d"])
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(keys, inner, max_size=4)), max_leaves=12)
documents = st.lists(st.dictionaries(keys, values, max_size=4), min_size=1, max_size=20)


# The element type bytes of the BSON spec (bsonspec.org) and their $type aliases: the recount
# asks PyMongo's encoder what a value becomes, not the tool's own type classifier.
BSON_TYPE_BYTES = {0x01: "double", 0x02: "string", 0x03: "object", 0x04: "array", 0x05: "binData",
                   0x07: "objectId", 0x08: "bool", 0x09: "date", 0x0A: "null", 0x0B: "regex",
                   0x0D: "javascript", 0x0F: "javascriptWithScope", 0x10: "int", 0x11: "timestamp",
                   0x12: "long", 0x13: "decimal", 0xFF: "minKey", 0x7F: "maxKey"}


def bson_type_of(value) -> str:
    """The type byte of the one element of {"v": value} once encoded (after the int32 length)."""
    return BSON_TYPE_BYTES[bson.encode({"v": value})[4]]


def test_the_recount_reads_types_from_the_encoded_bytes():
    assert [bson_type_of(v) for v in (1, 2**31, Int64(1), 1.5, "s", None, True, [1], {"a": 1})] == [
        "int", "long", "long", "double", "string", "null", "bool", "array", "object"]


def recount(docs):
    """path -> [count, parent object occurrences, {type: n}, array count, min len, max len]."""
    table: dict = {}
    parents: dict = {"": 0}

    def walk_object(obj, path):
        parents[path] = parents.get(path, 0) + 1
        for key, value in obj.items():
            child = f"{path}.{key}" if path else key
            entry = table.setdefault(child, {"count": 0, "types": {}, "arrays": [], "parent": path})
            entry["count"] += 1
            name = bson_type_of(value)
            entry["types"][name] = entry["types"].get(name, 0) + 1
            visit(value, child)

    def visit(value, path):
        if isinstance(value, dict):
            walk_object(value, path)
        elif isinstance(value, list):
            table[path]["arrays"].append(len(value))
            for element in value:
                visit(element, path)

    for document in docs:
        walk_object(document, "")
    return table, parents


@settings(max_examples=200, deadline=None)
@given(documents)
def test_counts_match_a_brute_force_recount(docs):
    shape = shape_of(docs)
    table, parents = recount(docs)
    assert {f.path for f in shape.fields} == set(table)
    for found in shape.fields:
        expected = table[found.path]
        assert found.count == expected["count"]
        assert found.types == dict(sorted(expected["types"].items()))
        assert abs(found.probability - expected["count"] / parents[expected["parent"]]) < 1e-6
        if expected["arrays"]:
            assert found.array.count == len(expected["arrays"])
            assert (found.array.lengths["min"], found.array.lengths["max"]) == (min(expected["arrays"]), max(expected["arrays"]))
        else:
            assert found.array is None


def test_decimal_ranges_are_exact_whatever_their_exponents_and_signs():
    cases = [["9.99", "10.00", "0.01", "120.50"], ["-9.99", "-0.01", "-120.50"], ["-1.5", "2.25", "1E+3"],
             ["1.5", "NaN", "Infinity", "-2"], ["123456789012345678901234567.5", "0.1"]]
    for case in cases:
        field = fields([{"_id": i, "d": Decimal128(v)} for i, v in enumerate(case)])["d"]
        finite = [float(v) for v in case if v not in ("NaN", "Infinity")]
        assert field.number_range == {"min": min(finite), "max": max(finite)}, case


def test_merged_builders_add_their_counts_of_doubles_holding_fractions():
    """Two workers' builders: `x` has one fractional double in the first (1.5) and two in the
    second (0.25 and NaN, which is no whole number either); `y` only reaches the second."""
    from nosql_advisor.shape.infer import ShapeBuilder

    first, second = ShapeBuilder("db.coll"), ShapeBuilder("db.coll")
    for document in [{"x": 1.5, "n": 1}, {"x": 2.0, "n": 2}, {"x": 3, "n": 3}]:
        first.add(document)
    for document in [{"x": 0.25, "y": 7.0}, {"x": float("nan"), "y": 8.0}, {"x": 4.0, "y": [0.5]}]:
        second.add(document)
    first.merge(second)
    shape = first.finish()
    merged = {f.path: f for f in shape.fields}
    assert merged["x"].types == {"double": 5, "int": 1}
    assert merged["x"].fractional_doubles == 3
    assert merged["y"].fractional_doubles == 0  # 0.5 is an array element: DM505 weighs the values
    assert merged["n"].fractional_doubles is None  # no double at all
    entries = {entry["path"]: entry for entry in shape.to_dict()["fields"]}  # report.json's field entries
    assert entries["x"]["fractional_doubles"] == 3 and "fractional_doubles" not in entries["n"]
