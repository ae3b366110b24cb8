"""DM201: data copied from another collection with no documented source of truth; DM202: copies
that no longer equal their source.

Both read the references of rules/references.py: a field of X that holds the `_id`s (or a unique
key) of Y. Through it, X's documents are lined up with Y's on the row samples, and every field
riding with the reference (beside it, or in the embedded object it belongs to) is held against
each field of Y: agreement far above chance makes a copy, whatever its cardinality (a four-valued
tier as much as an email), and the share of joined copies that differ is DM202's figure.

Where the row samples do not join enough documents (large collections whose samples hold few
common documents), value fingerprints still find high-cardinality string copies: a string field of
X whose values are among a field of Y's, when X also references Y. A field the joined documents
did examine is judged by them alone, so one copy is reported once, and two fields drawn from one
list of values (equal value sets by chance) are not taken for a copy. Joins stay within one
database: equal values across databases (a theater's zip code and state against a zip-code
reference table elsewhere) are more often shared reference data than one model's copies.
"""

from __future__ import annotations

from nosql_advisor.findings import Finding
from nosql_advisor.rules import Rule, register
from nosql_advisor.rules.references import (COPY_DEFAULTS, REFERENCE_DEFAULTS, containment,  # noqa: F401
                                            copies, examined, joined_rows, references, row_containment,
                                            value_matches)
from nosql_advisor.schema.drift import declared_at


def percent(share: float) -> str:
    return f"{share:.0%}" if share in (0, 1) else f"{share:.1%}"


matches = value_matches  # the name DM201 gave it first


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


def first_references(landscape, thresholds: dict, config) -> dict:
    """(X namespace, Y namespace) -> the reference X joins Y through (`_id` references first)."""
    first: dict = {}
    for reference in references(landscape, thresholds, config):
        first.setdefault((reference.source, reference.target), reference)
    return first


def fingerprint_copies(landscape, thresholds: dict, config) -> list[tuple]:
    """(X namespace, Y namespace, X path, Y path, containment, X field, measured by) of the string
    fields of X whose values are among a field of Y's, when X references Y; equal values with no
    reference between are no copy."""
    joined = first_references(landscape, thresholds, config)
    found = []
    for (source, target), pairs in sorted(value_matches(landscape, thresholds).items()):
        reference = joined.get((source, target))
        if reference is None:
            continue
        found += [(source, target, path, target_path, share, field, by)
                  for path, target_path, share, field, _, by in pairs
                  if target_path not in ("_id", reference.key) and path != reference.path
                  and "string" in field.types and path not in config.tenant_keys]
    return found


def undocumented_copies(landscape, thresholds: dict, config) -> list[Finding]:
    by_namespace = {c.info.namespace: c for c in landscape.collections}
    by_fingerprints = fingerprint_copies(landscape, thresholds, config)
    printed = {(s, t, p): (share, by) for s, t, p, _, share, _, by in by_fingerprints}
    through = first_references(landscape, thresholds, config)
    findings: dict[tuple[str, str], Finding] = {}
    for copy in copies(landscape, thresholds, config):
        reference = copy.reference
        if not _documented(by_namespace[reference.source], copy.path, reference.target, config):
            findings[(reference.source, copy.path)] = _joined_copy_finding(
                copy, printed.get((reference.source, reference.target, copy.path)),
                by_namespace[reference.source].shape.field(copy.path))
    judged = examined(landscape, thresholds, config)
    for source, target, path, target_path, share, field, by in by_fingerprints:
        if (source, path) in findings or (source, target, path) in judged:
            continue  # reported through the join, or the joined documents say it is no copy
        if _documented(by_namespace[source], path, target, config):
            continue
        findings[(source, path)] = _fingerprint_finding(source, path, target, target_path, share, by, field,
                                                        through[(source, target)])
    return sorted(findings.values(), key=lambda f: (f.namespace, f.path))


