"""What a new validator removes or loosens compared with the one a collection has.

`--apply` replaces a collection's validator only when the new one is at least as strict at every
place the old one constrains (or the user passed `--allow-loosen` after seeing this list). Each
`Loosening` names the place (dot path of the field, `[]` for an array's elements, `.*` for
properties no `properties` entry names) and the keyword, with the old and the new value.

The comparison is conservative: where it cannot prove the new constraint as strict as the old
(two different `pattern`s, an `anyOf` that changed, a query-operator clause the new validator
does not repeat), it reports a loosening. A false alarm costs a look at the diff; a missed one
would let data in that the team had decided to refuse.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from bson import Decimal128, json_util

from nosql_advisor.bsontypes import NUMBER_TYPES

LEVELS = ("off", "moderate", "strict")  # validationLevel, weakest first
ACTIONS = ("warn", "error", "errorAndLog")  # validationAction, weakest first
DEFAULT_LEVEL, DEFAULT_ACTION = "strict", "error"  # what a collection with a validator has when unset
ANNOTATIONS = frozenset({"title", "description"})
JSON_TYPE_ALIASES = {"boolean": "bool", "number": "number"}
LOWER_BOUNDS = ("minLength", "minItems", "minProperties")
UPPER_BOUNDS = ("maxLength", "maxItems", "maxProperties")
SAME_OR_REPORTED = ("pattern", "allOf", "anyOf", "oneOf", "not", "patternProperties", "dependencies")
HANDLED = frozenset({
    "bsonType", "type", "enum", "minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum",
    "multipleOf", "uniqueItems", "required", "properties", "additionalProperties", "items",
    "additionalItems", *LOWER_BOUNDS, *UPPER_BOUNDS, *SAME_OR_REPORTED, *ANNOTATIONS,
})


@dataclass(frozen=True)
class Loosening:
    """One constraint the new validator removes (`after` None) or loosens."""

    path: str
    keyword: str
    before: object
    after: object = None

    def __str__(self) -> str:
        if self.keyword in ("validationLevel", "validationAction"):  # the collection's, not a field's
            return f"{self.keyword} {self.before} -> {self.after}"
        where = self.path or "(document)"
        change = "removed" if self.after is None else f"-> {show(self.after)}"
        if self.keyword == "required":  # `before` is True: the field was required
            return f"{where}: required {change}"
        return f"{where}: {self.keyword} {show(self.before)} {change}"


def show(value: object) -> str:
    """A value as the plan prints it: JSON, Extended JSON for BSON types, cut at 80 characters."""
    text = json_util.dumps(value, json_options=json_util.RELAXED_JSON_OPTIONS)
    return text if len(text) <= 80 else text[:77] + "..."


def same(left: object, right: object) -> bool:
    """Equal as BSON values, whatever the key order of the objects."""
    return _canonical(left) == _canonical(right)


def _canonical(value: object) -> str:
    return json.dumps(json.loads(json_util.dumps(value, json_options=json_util.CANONICAL_JSON_OPTIONS)),
                      sort_keys=True)


def validator_loosenings(old: dict, new: dict) -> list[Loosening]:
    """Every constraint of the validator document `old` that `new` removes or loosens."""
    old_schemas, old_clauses = split_validator(old)
    new_schemas, new_clauses = split_validator(new)
    new_schema = new_schemas[0] if len(new_schemas) == 1 else ({"allOf": new_schemas} if new_schemas else {})
    found = [loose for schema in old_schemas for loose in schema_loosenings(schema, new_schema)]
    kept = [_canonical(clause) for clause in new_clauses]
    found += [_clause_loosening(clause) for clause in old_clauses if _canonical(clause) not in kept]
    return found


def split_validator(validator: dict) -> tuple[list[dict], list[dict]]:
    """The `$jsonSchema`s of a validator (top level or inside a top-level `$and`) and its other
    clauses (query operators), each clause as a one-key document."""
    schemas: list[dict] = []
    clauses: list[dict] = []
    for key, value in (validator or {}).items():
        if key == "$jsonSchema":
            schemas.append(value if isinstance(value, dict) else {})
        elif key == "$and" and isinstance(value, list):
            for member in value:
                inner_schemas, inner_clauses = split_validator(member if isinstance(member, dict) else {})
                schemas += inner_schemas
                clauses += inner_clauses
        else:
            clauses.append({key: value})
    return schemas, clauses


def _clause_loosening(clause: dict) -> Loosening:
    (key, value), = clause.items()
    if key.startswith("$"):  # $or, $nor, $expr...: a whole-document condition
        return Loosening("", key, value)
    operators = [k for k in value if k.startswith("$")] if isinstance(value, dict) else []
    if len(operators) == 1:
        return Loosening(key, operators[0], value[operators[0]])
    return Loosening(key, " ".join(operators) if operators else "$eq", value)


def schema_loosenings(old: dict, new: dict, path: str = "") -> list[Loosening]:
    """Every constraint of the `$jsonSchema` `old` that `new` (at the same place) removes or loosens."""
    old, new = _object(old), _object(new)
    found = _types(old, new, path) + _enum(old, new, path) + _bounds(old, new, path)
    found += _required(old, new, path) + _properties(old, new, path) + _items(old, new, path)
    found += [Loosening(path, k, old[k], new.get(k)) for k in SAME_OR_REPORTED
              if k in old and not same(old[k], new.get(k))]
    found += [Loosening(path, k, old[k], new.get(k)) for k in old
              if k not in HANDLED and not same(old[k], new.get(k))]
    return found


def allowed_types(schema: dict) -> frozenset[str] | None:
    """The BSON types `bsonType`/`type` allow ("number" spelled out), None when unconstrained."""
    value = schema.get("bsonType", schema.get("type"))
    if value is None:
        return None
    names = value if isinstance(value, list) else [value]
    types: set[str] = set()
    for name in names:
        name = JSON_TYPE_ALIASES.get(name, name) if "type" in schema else name
        types |= NUMBER_TYPES if name == "number" else {name}
    return frozenset(types)


def _types(old: dict, new: dict, path: str) -> list[Loosening]:
    before, after = allowed_types(old), allowed_types(new)
    if before is None or (after is not None and after <= before):
        return []
    keyword = "bsonType" if "bsonType" in old else "type"
    return [Loosening(path, keyword, old[keyword], None if after is None else sorted(after))]


def _enum(old: dict, new: dict, path: str) -> list[Loosening]:
    if "enum" not in old:
        return []
    if "enum" not in new:
        return [Loosening(path, "enum", old["enum"])]
    if not isinstance(old["enum"], list) or not isinstance(new["enum"], list):
        return [] if same(old["enum"], new["enum"]) else [Loosening(path, "enum", old["enum"], new["enum"])]
    allowed = {_canonical(value) for value in old["enum"]}
    added = [value for value in new["enum"] if _canonical(value) not in allowed]
    return [Loosening(path, "enum", old["enum"], new["enum"])] if added else []


def _bounds(old: dict, new: dict, path: str) -> list[Loosening]:
    found = [Loosening(path, k, old[k], new.get(k)) for k in LOWER_BOUNDS
             if _number(old.get(k)) and not _at_least(new.get(k), old[k])]
    found += [Loosening(path, k, old[k], new.get(k)) for k in UPPER_BOUNDS
              if k in old and not _at_least(old[k], new.get(k))]
    if "minimum" in old and not _bound_kept(old, new, "minimum", "exclusiveMinimum", 1):
        found.append(Loosening(path, "minimum", _bound(old, "minimum", "exclusiveMinimum"),
                               _bound(new, "minimum", "exclusiveMinimum")))
    if "maximum" in old and not _bound_kept(old, new, "maximum", "exclusiveMaximum", -1):
        found.append(Loosening(path, "maximum", _bound(old, "maximum", "exclusiveMaximum"),
                               _bound(new, "maximum", "exclusiveMaximum")))
    if "multipleOf" in old and not _multiple(new.get("multipleOf"), old["multipleOf"]):
        found.append(Loosening(path, "multipleOf", old["multipleOf"], new.get("multipleOf")))
    if old.get("uniqueItems") is True and new.get("uniqueItems") is not True:
        found.append(Loosening(path, "uniqueItems", True, new.get("uniqueItems", False)))
    return found


def _number(value: object) -> Decimal | None:
    """A numeric keyword value as a Decimal (None when it is not a number)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, Decimal128):
        return value.to_decimal()
    try:
        return Decimal(str(value)) if isinstance(value, (int, float)) else None
    except InvalidOperation:
        return None


