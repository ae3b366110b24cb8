"""BSON type names of Python values, as `$type` and `bsonType` spell them.

One table shared by shape inference (which counts types in bulk) and the $jsonSchema dialect
(which checks one value at a time), so the two can never disagree on what a value is.
"""

from __future__ import annotations

import re
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime

from bson import SON, Binary, Code, DBRef, Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex, Timestamp
from bson.datetime_ms import DatetimeMS

# The BSON type aliases of $type / bsonType, in the order MongoDB numbers them.
BSON_TYPES = (
    "double", "string", "object", "array", "binData", "undefined", "objectId", "bool",
    "date", "null", "regex", "dbPointer", "javascript", "symbol", "javascriptWithScope",
    "int", "timestamp", "long", "decimal", "minKey", "maxKey",
)
NUMBER_TYPES = frozenset({"int", "long", "double", "decimal"})  # the "number" alias

OBJECT_TYPES = frozenset({dict, SON, OrderedDict})


class Symbol(str):
    """A BSON symbol (0x0E): a string to Python, its own type to MongoDB (`bsonType: "symbol"`
    does not match a string, nor `"string"` a symbol). PyMongo decodes it as a plain str;
    sources/legacy_types.py puts this type back from the raw bytes."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Symbol({str.__repr__(self)})"


class Undefined:
    """The BSON undefined value (0x06), which PyMongo decodes as None (null). One instance,
    UNDEFINED, which pickles as itself (worker processes send sketches holding it back)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "UNDEFINED"


UNDEFINED = Undefined()


class DBPointer(DBRef):
    """A BSON DBPointer (0x0C: a namespace and an ObjectId), which PyMongo decodes as a DBRef,
    the same Python type as a `{$ref, $id}` subdocument (an object to MongoDB)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"DBPointer({self.collection!r}, {self.id!r})"

    def __reduce__(self):  # DBRef pickles its slots by its own class name: not a subclass's
        return DBPointer, (self.collection, self.id)


INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1

TYPE_NAMES: dict[type, str] = {
    float: "double", str: "string", dict: "object", SON: "object", OrderedDict: "object",
    list: "array", bytes: "binData", Binary: "binData", uuid.UUID: "binData",
    ObjectId: "objectId", bool: "bool", datetime: "date", DatetimeMS: "date",
    type(None): "null", Regex: "regex", re.Pattern: "regex", Code: "javascript",
    int: "int", Int64: "long", Timestamp: "timestamp", Decimal128: "decimal",
    MinKey: "minKey", MaxKey: "maxKey", DBRef: "object",
    Symbol: "symbol", Undefined: "undefined", DBPointer: "dbPointer",
}


def bson_type_of(value: object) -> str:
    """The alias MongoDB would give `value` once PyMongo encodes it."""
    kind = type(value)
    if kind is int:
        return "int" if INT32_MIN <= value <= INT32_MAX else "long"
    if kind is Code:
        return "javascriptWithScope" if value.scope is not None else "javascript"
    return TYPE_NAMES.get(kind) or type_name_of_subclass(kind)


def type_name_of_subclass(kind: type) -> str:
    """Subclasses the table does not name (e.g. a Mapping from a custom codec)."""
    for base, name in TYPE_NAMES.items():
        if issubclass(kind, base):
            return name
    if issubclass(kind, Mapping):
        return "object"
    return "unknown"