def _joined_copy_finding(copy, printed: tuple[float, str] | None, field) -> Finding:
    """The copy as the joined documents decided it, with the fingerprints' containment beside
    when they found it too (`measured_by` names the containment's measure)."""
    reference, target = copy.reference, copy.reference.target
    evidence = {**{k: v for k, v in copy.evidence().items() if k != "share"},  # DM202's figure
                "joined_through": [reference.join], "decided_by": "joined documents",
                "measured_by": "joined documents", "distinct_estimate": field.distinct_estimate if field else None}
    if printed is not None:
        evidence.update(containment=printed[0], measured_by=printed[1])
    return Finding(
        "DM201", "medium", reference.source, copy.path,
        f"'{copy.path}' copies {target}.{copy.source_path}: {copy.equal:,} of {copy.joined:,} documents joined "
        f"through {reference.join} agree with it, where chance would give {copy.chance_said}; "
        "no source of truth is documented.",
        evidence, _recommendation(target, copy.source_path))


def _fingerprint_finding(source, path, target, target_path, share, by, field, reference) -> Finding:
    return Finding(
        "DM201", "medium", source, path,
        f"'{path}' copies {target}.{target_path} ({percent(share)} of its {by} found there), "
        f"joined through {reference.path}; no source of truth is documented.",
        {"copy_of": f"{target}.{target_path}", "containment": share, "measured_by": by,
         "joined_through": [reference.join], "decided_by": "fingerprints",
         "distinct_estimate": field.distinct_estimate},
        _recommendation(target, target_path))


def _recommendation(target: str, target_path: str) -> str:
    return (f"Document the source of truth (a $jsonSchema description 'source of truth: {target}.{target_path}' "
            "or the config) and how copies are kept in sync (a change stream, or an update on write); "
            "or drop the copy and $lookup when reading.")


register(Rule("DM201", "duplicated data with no documented source of truth", "medium", "avoid duplication",
              undocumented_copies, {**REFERENCE_DEFAULTS, **COPY_DEFAULTS}))


# -- DM202: copies that no longer equal their source -----------------------------------------

def drifted_copies(landscape, thresholds: dict, config) -> list[Finding]:
    """DM202: the copies (decided on joined documents, against chance) some of whose joined
    documents differ from the source. Documented or not: a documented copy can drift too. A copy
    decided on values alone (not named as one) is never drift: its differences may be another fact."""
    by_namespace = {c.info.namespace: c for c in landscape.collections}
    findings = []
    for copy in copies(landscape, thresholds, config):
        if not copy.by_name or copy.differ / copy.joined < thresholds["min_share"]:
            continue
        collection = by_namespace[copy.reference.source]
        findings.append(_drift_finding(copy, len(collection.shape.rows or []),
                                       _documented(collection, copy.path, copy.reference.target, config)))
    return findings


def _drift_finding(copy, rows: int, documented: bool) -> Finding:
    reference, target = copy.reference, copy.reference.target
    evidence = copy.evidence()
    return Finding(
        "DM202", "high", reference.source, copy.path,
        f"'{copy.path}' differs from {target}.{copy.source_path} in {copy.differ:,} of {copy.joined:,} copies "
        f"joined to their source ({evidence['share']:.0%}), joined through {reference.join}; "
        f"chance agreement {copy.chance_said}.",
        {**evidence, "rows_sampled": rows, "source_of_truth_documented": documented},
        f"Resynchronise the copies from {target} once, then keep them in sync where {target} changes "
        "(a change stream, or update the copies in the same transaction); if the copy is meant to be a "
        "snapshot (the name at the time of the order), document that in its description; or stop "
        "copying and $lookup on read.")


register(Rule("DM202", "duplicated data that has drifted from its source", "high", "avoid duplication",
              drifted_copies, {**REFERENCE_DEFAULTS, **COPY_DEFAULTS, "min_share": 0.01}))
