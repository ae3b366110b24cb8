"""Drift: the declared schema held against the shape (and the validation tally), as findings.

DM501 no validator, DM502 weak validation, DM503 documents that fail the declared schema,
DM504 fields the schema does not declare, DM505 a field holding several types (and when).
Each finding carries the figures that prove it; none is raised without them. A share measured
on a sample (the documents failing, the values of a minority type) carries its 95% interval in
the evidence (`failing_share`, `minority_share`: {"share", "ci"}) and the message, since 3 of 100
sampled documents and 30 of 1,000 say the same 3% with very different certainty; a share read
from every document is marked exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nosql_advisor.bsontypes import NUMBER_TYPES
from nosql_advisor.confidence import evidence_text, shape_share, share_interval
from nosql_advisor.findings import Finding
from nosql_advisor.schema.load import DeclaredSchema
from nosql_advisor.schema.validate import ValidationResult
from nosql_advisor.shape import CollectionShape, FieldShape

OPEN = object()  # a path under a schema that allows anything there (no properties declared)


@dataclass
class Drift:
    """Path-level differences between a declared schema and the data."""

    undeclared: list[FieldShape] = field(default_factory=list)  # in the data, not in the schema
    never_seen: list[str] = field(default_factory=list)  # declared, never in the sample


def declared_at(schema: dict, path: str):
    """The subschema declared for a dot path (arrays transparent), OPEN when the schema leaves
    that level open, None when the parent declares properties and this name is not among them."""
    node = schema
    for name in path.split("."):
        node = _properties_holder(node)
        if node is None:
            return OPEN
        properties = node.get("properties") or {}
        if name in properties:
            node = properties[name]
        elif node.get("patternProperties") or isinstance(node.get("additionalProperties"), dict):
            return OPEN
        else:
            return None
    return node


def _properties_holder(node: dict) -> dict | None:
    """Where the next level's properties are: the node itself, or its array `items`."""
    if not isinstance(node, dict):
        return None
    if "properties" in node:
        return node
    items = node.get("items")
    if isinstance(items, dict) and "properties" in items:
        return items
    return None


def compare(shape: CollectionShape, schema: dict) -> Drift:
    drift = Drift()
    undeclared_parents: list[str] = []
    for field_shape in shape.fields:
        if any(field_shape.path.startswith(parent + ".") for parent in undeclared_parents):
            continue
        if declared_at(schema, field_shape.path) is None:
            drift.undeclared.append(field_shape)
            undeclared_parents.append(field_shape.path)
    seen = {f.path for f in shape.fields}
    drift.never_seen = [path for path in _declared_paths(schema) if path not in seen]
    return drift


def _declared_paths(schema: dict, prefix: str = "") -> list[str]:
    holder = _properties_holder(schema)
    if holder is None:
        return []
    paths = []
    for name, child in (holder.get("properties") or {}).items():
        path = f"{prefix}.{name}" if prefix else name
        paths.append(path)
        paths.extend(_declared_paths(child, path))
    return paths


def drift_findings(shape: CollectionShape, server: DeclaredSchema | None, declared: DeclaredSchema | None,
                   validation: ValidationResult | None, knows_options: bool) -> list[Finding]:
    """Findings DM501–DM505 for one collection.

    `server` is the validator the server (or the dump's metadata) holds, `declared` the schema
    compared with the data (the schema file when there is one, else the server's), and
    `knows_options` whether the source can tell (an export file cannot: no DM501/DM502 then).
    """
    findings: list[Finding] = []
    if knows_options:
        findings += _validator_findings(shape, server)
    if declared is not None and declared.schema is not None:
        if validation is not None and validation.failed:
            findings.append(_violations(shape, declared, validation))
        findings += [_undeclared(shape, f, declared) for f in compare(shape, declared.schema).undeclared]
    findings += [_type_drift(shape, f) for f in shape.fields if len(_non_null(f.types)) > 1]
    return findings


