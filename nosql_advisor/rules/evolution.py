"""Schema evolution (DM508): the shapes a version field splits a collection into, and the fields
that documents stopped carrying but older documents still hold.

Both are read from shape/versions.py's tally: documents per version and the top-level fields each
version holds; and for each top-level field, the last creation day (ObjectId `_id` time, else a
created_at-like date) of a document holding it, beside how many documents were created after.
A field set later in a document's life (an archival job's flag, a rating, a delivery date) is
also missing from the newest documents; it is told apart only where the documents show it: a
date running past that day, a holder updated after it, a flag, or holders older than chance.
"""

from __future__ import annotations

import re

from nosql_advisor.findings import Finding
from nosql_advisor.rules import Rule, register
from nosql_advisor.rules.audit import SOFT_DELETE

SHOWN = 5  # differences named in the message; every one is in the evidence
# a flag set on a document by a job or a user (archived, active, isPaid), not a shape's field
FLAG = re.compile(r"^([iI]s|[hH]as)(_|[A-Z])|(?i:^(in)?active$|^(enabled|disabled|hidden|visible|flagged|locked"
                  r"|verified|processed|published|expired|closed|cancell?ed|read|seen|starred|pinned)$)")
SET_BY_AGE = 3.0  # standard errors: holders this much older than chance had the field set by age


def schema_evolution(landscape, thresholds: dict, config=None) -> list[Finding]:
    """DM508: top-level fields held by one version and by none of another's documents; top-level
    fields no document created lately holds while older ones do."""
    findings = []
    for collection in landscape.collections:
        evolution = collection.shape.evolution
        if evolution is None:
            continue
        split = version_split(collection.info.namespace, evolution, thresholds)
        if split is not None:
            findings.append(split)
        findings.extend(retired_fields(collection, evolution, thresholds))
    return findings


def _label(value) -> str:
    return "(none)" if value is None else str(value)


def version_differences(evolution, thresholds: dict) -> list[dict]:
    """Fields held by at least `min_presence` of one version's documents and by none of another
    version's (of at least `min_version_documents` documents)."""
    versions = [v for v in evolution.versions if v.documents >= thresholds["min_version_documents"]]
    paths = sorted({path for version in versions for path in version.fields} - {evolution.version_field})
    differences = []
    for path in paths:
        shares = {_label(v.value): round(v.fields.get(path, 0) / v.documents, 4) for v in versions}
        present = [label for label, share in shares.items() if share >= thresholds["min_presence"]]
        absent = [label for label, share in shares.items() if share == 0]
        if present and absent:
            differences.append({"path": path, "in": present, "not_in": absent, "shares": shares})
    return differences


def version_split(namespace: str, evolution, thresholds: dict) -> Finding | None:
    differences = version_differences(evolution, thresholds) if evolution.version_field else []
    if not differences:
        return None
    counts = ", ".join(f"{_label(v.value)}: {v.documents:,}" for v in evolution.versions)
    said = "; ".join(f"'{d['path']}' in {', '.join(d['in'])} but not {', '.join(d['not_in'])}"
                     for d in differences[:SHOWN])
    more = f" (and {len(differences) - SHOWN} more)" if len(differences) > SHOWN else ""
    return Finding(
        "DM508", "low", namespace, evolution.version_field,
        f"'{evolution.version_field}' splits the documents into {len(evolution.versions)} shapes ({counts}): "
        f"{said}{more}; every reader must handle each version still stored.",
        {"version_field": evolution.version_field,
         "versions": [{"value": v.value, "documents": v.documents,
                       "fields": {path: round(count / v.documents, 4) for path, count in v.fields.items()}}
                      for v in evolution.versions],
         "differences": differences, "thresholds": thresholds},
        "Keep one reader per version still stored, or migrate the old versions forward (then drop "
        "their code); declare each version's shape in the validator (oneOf on the version field).")


def retired_fields(collection, evolution, thresholds: dict) -> list[Finding]:
    """Fields that the documents created after their last day would hold at least `min_expected`
    times at the rate older documents do, and hold none of: no longer written, still stored."""
    dated = sum(evolution.dated.values())
    versioned_out = _versioned_out(evolution, thresholds)
    findings = []
    for age in evolution.aged:
        if age.path in ("_id", evolution.version_field) or not age.older:
            continue
        expected = age.documents / age.older * age.newer
        if age.newer < max(thresholds["min_newer"], thresholds["min_newer_share"] * dated):
            continue
        if expected < thresholds["min_expected"]:
            continue
        if age.path not in versioned_out and _set_later(collection.shape.field(age.path), age):
            continue
        findings.append(Finding(
            "DM508", "low", collection.info.namespace, age.path,
            f"'{age.path}' is no longer written: last seen in documents created {age.last_seen[:7]}; "
            f"{age.documents:,} older documents still hold it, none of the {age.newer:,} created since.",
            {"field": age.path, "last_seen": age.last_seen, "documents": age.documents,
             "created_up_to_then": age.older, "created_since": age.newer, "expected_since": round(expected, 1),
             "holders_updated_until": age.written_until, "holders_earlier_by_standard_errors": age.held_earlier,
             "dated_by": evolution.dated, "thresholds": thresholds},
            "Readers must still handle it: migrate the older documents ($unset it, or move its value "
            "to where it lives now) before removing the code that reads it, and keep it optional in "
            "the validator until then."))
    return findings


def _versioned_out(evolution, thresholds: dict) -> set[str]:
    """Fields an older version holds and the newest holds none of: the version field says they
    were removed, whatever else hints they are set later (their holders updated since)."""
    if not evolution.version_field or not evolution.versions:
        return set()
    newest = _label(evolution.versions[-1].value)
    return {d["path"] for d in version_differences(evolution, thresholds) if newest in d["not_in"]}


def _set_later(field, age) -> bool:
    """A field set later in a document's life, not removed: the newest documents have not got
    there yet. Seen as a date running past its last holder's creation day (delivered_at), a
    holder updated after that day, a flag (archived: true), or holders created earlier than
    chance (the older a document, the likelier it holds it)."""
    return (_date_runs_past(field, age) or (age.written_until or "") > age.last_seen
            or _flag(field, age.path) or age.held_earlier >= SET_BY_AGE)


def _date_runs_past(field, age) -> bool:
    return field is not None and bool(field.date_range) and field.date_range["max"][:10] > age.last_seen


def _flag(field, path: str) -> bool:
    """A name a flag has (archived, deleted, active, is_paid), or a bool holding one value only
    (set: true by a job). A bool holding both values is an attribute (newsletter: true/false)."""
    if SOFT_DELETE.match(path) or FLAG.search(path):
        return True
    return field is not None and set(field.types) == {"bool"} and field.distinct_estimate == 1


register(Rule("DM508", "schema evolution: per-version shapes, field only in older documents", "low",
              "schema evolution", schema_evolution,
              {"min_version_documents": 5, "min_presence": 0.5, "min_newer": 20, "min_newer_share": 0.1,
               "min_expected": 10}))