def _at_least(value: object, than: object) -> bool:
    """`value` is a number >= `than` (False when either is missing or not a number)."""
    a, b = _number(value), _number(than)
    return a is not None and b is not None and a >= b


def _bound(schema: dict, keyword: str, exclusive: str) -> object:
    if keyword not in schema:
        return None
    return {keyword: schema[keyword], exclusive: True} if schema.get(exclusive) is True else schema[keyword]


def _bound_kept(old: dict, new: dict, keyword: str, exclusive: str, sign: int) -> bool:
    """The new bound is as tight: a lower bound (sign 1) no lower, an upper one (-1) no higher;
    at the same value, exclusive stays exclusive."""
    before, after = _number(old.get(keyword)), _number(new.get(keyword))
    if before is None:
        return same(old.get(keyword), new.get(keyword))
    if after is None:
        return False
    if after * sign != before * sign:
        return after * sign > before * sign
    return new.get(exclusive) is True or old.get(exclusive) is not True


def _multiple(value: object, of: object) -> bool:
    a, b = _number(value), _number(of)
    return a is not None and b is not None and b != 0 and a % b == 0


def _required(old: dict, new: dict, path: str) -> list[Loosening]:
    kept = set(_names(new.get("required")))
    return [Loosening(_join(path, name), "required", True) for name in _names(old.get("required"))
            if name not in kept]


