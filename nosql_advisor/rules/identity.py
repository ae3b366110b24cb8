"""DM601: an `_id` that is a mutable attribute: an email, a phone number, a slug made from a name,
or the value of another field of the document (`_id` equal to `username`).

Values are never looked at here: the detectors' counts (shape/detect.py) say what the `_id`s
look like, and the row sample's value hashes (shape/rows.py) say which field they equal.
"""

from __future__ import annotations

from collections import Counter

from nosql_advisor.findings import Finding
from nosql_advisor.rules import Rule, register

MUTABLE = {"email": "an email address", "phone": "a phone number", "slug": "a slug made from a name"}


def looks_like_an_id(path: str) -> bool:
    """A copy of the key under another name (`id`, `user_id`, `userId`) is not a natural key."""
    key = path.rsplit(".", 1)[-1]
    return key.lower() in ("id", "uuid", "key") or key.endswith(("_id", "Id", "ID"))


def equal_fields(rows: list[dict], min_share: float, min_rows: int) -> dict[str, tuple[int, int]]:
    """Fields whose value equals `_id` in at least `min_share` of the sampled documents:
    path -> (equal, rows)."""
    rows = [row for row in rows if "_id" in row]
    if len(rows) < min_rows:
        return {}
    equal = Counter(path for row in rows for path, value in row.items()
                    if path != "_id" and value == row["_id"] and not looks_like_an_id(path))
    return {path: (n, len(rows)) for path, n in sorted(equal.items()) if n / len(rows) >= min_share}


def _detected_kind(field, min_share: float) -> tuple[str, int] | None:
    if not field.examined or field.types.get("string", 0) / field.count < min_share:
        return None
    kinds = {k: n for k, n in (field.detected or {}).items() if k in MUTABLE and n / field.examined >= min_share}
    return max(kinds.items(), key=lambda item: (item[1], item[0])) if kinds else None


def unstable_identifier(landscape, thresholds: dict, config) -> list[Finding]:
    findings = []
    for collection in landscape.collections:
        field = collection.shape.field("_id")
        if field is None:
            continue
        kind = _detected_kind(field, thresholds["min_share"])
        equal = equal_fields(collection.shape.rows or [], thresholds["min_share"], thresholds["min_rows"])
        if kind is None and not equal:
            continue
        findings.append(_finding(collection.info.namespace, field, kind, equal))
    return findings


def _finding(namespace: str, field, kind: tuple[str, int] | None, equal: dict) -> Finding:
    said = []
    evidence: dict = {"types": field.types}
    if kind is not None:
        said.append(f"{MUTABLE[kind[0]]} ({kind[1]:,} of {field.examined:,} examined values)")
        evidence.update({"detector": kind[0], "matched": kind[1], "examined": field.examined})
    if equal:
        said.append("equal to " + ", ".join(f"'{p}' in {n:,} of {rows:,} sampled documents"
                                            for p, (n, rows) in equal.items()))
        evidence["equal_to"] = {p: {"equal": n, "rows": rows} for p, (n, rows) in equal.items()}
    return Finding(
        "DM601", "medium", namespace, "_id",
        f"_id is {'; '.join(said)}: a natural key that can change, and when it does the document must "
        "be deleted and re-inserted and every reference to it breaks.",
        evidence,
        "Use a stable surrogate key (an ObjectId) as _id and keep the natural key in its own field "
        "with a unique index; references then survive a change of address or name.")


register(Rule("DM601", "unstable identifier: _id derived from a mutable attribute", "medium",
              "stable identifiers", unstable_identifier, {"min_share": 0.5, "min_rows": 20}))
