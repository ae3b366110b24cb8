"""MongoDB's $jsonSchema dialect: what mongod refuses, and BSON-aware validation."""

from __future__ import annotations

import datetime

import pytest
from bson import Binary, Decimal128, Int64, ObjectId

from nosql_advisor.schema.dialect import check_schema, failures, validator_for


def problems(schema: dict) -> list[tuple[str, str]]:
    return [(issue.pointer, issue.message) for issue in check_schema(schema)]


def test_a_plain_schema_has_no_issues():
    schema = {"bsonType": "object", "required": ["name"], "properties": {
        "name": {"bsonType": "string", "description": "who"},
        "tags": {"bsonType": "array", "maxItems": 5, "items": {"bsonType": "string"}},
        "price": {"bsonType": ["decimal", "double"], "minimum": 0},
    }}
    assert problems(schema) == []


@pytest.mark.parametrize("keyword", ["$ref", "$schema", "default", "definitions", "format", "id"])
def test_keywords_mongod_rejects_are_reported_with_their_pointer(keyword):
    schema = {"properties": {"email": {"bsonType": "string", keyword: "x"}}}
    assert problems(schema) == [
        (f"/properties/email/{keyword}", f"'{keyword}' is not supported by MongoDB's $jsonSchema")]


def test_unknown_bson_type_and_integer_type_are_refused():
    schema = {"properties": {"a": {"bsonType": ["int", "strin"]}, "b": {"type": "integer"}}}
    assert problems(schema) == [
        ("/properties/a/bsonType/1", "unknown bsonType 'strin'"),
        ("/properties/b/type", "unknown type 'integer' (use bsonType 'int' or 'long')"),
    ]


def test_type_and_bson_type_together_are_refused():
    assert problems({"type": "object", "bsonType": "object"}) == [("/", "cannot use both 'type' and 'bsonType'")]


def test_issues_inside_items_and_combinators_are_found():
    schema = {"items": [{"default": 1}], "anyOf": [{"bsonType": "nope"}], "not": {"format": "email"}}
    pointers = [pointer for pointer, _ in problems(schema)]
    assert pointers == ["/not/format", "/items/0/default", "/anyOf/0/bsonType"]


def errors(schema: dict, document: dict) -> list[str]:
    return [error.message for error in failures(validator_for(schema), document)]


def test_bson_type_sees_bson_values_not_their_json_rendering():
    schema = {"properties": {
        "count": {"bsonType": "int"}, "big": {"bsonType": "long"}, "when": {"bsonType": "date"},
        "price": {"bsonType": "decimal"}, "ref": {"bsonType": "objectId"}, "blob": {"bsonType": "binData"},
    }}
    good = {"count": 3, "big": Int64(3), "when": datetime.datetime(2026, 1, 1), "price": Decimal128("9.99"),
            "ref": ObjectId(), "blob": Binary(b"x", 4)}
    assert errors(schema, good) == []
    assert errors(schema, {"count": Int64(3)}) == ["bsonType is long, expected int"]
    assert errors(schema, {"big": 2**40}) == []  # a Python int past int32 is stored as a long
    assert errors(schema, {"when": "2026-01-01"}) == ["bsonType is string, expected date"]


def test_number_alias_and_type_number_take_every_numeric_bson_type():
    for value in (1, Int64(1), 1.5, Decimal128("1.5")):
        assert errors({"properties": {"n": {"bsonType": "number"}}}, {"n": value}) == []
        assert errors({"properties": {"n": {"type": "number"}}}, {"n": value}) == []
    assert errors({"properties": {"n": {"bsonType": "number"}}}, {"n": True}) == ["bsonType is bool, expected number"]


def test_bounds_compare_decimal128_by_value():
    schema = {"properties": {"p": {"bsonType": "decimal", "minimum": 0, "maximum": 10, "exclusiveMaximum": True}}}
    assert errors(schema, {"p": Decimal128("9.5")}) == []
    assert errors(schema, {"p": Decimal128("10")}) == ["Decimal128('10') is greater than or equal to the maximum of 10"]
    assert errors(schema, {"p": Decimal128("-0.1")}) == ["Decimal128('-0.1') is less than the minimum of 0"]


def test_enum_matches_numbers_across_types_but_not_bools():
    schema = {"properties": {"e": {"enum": [1, "x"]}}}
    assert errors(schema, {"e": Int64(1)}) == []
    assert errors(schema, {"e": 1.0}) == []
    assert errors(schema, {"e": True}) == ["True is not one of [1, 'x']"]


def test_required_and_missing_versus_null():
    schema = {"required": ["a"], "properties": {"a": {"bsonType": ["string", "null"]}}}
    assert errors(schema, {"a": None}) == []
    assert errors(schema, {}) == ["'a' is a required property"]
