"""Scale drivers read from the shape: arrays, document size, nesting, keys, collection counts."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timedelta

from nosql_advisor.bsontypes import NUMBER_TYPES
from nosql_advisor.findings import Finding
from nosql_advisor.redact import keyed_hashes
from nosql_advisor.rules import Rule, register
from nosql_advisor.schema.drift import declared_at

MIB = 1024 * 1024
LIMIT = 16 * MIB


def unbounded_arrays(landscape, thresholds: dict, config=None) -> list[Finding]:
    """DM101: arrays whose p99 or max length passes the thresholds, or that are large and have
    no maxItems in the declared schema. A GeoJSON geometry's `coordinates` is as long as the
    shape it draws, not a list that grows: it is left to DM102, which flags it when it grows
    with the document's age (a track appended to)."""
    findings = []
    for collection in landscape.collections:
        schema = collection.declared.schema if collection.declared is not None else None
        for field in collection.shape.fields:
            if field.array is None or not field.array.lengths or geometry_of(collection.shape, field):
                continue
            lengths = field.array.lengths
            declared = declared_at(schema, field.path) if schema else None
            max_items = declared.get("maxItems") if isinstance(declared, dict) else None
            over = lengths["p99"] > thresholds["p99_length"] or lengths["max"] > thresholds["max_length"]
            undeclared = max_items is None and lengths["max"] > thresholds["undeclared_length"]
            if not (over or undeclared):
                continue
            reason = (f"p99 {lengths['p99']:,}, max {lengths['max']:,} elements" if over else
                      f"up to {lengths['max']:,} elements and no maxItems declared")
            findings.append(Finding(
                "DM101", "high" if over else "medium", collection.info.namespace, field.path,
                f"'{field.path}' is an unbounded array: {reason}.",
                {"lengths": lengths, "arrays": field.array.count, "maxItems": max_items,
                 "thresholds": thresholds},
                "Bound it: keep the recent N in the document and the rest in their own collection "
                "(subset pattern), bucket them, or reference them from the other side; declare "
                "maxItems so the server enforces the bound."))
    return findings


GEOJSON_TYPES = ("Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon",
                 "GeometryCollection")


def geometry_of(shape, field) -> dict | None:
    """How `field` was found to be a GeoJSON geometry's `coordinates`, or None when it is not one.

    It is one when its name is `coordinates`, its elements are numbers nested in arrays, and the
    sibling `type` holds only strings that, where the shape can tell, are all GeoJSON type names.
    The shape tells through the `type` field's value hashes (every distinct value, keyed with
    this run's key: the names are hashed alike and compared) or its `string_values` (--enum);
    a shape read back from report.json carries neither, and then the sibling path and the
    nesting of numbers decide alone."""
    parent, _, name = field.path.rpartition(".")
    elements = set(field.array.element_types) if field.array else set()
    if name != "coordinates" or not elements & NUMBER_TYPES or not elements <= NUMBER_TYPES | {"array"}:
        return None
    type_path = f"{parent}.type" if parent else "type"
    sibling = shape.field(type_path)
    if sibling is None or set(sibling.types) - {"null"} != {"string"}:
        return None
    names = _geojson_names(sibling)
    if names is False:
        return None
    return {"type_path": type_path, "decided_by": "type values" if names else "type path and nested numbers"}


def _geojson_names(type_field) -> bool | None:
    """Whether every value of a `type` field is a GeoJSON type name; None when the shape keeps
    no trace of its values."""
    if type_field.string_values is not None:
        return set(type_field.string_values) <= set(GEOJSON_TYPES)
    if type_field.fingerprints is None:
        return None
    hashes, complete, _ = type_field.fingerprints
    return complete and set(hashes) <= set(keyed_hashes([*GEOJSON_TYPES, None]))  # None: a null `type`


def growing_arrays(landscape, thresholds: dict, config=None) -> list[Finding]:
    """DM102: arrays (top-level, or reached through objects: `route.coordinates`) whose length
    grows with the document's age, told in a reader's units: the p99 length in one and five
    years at the measured rate, and the 16 MiB date only when it is near enough to plan for.
    Severity follows that horizon."""
    findings = []
    for collection in landscape.collections:
        for field in collection.shape.fields:
            growth = field.array.growth if field.array else None
            if not growth or growth["correlation"] < thresholds["min_correlation"]:
                continue
            if growth["per_month"] < thresholds["min_per_month"]:
                continue
            findings.append(_growing(collection, field, growth, thresholds))
    return findings


def _growing(collection, field, growth: dict, thresholds: dict) -> Finding:
    size = collection.shape.document_size or {}
    measure = "p99" if field.array.nesting == 1 else "max"  # nested arrays' lengths join the p99
    horizon = growth_horizon(growth, (measure, field.array.lengths[measure]), size.get("p99", 0),
                             (collection.shape.created_range or {}).get("max"), thresholds)
    return Finding(
        "DM102", horizon_severity(horizon["years_to_16_mib"], thresholds), collection.info.namespace,
        field.path, _growing_message(field.path, growth, horizon, thresholds["medium_years"]),
        {**growth, **horizon, "p99_document_bytes": size.get("p99"),
         "lengths": field.array.lengths, "thresholds": thresholds},
        "Cap it (keep the recent N and move the rest to their own collection: subset pattern), "
        "or store one document per element in a child collection referencing the parent.")


