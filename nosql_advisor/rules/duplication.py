"""DM201: data copied from another collection with no documented source of truth.

Matching is by value fingerprints (each field's sketch's sample of distinct values, hashed with
the run's random key: redact.py), so it works across collections and sources and never holds a
value, nor a hash another run could match. A field of X references Y when its
values are (almost all) among Y's `_id`s; a string field of X copies Y.g when its values are among
Y.g's. A copy counts as duplicated data only when X also references Y (or, with no `_id`
reference, when another copied field is a unique key of Y and so serves as the reference): the
join that makes it an extended reference. Joins stay within one database: equal values across
databases (a theater's zip code and state against a zip-code reference table elsewhere) are
more often shared reference data than one model's copies.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from itertools import chain

from nosql_advisor.findings import Finding
from nosql_advisor.rules import Rule, register
from nosql_advisor.schema.drift import declared_at


def percent(share: float) -> str:
    return f"{share:.0%}" if share in (0, 1) else f"{share:.1%}"


def containment(a: tuple[list[int], bool, float], b: tuple[list[int], bool, float], least: int) -> float | None:
    """Share of A's distinct values that are among B's, estimated from the fingerprints. Both
    hold the values whose stable hash falls in the lowest `share` of the hash space; a value of
    A can only be found in B when it falls in B's part, so A's values are counted in the part
    both cover (all of A's when B's is the larger)."""
    hashes, complete, share = b
    if not a[0] or not hashes:
        return None
    considered = len(a[0]) * (1.0 if complete else min(1.0, share / a[2]))
    if considered < least:
        return None
    return min(1.0, len(set(a[0]).intersection(hashes)) / considered)


def row_containment(rows: list[dict], path: str, b: tuple[list[int], bool, float], least: int) -> float | None:
    """Share of A's sampled documents whose value at `path` is among B's values. Weighted by
    documents, not distinct values: when most copies name a few sources (a top commenter) and a
    tail names sources the sample of B lacks, this is the share a reader of A would see. When B
    holds only part of its values, the documents of A counted are the expected share of them."""
    hashes, complete, share = b
    values = [row[path] for row in rows if path in row]
    considered = len(values) * (1.0 if complete else share)
    if considered < least:
        return None
    held = set(hashes)
    return min(1.0, sum(h in held for h in values) / considered)


def _candidates(landscape, least: int):
    for collection in landscape.collections:
        for field in collection.shape.fields:
            if field.fingerprints and field.distinct_estimate >= least:
                yield collection, field


COMMON_VALUE_FIELDS = 64


def matches(landscape, thresholds: dict) -> dict[tuple[str, str], list[tuple[str, str, float]]]:
    """(X namespace, Y namespace) -> [(X path, Y path, containment, X field, Y field, measured by)]
    above the threshold: by distinct values, or failing that by X's sampled documents."""
    least = thresholds["min_distinct"]
    fields = [(c.info.namespace, f, c.shape.rows or []) for c, f in _candidates(landscape, least)]
    owners = defaultdict(list)  # hash -> indexes into fields of the fields that hold it
    for number, (_, field, _) in enumerate(fields):
        for h in field.fingerprints[0]:
            owners[h].append(number)
    for h, holders in owners.items():
        if len(holders) > COMMON_VALUE_FIELDS:
            holders.clear()  # a value many fields hold (0, 1, "", a flag) says nothing of copying
    found = defaultdict(list)
    for namespace, field, rows in fields:
        if field.path == "_id":
            continue
        hits = Counter(chain.from_iterable(map(owners.__getitem__, field.fingerprints[0])))  # counted in C
        database = namespace.partition(".")[0]
        ranked = sorted(((-count, fields[n][0], fields[n][1].path, n) for n, count in hits.items()
                         if fields[n][0] != namespace and fields[n][0].partition(".")[0] == database))
        for minus_count, target, path, number in ranked[:5]:
            if -minus_count < least * thresholds["min_containment"]:
                break
            other = fields[number][1]
            share, by = containment(field.fingerprints, other.fingerprints, least), "distinct values"
            if share is None or share < thresholds["min_containment"]:
                share, by = row_containment(rows, field.path, other.fingerprints, least), "sampled documents"
            if share is not None and share >= thresholds["min_containment"]:
                found[(namespace, target)].append((field.path, path, round(share, 4), field, other, by))
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


def joins(landscape, thresholds: dict, config):
    """(X namespace, Y namespace) -> (references, copies): the fields of X that point at Y (its
    `_id`, or failing that a unique key of Y that X copies) and the string fields of X whose
    values are among a field of Y's. Equal values with no reference between are no join."""
    joined = {}
    for (source, target), pairs in sorted(matches(landscape, thresholds).items()):
        references = [p for p in pairs if p[1] == "_id"]
        copies = [p for p in pairs if p[1] != "_id" and "string" in p[3].types and p[0] not in config.tenant_keys]
        if not references:
            keys = [p for p in copies if p[4].distinct_estimate >= 0.95 * p[4].count]
            if not keys:
                continue  # no join between the collections: equal values, not a copy
            reference = sorted(keys, key=lambda p: (-p[2], p[0]))[0]
            references, copies = [reference], [p for p in copies if p is not reference]
        joined[(source, target)] = (references, copies)
    return joined


