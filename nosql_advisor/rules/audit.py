"""Auditability rules from field names and indexes: DM602 and DM603."""

from __future__ import annotations

import re

from nosql_advisor.findings import Finding
from nosql_advisor.rules import Rule, register

CREATED = re.compile(r"^(created|inserted|creation)(_?at|_?on|_?date|_?time)?$|^date_?created$", re.I)
UPDATED = re.compile(r"^(updated|modified|last_?modified|last_?updated)(_?at|_?on|_?date|_?time)?$", re.I)
SOFT_DELETE = re.compile(r"^(is_?)?(deleted|archived|removed|trashed)(_?at|_?on)?$", re.I)


def missing_audit_fields(landscape, thresholds: dict, config) -> list[Finding]:
    """DM602: no created/updated timestamp, or one present in only part of the documents."""
    findings = []
    for collection in landscape.collections:
        if not collection.shape.sampled:
            continue
        top = [f for f in collection.shape.fields if "." not in f.path]
        created = [f for f in top if CREATED.match(f.path)]
        updated = [f for f in top if UPDATED.match(f.path)]
        lacking = [name for name, found in (("created", created), ("updated", updated)) if not found]
        partial = [f for f in created + updated if f.probability < 1.0]
        if not lacking and not partial:
            continue
        said = (f"no {' and no '.join(lacking)} timestamp" if lacking else
                ", ".join(f"'{f.path}' in only {f.probability:.1%} of documents" for f in partial))
        findings.append(Finding(
            "DM602", "low", collection.info.namespace, None, f"{said}: who changed what, and when, is lost.",
            {"created_fields": [f.path for f in created], "updated_fields": [f.path for f in updated],
             "partial": {f.path: f.probability for f in partial}},
            "Write created_at on insert and updated_at on every update (or $currentDate), in every "
            "document, and require them in the validator."))
    return findings


def soft_delete_without_retention(landscape, thresholds: dict, config) -> list[Finding]:
    """DM603: a soft-delete marker with no TTL index or partial index that enforces retention.
    Needs the index list: an export file, which has none, raises nothing."""
    findings = []
    for collection in landscape.collections:
        if not collection.info.knows_metadata:
            continue
        for field in (f for f in collection.shape.fields if "." not in f.path and SOFT_DELETE.match(f.path)):
            if not _retained(collection.info.indexes, field.path):
                findings.append(Finding(
                    "DM603", "medium", collection.info.namespace, field.path,
                    f"soft delete through '{field.path}' ({field.count:,} documents carry it) with no TTL "
                    "or partial index: deleted data is kept forever and still read by every query.",
                    {"marker": field.path, "types": field.types, "indexes": [i.get("name") for i in collection.info.indexes]},
                    f"Add a TTL index on '{field.path}' (expireAfterSeconds) to purge after the retention "
                    "period, and partial indexes that exclude deleted documents."))
    return findings


def _retained(indexes: list[dict], marker: str) -> bool:
    for index in indexes:
        if "expireAfterSeconds" in index and marker in index.get("key", {}):
            return True
        if marker in str(index.get("partialFilterExpression", {})):
            return True
    return False


register(Rule("DM602", "missing audit fields (created_at / updated_at)", "low", "auditability", missing_audit_fields))
register(Rule("DM603", "soft delete with no retention (no TTL / partial index)", "medium", "auditability",
              soft_delete_without_retention))