def growth_horizon(growth: dict, length: tuple[str, int], p99_bytes: int, newest: str | None,
                   thresholds: dict) -> dict:
    """The array's length now and in 1 and 5 years at the measured rate, and when a p99 document
    reaches 16 MiB: in years, and as a month counted from the newest document sampled (not from
    the clock, so two scans of one input agree) when that is within `medium_years`.

    `length` is (measure, value): the p99 length, or the longest when the array holds arrays
    (a track of [lon, lat] points), whose lengths the shape's distribution mixes with its own."""
    measure, now = length
    # never zero or less, even with a configured min_per_month of 0
    bytes_per_month = max(growth["per_month"], 1e-6) * max(growth["bytes_per_element"], 1.0)
    months = max(LIMIT - p99_bytes, 0) / bytes_per_month
    years = months / 12
    near = years <= thresholds["medium_years"] and newest is not None
    return {"length_measure": measure, "length_now": now,
            "length_in_1_year": round(now + growth["per_month"] * 12),
            "length_in_5_years": round(now + growth["per_month"] * 60),
            "months_to_16_mib": round(months), "years_to_16_mib": round(years, 1),
            "reaches_16_mib_around": _month_after(newest, months) if near else None,
            "counted_from": newest if near else None}


def _month_after(iso: str, months: float) -> str:
    start = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return (start + timedelta(days=months * 30.44)).strftime("%Y-%m")


def horizon_severity(years: float, thresholds: dict) -> str:
    """high when a p99 document reaches 16 MiB within `high_years`, medium within
    `medium_years`, low beyond: an array that needs centuries is a note, not a risk."""
    if years <= thresholds["high_years"]:
        return "high"
    return "medium" if years <= thresholds["medium_years"] else "low"


def _growing_message(path: str, growth: dict, horizon: dict, medium_years: float) -> str:
    measure = "p99 length" if horizon["length_measure"] == "p99" else "longest"
    said = (f"'{path}' grows with document age: {growth['per_month']:+,.1f} elements per month "
            f"(correlation {growth['correlation']:.2f}, ~{growth['bytes_per_element']:,.0f} bytes each); "
            f"the {measure} ({horizon['length_now']:,}) becomes about {horizon['length_in_1_year']:,} "
            f"in a year and {horizon['length_in_5_years']:,} in five")
    if horizon["reaches_16_mib_around"]:
        return (f"{said}, and a p99 document reaches the 16 MiB limit in about "
                f"{horizon['years_to_16_mib']:,} years (around {horizon['reaches_16_mib_around']}).")
    return f"{said}; at this rate the document size limit is more than {medium_years:g} years away."


def document_size(landscape, thresholds: dict, config=None) -> list[Finding]:
    """DM103: documents whose p99 or max BSON size heads for the 16 MiB limit; `critical` when
    one is over it (MongoDB cannot store it: the data did not come from MongoDB as it is, or
    will not go back into it)."""
    findings = []
    for collection in landscape.collections:
        size = collection.shape.document_size
        if not size:
            continue
        over = size["max"] > LIMIT
        high = size["max"] >= thresholds["max_bytes"]
        if not high and size["p99"] < thresholds["p99_bytes"]:
            continue
        findings.append(Finding(
            "DM103", "critical" if over else "high" if high else "medium", collection.info.namespace, None,
            _size_message(size, over),
            {"document_size": size, "limit_bytes": LIMIT, "over_limit": over, "thresholds": thresholds},
            "Move large or growing parts out of the document: GridFS or object storage for file "
            "contents, a separate collection for long histories (subset or outlier pattern)."))
    return findings


def _size_message(size: dict, over: bool) -> str:
    if over:
        return (f"a document of {size['max'] / MIB:.1f} MiB ({size['max']:,} bytes) is over MongoDB's 16 MiB "
                f"document limit: the server refuses to store it (p99 {size['p99'] / MIB:.2f} MiB).")
    return (f"documents reach {size['max'] / MIB:.1f} MiB (p99 {size['p99'] / MIB:.2f} MiB), "
            f"{size['max'] / LIMIT:.0%} of the 16 MiB limit.")


