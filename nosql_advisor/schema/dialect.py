"""MongoDB's `$jsonSchema`: JSON Schema draft 4 with `bsonType`, minus a few keywords.

mongod refuses a validator that uses `$ref`, `$schema`, `default`, `definitions`, `format` or
`id`, an unknown keyword, an unknown `bsonType` alias, `type: "integer"`, or both `type` and
`bsonType` in one schema. `check_schema` reports each of those with its JSON pointer, the way
mongod would refuse it, so a bad schema file fails before it reaches a server.

`validator_for` returns a `jsonschema` validator extended for the dialect: `bsonType` checks the
BSON type of each value (an `Int64` is a `long`, a `datetime` a `date`, `Decimal128` a
`decimal`), `type` follows MongoDB's JSON types (`number` takes every numeric BSON type), and
numeric keywords compare `Decimal128` by value.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal

from bson import Decimal128, Int64
from jsonschema import Draft4Validator, ValidationError, validators

from nosql_advisor.bsontypes import BSON_TYPES, NUMBER_TYPES, OBJECT_TYPES, Symbol, bson_type_of

REJECTED = ("$ref", "$schema", "default", "definitions", "format", "id")
SUPPORTED = frozenset({
    "additionalItems", "additionalProperties", "allOf", "anyOf", "bsonType", "dependencies",
    "description", "enum", "exclusiveMaximum", "exclusiveMinimum", "items", "maximum",
    "maxItems", "maxLength", "maxProperties", "minimum", "minItems", "minLength",
    "minProperties", "multipleOf", "not", "oneOf", "pattern", "patternProperties",
    "properties", "required", "title", "type", "uniqueItems",
})
JSON_TYPES = frozenset({"object", "array", "number", "boolean", "string", "null"})
BSON_ALIASES = frozenset(BSON_TYPES) | {"number"}


@dataclass(frozen=True)
class SchemaIssue:
    """A reason mongod would refuse the schema, at a JSON pointer inside it."""

    pointer: str
    message: str


def check_schema(schema: object, pointer: str = "") -> list[SchemaIssue]:
    """Every reason mongod would refuse `schema` as a `$jsonSchema` (empty when it is fine)."""
    if not isinstance(schema, Mapping):
        return [SchemaIssue(pointer or "/", "a schema must be an object")]
    issues = [issue for key, value in schema.items() for issue in _check_keyword(key, value, schema, pointer)]
    if "type" in schema and "bsonType" in schema:
        issues.append(SchemaIssue(pointer or "/", "cannot use both 'type' and 'bsonType'"))
    for child_pointer, child in _subschemas(schema, pointer):
        issues.extend(check_schema(child, child_pointer))
    return issues


def _check_keyword(key: str, value: object, schema: Mapping, pointer: str) -> Iterator[SchemaIssue]:
    where = f"{pointer}/{_escape(key)}"
    if key in REJECTED:
        yield SchemaIssue(where, f"'{key}' is not supported by MongoDB's $jsonSchema")
    elif key not in SUPPORTED:
        yield SchemaIssue(where, f"unknown $jsonSchema keyword '{key}'")
    elif key == "bsonType":
        yield from _check_names(value, BSON_ALIASES, "bsonType", where)
    elif key == "type":
        yield from _check_names(value, JSON_TYPES, "type", where)
    elif key == "required" and not (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
        yield SchemaIssue(where, "'required' must be a non-empty array of strings")


def _check_names(value: object, allowed: frozenset, keyword: str, where: str) -> Iterator[SchemaIssue]:
    names = value if isinstance(value, list) else [value]
    for index, name in enumerate(names):
        if name not in allowed:
            hint = " (use bsonType 'int' or 'long')" if name == "integer" else ""
            at = f"{where}/{index}" if isinstance(value, list) else where
            yield SchemaIssue(at, f"unknown {keyword} {name!r}{hint}")


def _subschemas(schema: Mapping, pointer: str) -> Iterator[tuple[str, object]]:
    for key in ("properties", "patternProperties"):
        for name, child in (schema.get(key) or {}).items():
            yield f"{pointer}/{key}/{_escape(name)}", child
    for key in ("additionalProperties", "additionalItems", "not"):
        if isinstance(schema.get(key), Mapping):
            yield f"{pointer}/{key}", schema[key]
    items = schema.get("items")
    if isinstance(items, Mapping):
        yield f"{pointer}/items", items
    elif isinstance(items, list):
        yield from ((f"{pointer}/items/{i}", child) for i, child in enumerate(items))
    for key in ("allOf", "anyOf", "oneOf"):
        yield from ((f"{pointer}/{key}/{i}", child) for i, child in enumerate(schema.get(key) or []))
    for name, child in (schema.get("dependencies") or {}).items():
        if isinstance(child, Mapping):
            yield f"{pointer}/dependencies/{_escape(name)}", child


def _escape(token: str) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


# -- validation of BSON values -----------------------------------------------------------

def _is_object(_checker, value) -> bool:
    return type(value) in OBJECT_TYPES or isinstance(value, Mapping)


def _is_string(_checker, value) -> bool:
    """MongoDB's `type: "string"` is the string type only: a BSON symbol (a str subclass here,
    bsontypes.Symbol) is not one, as mongod refuses it."""
    return isinstance(value, str) and not isinstance(value, Symbol)


def _is_number(_checker, value) -> bool:
    return bson_type_of(value) in NUMBER_TYPES


def _is_integer(_checker, value) -> bool:  # not a MongoDB type; kept for draft-4 internals
    return bson_type_of(value) in ("int", "long")


TYPE_CHECKER = Draft4Validator.TYPE_CHECKER.redefine_many({
    "object": _is_object, "number": _is_number, "integer": _is_integer, "string": _is_string,
})


def _plain_number(value):
    if isinstance(value, Decimal128):
        return value.to_decimal()
    if isinstance(value, Int64):
        return int(value)
    return value


def _comparable(value, bound):
    """Decimal128 has no ordering in Python: compare it (and its bound) as Decimal."""
    value, bound = _plain_number(value), _plain_number(bound)
    if isinstance(value, Decimal) and isinstance(bound, float):
        bound = Decimal(repr(bound))
    if isinstance(bound, Decimal) and isinstance(value, float):
        value = Decimal(repr(value))
    return value, bound


def bson_type(validator, types, instance, schema):
    names = types if isinstance(types, list) else [types]
    actual = bson_type_of(instance)
    if actual not in names and not ("number" in names and actual in NUMBER_TYPES):
        yield ValidationError(f"bsonType is {actual}, expected {' or '.join(names)}")


def minimum(validator, bound, instance, schema):
    if validator.is_type(instance, "number"):
        value, limit = _comparable(instance, bound)
        exclusive = schema.get("exclusiveMinimum", False)
        if value < limit or (exclusive and value == limit):
            word = "less than or equal to" if exclusive else "less than"
            yield ValidationError(f"{instance!r} is {word} the minimum of {bound!r}")


def maximum(validator, bound, instance, schema):
    if validator.is_type(instance, "number"):
        value, limit = _comparable(instance, bound)
        exclusive = schema.get("exclusiveMaximum", False)
        if value > limit or (exclusive and value == limit):
            word = "greater than or equal to" if exclusive else "greater than"
            yield ValidationError(f"{instance!r} is {word} the maximum of {bound!r}")


def multiple_of(validator, divisor, instance, schema):
    if validator.is_type(instance, "number"):
        value, step = _comparable(instance, divisor)
        if isinstance(value, Decimal) or isinstance(step, Decimal):
            value, step = Decimal(str(value)), Decimal(str(step))
        elif isinstance(value, float) or isinstance(step, float):
            quotient = value / step
            if quotient != int(quotient):
                yield ValidationError(f"{instance!r} is not a multiple of {divisor}")
            return
        if value % step:
            yield ValidationError(f"{instance!r} is not a multiple of {divisor}")


def enum(validator, allowed, instance, schema):
    """Numbers match across types by value (MongoDB compares 1, 1.0, Int64(1), Decimal128("1") equal)."""
    if validator.is_type(instance, "number") and not isinstance(instance, bool):
        value = _plain_number(instance)
        if any(_numeric_equal(value, option) for option in allowed):
            return
    if not any(_same(instance, option) for option in allowed):
        yield ValidationError(f"{instance!r} is not one of {allowed!r}")


def _same(value, option) -> bool:
    """Equality with BSON types kept apart: True is not 1, a string is not a number."""
    if bson_type_of(value) != bson_type_of(option) and not (
            bson_type_of(value) in NUMBER_TYPES and bson_type_of(option) in NUMBER_TYPES):
        return False
    return value == option


def _numeric_equal(value, option) -> bool:
    if isinstance(option, bool) or bson_type_of(option) not in NUMBER_TYPES:
        return False
    left, right = _comparable(value, option)
    try:
        return left == right
    except TypeError:
        return False


MongoValidator = validators.extend(
    Draft4Validator,
    validators={
        "bsonType": bson_type, "minimum": minimum, "maximum": maximum,
        "multipleOf": multiple_of, "enum": enum,
    },
    type_checker=TYPE_CHECKER,
)


def validator_for(schema: Mapping) -> Draft4Validator:
    """A validator for a `$jsonSchema` already accepted by `check_schema`."""
    return MongoValidator(schema)


def failures(schema_validator: Draft4Validator, document: Mapping) -> list[ValidationError]:
    """Why `document` fails, one error per failing keyword (empty when it passes)."""
    return list(schema_validator.iter_errors(document))
