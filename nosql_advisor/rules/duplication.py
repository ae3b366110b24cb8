"""DM201: data copied from another collection with no documented source of truth.

Matching is by value fingerprints (the k smallest stable hashes each field's sketch keeps), so it
works across collections and sources and never holds a value. A field of X references Y when its
values are (almost all) among Y's `_id`s; a string field of X copies Y.g when its values are among
Y.g's. A copy counts as duplicated data only when X also references Y (or, with no `_id`
reference, when another copied field is a unique key of Y and so serves as the reference): the
join that makes it an extended reference.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from nosql_advisor.findings import Finding
from nosql_advisor.rules import Rule, register
from nosql_advisor.schema.drift import declared_at


def containment(a: tuple[list[int], bool], b: tuple[list[int], bool], least: int) -> float | None:
    """Share of A's distinct values that are among B's, estimated from the fingerprints."""
    hashes, complete = b
    if not a[0] or not hashes:
        return None
    considered = a[0] if complete else [h for h in a[0] if h <= hashes[-1]]
    if len(considered) < least:
        return None
    held = set(hashes)
    return sum(h in held for h in considered) / len(considered)


def _candidates(landscape, least: int):
    for collection in landscape.collections:
        for field in collection.shape.fields:
            if field.fingerprints and field.distinct_estimate >= least:
                yield collection, field


def matches(landscape, thresholds: dict) -> dict[tuple[str, str], list[tuple[str, str, float]]]:
    """(X namespace, Y namespace) -> [(X path, Y path, containment)] above the threshold."""
    least = thresholds["min_distinct"]
    owners = defaultdict(list)
    fields = list(_candidates(landscape, least))
    for collection, field in fields:
        for h in field.fingerprints[0]:
            owners[h].append((collection.info.namespace, field))
    found = defaultdict(list)
    for collection, field in fields:
        namespace = collection.info.namespace
        if field.path == "_id":
            continue
        hits = Counter((ns, other.path) for h in field.fingerprints[0] for ns, other in owners[h] if ns != namespace)
        for (target, path), count in hits.most_common(5):
            if count < least * thresholds["min_containment"]:
                break
            other = next(f for ns, f in ((c.info.namespace, f) for c, f in fields) if ns == target and f.path == path)
            share = containment(field.fingerprints, other.fingerprints, least)
            if share is not None and share >= thresholds["min_containment"]:
                found[(namespace, target)].append((field.path, path, round(share, 4), field, other))
    return found


def _documented(collection, path: str, target: str, config) -> bool:
    """`source of truth: db.coll[.path]` in the declared schema (on the field or a parent), or
    the config's sources_of_truth."""
    namespace = collection.info.namespace
    parts = path.split(".")
    prefixes = [".".join(parts[:i]) for i in range(len(parts), 0, -1)]
    if any(f"{namespace}.{p}" in config.sources_of_truth for p in prefixes):
        return True
    schema = collection.declared.schema if collection.declared is not None else None
    for prefix in prefixes if schema else []:
        node = declared_at(schema, prefix)
        description = node.get("description", "") if isinstance(node, dict) else ""
        if f"source of truth: {target}" in description.lower():
            return True
    return False


def undocumented_copies(landscape, thresholds: dict, config) -> list[Finding]:
    by_namespace = {c.info.namespace: c for c in landscape.collections}
    findings = []
    for (source, target), pairs in sorted(matches(landscape, thresholds).items()):
        references = [p for p in pairs if p[1] == "_id"]
        copies = [p for p in pairs if p[1] != "_id" and "string" in p[3].types and p[0] not in config.tenant_keys]
        if not references:
            keys = [p for p in copies if p[4].distinct_estimate >= 0.95 * p[4].count]
            if not keys:
                continue  # no join between the collections: equal values, not a copy
            reference = sorted(keys, key=lambda p: (-p[2], p[0]))[0]
            references, copies = [reference], [p for p in copies if p is not reference]
        collection = by_namespace[source]
        for path, target_path, share, field, _ in sorted(copies, key=lambda p: p[0]):
            if _documented(collection, path, target, config):
                continue
            findings.append(Finding(
                "DM201", "medium", source, path,
                f"'{path}' copies {target}.{target_path} ({share:.0%} of its distinct values found there), "
                f"joined through {', '.join(r[0] for r in references)}; no source of truth is documented.",
                {"copy_of": f"{target}.{target_path}", "containment": share,
                 "joined_through": [f"{r[0]} -> {target}.{r[1]}" for r in references],
                 "distinct_estimate": field.distinct_estimate},
                f"Document the source of truth (a $jsonSchema description 'source of truth: {target}.{target_path}' "
                "or the config) and how copies are kept in sync (a change stream, or an update on write); "
                "or drop the copy and $lookup when reading."))
    return findings


register(Rule("DM201", "duplicated data with no documented source of truth", "medium", "avoid duplication",
              undocumented_copies, {"min_containment": 0.8, "min_distinct": 20}))