def deep_nesting(landscape, thresholds: dict, config=None) -> list[Finding]:
    """DM104: the deepest path of a collection past the depth threshold."""
    findings = []
    for collection in landscape.collections:
        shape = collection.shape
        if shape.max_depth <= thresholds["max_depth"] and not shape.too_deep:
            continue
        deepest = max(shape.fields, key=lambda f: f.depth)
        top = deepest.path.split(".")[0]
        findings.append(Finding(
            "DM104", "medium", collection.info.namespace, top,
            f"'{top}' nests {shape.max_depth} levels deep (threshold {thresholds['max_depth']}).",
            {"max_depth": shape.max_depth, "deepest_path_levels": deepest.depth,
             "too_deep": shape.too_deep, "thresholds": thresholds},
            "Flatten it: store trees with the parent-reference, child-reference or materialized "
            "path pattern; deep paths are hard to index, query and update."))
    return findings


KEY_LIKE = [("date", re.compile(r"^\d{4}-\d{2}(-\d{2})?")), ("number", re.compile(r"^\d+$")),
            ("hex id", re.compile(r"^[0-9a-fA-F]{16,}$")), ("uuid", re.compile(r"^[0-9a-f-]{36}$"))]


def field_name_explosion(landscape, thresholds: dict, config=None) -> list[Finding]:
    """DM105: objects whose keys are data (dates, ids, numbers), or too many to be a schema."""
    findings = []
    for collection in landscape.collections:
        children: dict[str, list[str]] = defaultdict(list)
        for field in collection.shape.fields:
            parent, _, name = field.path.rpartition(".")
            children[parent].append(name)
        capped = collection.shape.capped.at if collection.shape.capped else {}
        for parent, names in children.items():
            kind, share = _key_kind(names)
            many = len(names) + capped.get(parent, 0) > thresholds["max_keys"]
            data_keys = len(names) >= thresholds["min_keys"] and share >= thresholds["pattern_share"]
            if parent and (many or data_keys):
                findings.append(_explosion(collection, parent, names, kind, share, capped.get(parent, 0)))
    return findings


def _key_kind(names: list[str]) -> tuple[str | None, float]:
    best, best_share = None, 0.0
    for kind, pattern in KEY_LIKE:
        share = sum(1 for n in names if pattern.match(n)) / len(names)
        if share > best_share:
            best, best_share = kind, share
    return best, best_share


def _explosion(collection, parent: str, names: list[str], kind: str | None, share: float, dropped: int) -> Finding:
    said = f"; {share:.0%} of them look like {kind}s" if kind and share >= 0.5 else ""
    return Finding(
        "DM105", "medium", collection.info.namespace, parent,
        f"'{parent}' has {len(names):,} distinct keys{' (and more past the path cap)' if dropped else ''}{said}: "
        "data is used as field names.",
        {"distinct_keys": len(names), "keys_past_cap": dropped, "key_kind": kind, "key_kind_share": round(share, 4)},
        "Use the attribute pattern: an array of {k, v} subdocuments (one index on k and v serves every "
        "key), or a bucket collection keyed by the date or id.")


def name_patterns(namespaces: list[str], least: int) -> dict[tuple[str, str], list[str]]:
    """Groups of at least `least` collections whose names differ only by digits: (db, pattern)."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for namespace in namespaces:
        database, _, name = namespace.partition(".")
        groups[(database, re.sub(r"\d+", "*", name))].append(name)
    return {key: names for key, names in groups.items() if "*" in key[1] and len(names) >= least}


def collections_per_pattern(landscape, thresholds: dict, config=None) -> list[Finding]:
    """DM106: many collections whose names differ only by a number, date or tenant id."""
    groups = name_patterns([c.info.namespace for c in landscape.collections], thresholds["min_collections"])
    findings = []
    for (database, pattern), names in sorted(groups.items()):
        findings.append(Finding(
            "DM106", "medium", f"{database}.{pattern}", None,
            f"{len(names)} collections named {pattern}: one collection per tenant, day or id.",
            {"collections": sorted(names), "count": len(names), "thresholds": thresholds},
            "Use one collection with the varying part as a field (tenant_id, day) leading its "
            "indexes; every collection costs files, indexes and cache on the server."))
    return findings


register(Rule("DM101", "unbounded array: length large or with no upper bound in the declared schema",
              "high", "scale drivers", unbounded_arrays,
              {"p99_length": 200, "max_length": 1000, "undeclared_length": 50}))
register(Rule("DM102", "growing array: length grows with document age", "medium", "scale drivers",
              growing_arrays, {"min_correlation": 0.5, "min_per_month": 0.5, "high_years": 2, "medium_years": 10}))
register(Rule("DM103", "document size risk: p99/max BSON size heading for the 16 MiB limit",
              "high", "scale drivers", document_size, {"p99_bytes": 1 * MIB, "max_bytes": 4 * MIB}))
register(Rule("DM104", "deep nesting", "medium", "scale drivers", deep_nesting, {"max_depth": 10}))
register(Rule("DM105", "field-name explosion: data used as keys under one object", "medium",
              "model the domain", field_name_explosion,
              {"max_keys": 200, "min_keys": 20, "pattern_share": 0.8}))
register(Rule("DM106", "collection-per-tenant / too many collections of one pattern", "medium",
              "scale drivers", collections_per_pattern, {"min_collections": 5, "family_min_collections": 3}))