def _validator_findings(shape: CollectionShape, server: DeclaredSchema | None) -> list[Finding]:
    ns = shape.namespace
    if server is None:
        return [Finding("DM501", "medium", ns, None,
                        f"{ns} has no validator: nothing stops a document of any shape from being written.",
                        {"documents_estimated": shape.documents_estimated},
                        "Generate a validator from the data (nosql-advisor validators), review it, and "
                        "apply it with collMod in validationAction 'warn' first, then 'error'.")]
    weak = {}
    if server.validation_action == "warn":
        weak["validationAction"] = "warn"
    if server.validation_level in ("off", "moderate"):
        weak["validationLevel"] = server.validation_level
    if not weak:
        return []
    said = ", ".join(f"{k} '{v}'" for k, v in weak.items())
    return [Finding("DM502", "low", ns, None,
                    f"{ns} has a validator but {said}: invalid documents are still written.",
                    weak, "Once the data passes (see DM503), collMod the collection to "
                          "validationLevel 'strict' and validationAction 'error'.")]


def _violations(shape: CollectionShape, declared: DeclaredSchema, validation: ValidationResult) -> Finding:
    top = [{"path": r.path, "keyword": r.keyword, "documents": r.count,
            "share": round(r.count / validation.checked, 6), "example_id": r.example_id,
            "detail": r.detail} for r in validation.top_rules]
    failing = failing_share(shape, validation)
    read = "documents (every document read)" if failing.get("exact") else "sampled documents"
    return Finding(
        "DM503", "high", shape.namespace, None,
        f"{validation.failed:,} of {validation.checked:,} {read} fail the declared schema "
        f"({declared.origin}): {evidence_text(failing)}{'' if failing.get('stratified') else ' of the collection'}.",
        {"checked": validation.checked, "failed": validation.failed, "share": validation.share,
         "failing_share": failing, "schema": declared.origin, "top_rules": top},
        "Fix the documents that fail (each rule names an example _id) or change the schema where "
        "the data is right; then enforce it with validationAction 'error'.")


def failing_share(shape: CollectionShape, validation: ValidationResult) -> dict:
    """The share of documents failing the schema, with its 95% interval unless every document
    was checked. The client checks the documents it read: under --exact those are the first
    (sampling) pass's, so the share is a sample's even though the shape's counts are exact."""
    if shape.method == "full" or (shape.strata and shape.method == "sample"):  # stratified: the sample's share
        return shape_share(shape, validation.failed, validation.checked)
    return share_interval(validation.failed, validation.checked, shape.documents_estimated)


def _undeclared(shape: CollectionShape, field_shape: FieldShape, declared: DeclaredSchema) -> Finding:
    return Finding(
        "DM504", "low", shape.namespace, field_shape.path,
        f"'{field_shape.path}' is in {field_shape.probability:.1%} of its parents' occurrences but "
        f"not declared in {declared.origin}.",
        {"count": field_shape.count, "probability": field_shape.probability, "types": field_shape.types,
         "schema": declared.origin},
        "Declare the field (type and meaning) or stop writing it; with additionalProperties: false "
        "the server will reject undeclared fields.")


def _type_drift(shape: CollectionShape, field_shape: FieldShape) -> Finding:
    types = _non_null(field_shape.types)
    evidence = {"types": field_shape.types}
    when = ""
    if field_shape.type_times:
        evidence["type_times"] = field_shape.type_times
        evidence["timeline"], when = _when(field_shape.type_times, types)
    ranked = ", ".join(f"{name} {count:,}" for name, count in sorted(types.items(), key=lambda i: -i[1]))
    if "double" in types and field_shape.fractional_doubles is not None:
        evidence["fractional_doubles"] = field_shape.fractional_doubles
    evidence["mix"], severity, harm = weigh_mix(set(types), field_shape.fractional_doubles, types.get("double", 0))
    values = sum(types.values())
    evidence["minority_share"] = minority = shape_share(shape, values - max(types.values()), values)
    return Finding(
        "DM505", severity, shape.namespace, field_shape.path,
        f"'{field_shape.path}' holds several types: {ranked} (types other than the commonest: "
        f"{evidence_text(minority)} of its values). {harm}{when}",
        evidence,
        "Pick one type, migrate the others (an update with $convert or $toDecimal...), and declare "
        "it with bsonType so new writes cannot drift again.")