def undocumented_copies(landscape, thresholds: dict, config) -> list[Finding]:
    by_namespace = {c.info.namespace: c for c in landscape.collections}
    findings = []
    for (source, target), (references, copies) in joins(landscape, thresholds, config).items():
        collection = by_namespace[source]
        for path, target_path, share, field, _, by in sorted(copies, key=lambda p: p[0]):
            if _documented(collection, path, target, config):
                continue
            findings.append(Finding(
                "DM201", "medium", source, path,
                f"'{path}' copies {target}.{target_path} ({percent(share)} of its {by} found there), "
                f"joined through {', '.join(r[0] for r in references)}; no source of truth is documented.",
                {"copy_of": f"{target}.{target_path}", "containment": share, "measured_by": by,
                 "joined_through": [f"{r[0]} -> {target}.{r[1]}" for r in references],
                 "distinct_estimate": field.distinct_estimate},
                f"Document the source of truth (a $jsonSchema description 'source of truth: {target}.{target_path}' "
                "or the config) and how copies are kept in sync (a change stream, or an update on write); "
                "or drop the copy and $lookup when reading."))
    return findings


register(Rule("DM201", "duplicated data with no documented source of truth", "medium", "avoid duplication",
              undocumented_copies, {"min_containment": 0.8, "min_distinct": 20}))


# -- DM202: copies that no longer equal their source -----------------------------------------

def joined_rows(copy_rows: list[dict], source_rows: list[dict], reference: str, key: str) -> list[tuple[dict, dict]]:
    """Each sampled row of X whose `reference` resolves to a sampled row of Y (by Y's `key`)."""
    index = {row[key]: row for row in source_rows if key in row}
    return [(row, index[row[reference]]) for row in copy_rows if row.get(reference) in index]


def agreement(pairs: list[tuple[dict, dict]], path: str, source_path: str) -> tuple[int, int]:
    """(rows where both hold a value, rows where the values are equal)."""
    both = [(x[path], y[source_path]) for x, y in pairs if path in x and source_path in y]
    return len(both), sum(a == b for a, b in both)


def _copy_fields(collection, exclude: set[str], thresholds: dict) -> list[str]:
    """String fields with enough distinct values to tell a copy from a coincidence."""
    return [f.path for f in collection.shape.fields
            if "string" in f.types and f.distinct_estimate >= thresholds["min_distinct"] and f.path not in exclude]


def _best_source(pairs, path: str, candidates: list[str]) -> tuple[str, int, int] | None:
    scored = [(source_path, *agreement(pairs, path, source_path)) for source_path in candidates]
    scored = [s for s in scored if s[1]]
    return max(scored, key=lambda s: (s[2] / s[1], s[1], s[0]), default=None)


def drifted_copies(landscape, thresholds: dict, config) -> list[Finding]:
    """DM202: for each join, the copied fields whose joined rows mostly agree with a field of the
    source (a copy) but not all do (drift). Documented or not: a documented copy can drift too."""
    by_namespace = {c.info.namespace: c for c in landscape.collections}
    findings = []
    for (source, target), (references, _) in joins(landscape, thresholds, config).items():
        copy, origin = by_namespace[source], by_namespace[target]
        for reference, key, *_ in references:
            pairs = joined_rows(copy.shape.rows or [], origin.shape.rows or [], reference, key)
            if len(pairs) < thresholds["min_joined"]:
                continue
            exclude = {reference, *config.tenant_keys}
            candidates = _copy_fields(origin, {"_id", key, *config.tenant_keys}, thresholds)
            for path in _copy_fields(copy, exclude, thresholds):
                best = _best_source(pairs, path, candidates)
                if best is None:
                    continue
                source_path, both, equal = best
                differ = both - equal
                if both < thresholds["min_joined"] or equal / both < thresholds["min_agreement"]:
                    continue  # not a copy of that field
                if differ / both < thresholds["min_share"]:
                    continue
                findings.append(_drift_finding(source, path, target, source_path, reference, key,
                                               both, differ, len(copy.shape.rows or []),
                                               _documented(copy, path, target, config)))
    return findings


def _drift_finding(source, path, target, source_path, reference, key, joined, differ, rows, documented) -> Finding:
    share = round(differ / joined, 4)
    return Finding(
        "DM202", "high", source, path,
        f"'{path}' differs from {target}.{source_path} in {differ:,} of {joined:,} copies joined to their "
        f"source ({share:.0%}), joined through {reference} -> {target}.{key}.",
        {"copy_of": f"{target}.{source_path}", "joined_through": f"{reference} -> {target}.{key}",
         "joined": joined, "differ": differ, "share": share, "rows_sampled": rows,
         "source_of_truth_documented": documented},
        f"Resynchronise the copies from {target} once, then keep them in sync where {target} changes "
        "(a change stream, or update the copies in the same transaction); if the copy is meant to be a "
        "snapshot (the name at the time of the order), document that in its description; or stop "
        "copying and $lookup on read.")


register(Rule("DM202", "duplicated data that has drifted from its source", "high", "avoid duplication",
              drifted_copies, {"min_containment": 0.8, "min_distinct": 20, "min_joined": 20,
                               "min_agreement": 0.5, "min_share": 0.01}))
