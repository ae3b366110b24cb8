"""DM601: an `_id` that is a mutable attribute (an email or phone number as the key)."""

from __future__ import annotations

from nosql_advisor.findings import Finding
from nosql_advisor.rules import Rule, register

MUTABLE = {"email": "an email address", "phone": "a phone number"}


def unstable_identifier(landscape, thresholds: dict, config) -> list[Finding]:
    findings = []
    for collection in landscape.collections:
        field = collection.shape.field("_id")
        if field is None or not field.examined or field.types.get("string", 0) / field.count < thresholds["min_share"]:
            continue
        kinds = {k: n for k, n in (field.detected or {}).items()
                 if k in MUTABLE and n / field.examined >= thresholds["min_share"]}
        if not kinds:
            continue
        kind = max(kinds, key=kinds.get)
        findings.append(Finding(
            "DM601", "medium", collection.info.namespace, "_id",
            f"_id is {MUTABLE[kind]} ({kinds[kind]:,} of {field.examined:,} examined values): when it "
            "changes, the document must be deleted and re-inserted and every reference breaks.",
            {"detector": kind, "matched": kinds[kind], "examined": field.examined, "types": field.types},
            "Use a stable surrogate key (an ObjectId) as _id and keep the natural key in its own field "
            "with a unique index; references then survive a change of address."))
    return findings


register(Rule("DM601", "unstable identifier: _id derived from a mutable attribute", "medium",
              "stable identifiers", unstable_identifier, {"min_share": 0.5}))