def weigh_mix(types: set[str], fractional_doubles: int | None = None, doubles: int = 0) -> tuple[str, str, str]:
    """(mix, severity, what it breaks) for the non-null types of one field.

    int, long and double compare, sort and index as one number type in MongoDB: a mix of them
    holding whole numbers breaks nothing a query sees (`info`). When `fractional_doubles` of the
    `doubles` hold fractions the field mixes integers and fractions, which readers expecting
    an int get wrong (`low`, with the count); unknown (None: a shape without the count) is `low`
    too, and says so. A decimal beside a double is money that has lost precision somewhere, and
    a number beside a string, or a scalar beside an array, splits every query, sort and index:
    `medium`."""
    if types <= {"int", "long"}:
        return ("whole numbers", "info", "int and long compare, sort and index as one number type in "
                "MongoDB: only strictly typed readers see two types.")
    if types <= {"int", "long", "double"}:
        return _integers_and_doubles(fractional_doubles, doubles)
    if {"decimal", "double"} <= types and types <= NUMBER_TYPES:
        return ("decimal and double", "medium", "A decimal beside a double: doubles cannot hold most decimal "
                "amounts exactly, so the values written as double (money, say) have lost precision.")
    if types <= NUMBER_TYPES:
        return ("decimal and whole numbers", "low", "They compare as one number type, but arithmetic mixes "
                "decimal and binary results.")
    return ("different kinds", "medium", "Queries, sorts and indexes treat each type apart: a range "
            "query on one never matches the others.")


def _integers_and_doubles(fractional_doubles: int | None, doubles: int) -> tuple[str, str, str]:
    """int/long beside double, weighed by how many of the doubles hold fractions."""
    if fractional_doubles == 0:
        return ("whole numbers", "info", "int, long and double holding whole numbers compare, sort and "
                "index as one number type in MongoDB: only strictly typed readers see two types.")
    if fractional_doubles is None:
        return ("int and double", "low", "They compare and index as one number type in MongoDB, but the "
                "doubles were not checked for fractions (the shape does not keep them).")
    return ("int and double", "low", f"{_how_many_fractions(fractional_doubles, doubles)}: a real mix of "
            "integers and fractions, one number type to queries and indexes but not to a reader that "
            "expects an int.")


def _how_many_fractions(fractional_doubles: int, doubles: int) -> str:
    if fractional_doubles == doubles == 1:
        return "The double holds a fraction"
    if fractional_doubles == doubles:
        return f"All {doubles:,} doubles hold fractions"
    return f"{fractional_doubles:,} of the {doubles:,} doubles hold fractions"


def _when(type_times: dict, types: dict[str, int]) -> tuple[str, str]:
    """('changed', 'It changed from string to decimal: string until 2025-03-01, decimal since
    2025-03-02.') when each type's time range ends before the next one begins; ('mixed', ...)
    when the ranges overlap (types written side by side over the same days are a mix, not a
    migration). Ranges are the creation seconds of the documents holding each type."""
    spans = sorted((type_times[t]["first"], type_times[t]["last"], t) for t in types if t in type_times)
    if len(spans) < 2:
        return "unknown", ""
    if all(before[1] < after[0] for before, after in zip(spans, spans[1:])):
        steps = ", ".join(f"{name} {first[:10]} to {last[:10]}" for first, last, name in spans)
        if len(spans) == 2:
            (_, until, old), (since, _, new) = spans
            steps = f"{old} until {until[:10]}, {new} since {since[:10]}"
        return "changed", f" It changed from {spans[0][2]} to {spans[-1][2]}: {steps}."
    first, last = min(s[0] for s in spans)[:10], max(s[1] for s in spans)[:10]
    period = f"on {first}" if first == last else f"between {first} and {last}"
    return "mixed", f" The types are mixed, not a change: written side by side {period}."


def _non_null(types: dict[str, int]) -> dict[str, int]:
    return {name: count for name, count in types.items() if name != "null"}