def _names(value: object) -> list[str]:
    """The strings of a `required` list (a malformed value constrains nothing it can name)."""
    return [name for name in value if isinstance(name, str)] if isinstance(value, list) else []


def _object(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _properties(old: dict, new: dict, path: str) -> list[Loosening]:
    old_props, new_props = _object(old.get("properties")), _object(new.get("properties"))
    found: list[Loosening] = []
    for name, schema in old_props.items():
        if name in new_props:
            found += schema_loosenings(schema, new_props[name], _join(path, name))
        elif new.get("additionalProperties") is not False:  # false: the field is refused, stricter
            found += schema_loosenings(schema, _additional(new), _join(path, name))
    before = old.get("additionalProperties")
    if before is False:
        found += _closed_object(old_props, new, path)
    elif isinstance(before, dict):
        extra = [name for name in new_props if name not in old_props]
        if new.get("additionalProperties") is not False:
            found += schema_loosenings(before, _additional(new), _join(path, "*"))
        for name in extra:
            found += schema_loosenings(before, new_props[name], _join(path, name))
    return found


def _additional(schema: dict) -> dict:
    """The schema a property not named in `properties` gets ({} when anything goes)."""
    value = schema.get("additionalProperties")
    return value if isinstance(value, dict) else {}


def _closed_object(old_props: dict, new: dict, path: str) -> list[Loosening]:
    """Old `additionalProperties: false`: the new one must be closed too, to no more names."""
    if new.get("additionalProperties") is not False:
        return [Loosening(path, "additionalProperties", False, new.get("additionalProperties", True))]
    opened = sorted(name for name in _object(new.get("properties")) if name not in old_props)
    return [Loosening(path, "additionalProperties", False, f"false, but also allows {', '.join(opened)}")] if opened else []


def _items(old: dict, new: dict, path: str) -> list[Loosening]:
    before, after = old.get("items"), new.get("items")
    if isinstance(before, dict):
        targets = after if isinstance(after, list) else [after]
        found = [loose for target in targets for loose in schema_loosenings(before, target, path + "[]")]
        if isinstance(after, list) and new.get("additionalItems") is not False:
            found += schema_loosenings(before, _additional_items(new), path + "[]")
        return _unique(found)
    if isinstance(before, list):
        return _tuple_items(before, old, new, path)
    return []


def _tuple_items(before: list, old: dict, new: dict, path: str) -> list[Loosening]:
    after = new.get("items")
    found: list[Loosening] = []
    for position, schema in enumerate(before):
        if isinstance(after, list):
            target = after[position] if position < len(after) else _additional_items(new)
        else:
            target = after if isinstance(after, dict) else {}
        found += schema_loosenings(schema, target, f"{path}[{position}]")
    rest = old.get("additionalItems")
    if rest is False and not (isinstance(after, list) and len(after) <= len(before)
                              and new.get("additionalItems") is False):
        found.append(Loosening(path, "additionalItems", False, new.get("additionalItems", True)))
    elif isinstance(rest, dict) and not same(rest, new.get("additionalItems")):
        found.append(Loosening(path, "additionalItems", rest, new.get("additionalItems")))
    return found


def _additional_items(schema: dict) -> dict:
    value = schema.get("additionalItems")
    return value if isinstance(value, dict) else {}


def _unique(found: list[Loosening]) -> list[Loosening]:
    """Each loosening once (an old `items` held against every position of a new tuple repeats)."""
    return list({str(loose): loose for loose in found}.values())


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def level_rank(level: str | None) -> int:
    return LEVELS.index(level) if level in LEVELS else LEVELS.index(DEFAULT_LEVEL)


def action_rank(action: str | None) -> int:
    return ACTIONS.index(action) if action in ACTIONS else ACTIONS.index(DEFAULT_ACTION)


def stricter_level(a: str, b: str) -> str:
    return a if level_rank(a) >= level_rank(b) else b


def stricter_action(a: str, b: str) -> str:
    return a if action_rank(a) >= action_rank(b) else b
