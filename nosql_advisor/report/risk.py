"""The scale-risk section of one collection, from its report.json entry and the findings.

Everything here is arithmetic on the shape's summaries (counts, the ObjectId creation range,
size and length percentiles, array growth regressions) and on the findings' evidence; nothing
reads a document. The figures are what a person planning capacity asks first: how many
documents, how fast they arrive, how big they are, which arrays grow and when a document would
hit the 16 MiB limit, how many indexes, how uneven the tenants are, and what to fix first.
"""

from __future__ import annotations

from datetime import datetime

from nosql_advisor.report.format import MIB, duration, namespaces_of, severity_rank
from nosql_advisor.rules import RULES, page_path

LIMIT = 16 * MIB  # MongoDB's BSON document size limit
DAYS_PER_MONTH = 30.44
TOP_RISKS = 5
MAX_ARRAYS = 10
# evidence keys whose value is a share of documents (0..1): the larger, the more it weighs
SHARE_KEYS = ("share", "top_share", "share_missing", "key_kind_share", "containment")


def scale_risk(entry: dict, findings: list[dict], baselined: set[tuple] = frozenset(),
               indexes_known: bool = True, tenant_key: str | None = None) -> dict:
    """The `scale_risk` object of a collection entry (schemas/report.schema.json).

    `findings` are the finding dicts of this namespace that still count (new and baselined, not
    ignored); `baselined` holds the (rule, path) pairs among them a baseline accepts;
    `indexes_known` is False when the source says nothing of indexes (an export file, a .bson
    without its .metadata.json), so the count is unknown rather than 0; `tenant_key` is the
    database's tenant key as rules/tenancy.py decided it (None: not a multi-tenant database)."""
    growing = {f["path"] for f in findings if f["rule"] == "DM102"}
    size = entry.get("document_size")
    arrays = array_projections(entry, growing)
    months = [a["months_to_16_mib"] for a in arrays if a.get("months_to_16_mib") is not None]
    beyond = any(a.get("beyond_horizon") for a in arrays)
    indexes = entry.get("indexes") if indexes_known else None
    return {
        "documents": _documents(entry),
        "documents_basis": "estimated" if entry.get("documents_estimated") is not None else "sampled",
        "growth": growth(entry),
        "document_size": None if not size else {
            "mean": size["mean"], "p99": size["p99"], "max": size["max"],
            "p99_share_of_limit": round(size["p99"] / LIMIT, 6),
        },
        "months_to_16_mib": min(months) if months else None,
        "limit_beyond_years": horizon_years() if beyond else None,
        "arrays": arrays,
        # sizes: live scans read $collStats; dumps and exports carry none, so null says "unknown", never 0
        "indexes": {"count": len(indexes) if indexes is not None else None,
                    "total_bytes": (entry.get("storage") or {}).get("total_index_size")},
        "tenant_skew": tenant_skew(entry, tenant_key),
        "top_risks": top_risks(findings, baselined)[:TOP_RISKS],
    }


def _documents(entry: dict) -> int:
    estimated = entry.get("documents_estimated")
    return estimated if estimated is not None else entry.get("sampled", 0)


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def growth(entry: dict) -> dict | None:
    """Documents per day and per month from the ObjectId creation range: the documents with
    ObjectId _ids, spread over the time between the first and the last one. That assumes
    steady arrival and no deletes (TTL collections look slower than they are); with less than a
    day between the first and last ObjectId there is no rate to give."""
    created = entry.get("created_range")
    sampled = entry.get("sampled") or 0
    if not created or not sampled:
        return None
    first, last = parse_time(created["min"]), parse_time(created["max"])
    days = (last - first).total_seconds() / 86400
    with_oid = (entry.get("id_types") or {}).get("objectId", 0) / sampled
    documents = _documents(entry) * with_oid
    per_day = documents / days if days >= 1 else None
    return {
        "first_created": created["min"],
        "last_created": created["max"],
        "span_days": round(days, 3),
        "documents_with_objectid": round(documents),
        "per_day": None if per_day is None else round(per_day, 3),
        "per_month": None if per_day is None else round(per_day * DAYS_PER_MONTH, 3),
    }


def array_projections(entry: dict, growing: set[str]) -> list[dict]:
    """The longest arrays (by p99 length), with their growth with document age and, for those a
    DM102 finding calls growing, the p99 length a year on and the months until a p99 document
    reaches 16 MiB at that rate (DM102's own arithmetic)."""
    size = entry.get("document_size") or {}
    rows = []
    for field in entry.get("fields", []):
        array = field.get("array")
        if not array or not array.get("lengths") or array["lengths"]["max"] <= 1:
            continue
        lengths = array["lengths"]
        row = {"path": field["path"], "p50": lengths["p50"], "p99": lengths["p99"], "max": lengths["max"],
               "growing": field["path"] in growing}
        found = array.get("growth")
        if found:
            row["per_month"] = found["per_month"]
            row["correlation"] = found["correlation"]
            row["bytes_per_element"] = found["bytes_per_element"]
        if row["growing"] and found and found["per_month"] > 0:
            row["p99_in_12_months"] = round(lengths["p99"] + 12 * found["per_month"], 1)
            bytes_per_month = found["per_month"] * max(found["bytes_per_element"], 1.0)
            row.update(limit_horizon(round((LIMIT - size.get("p99", 0)) / bytes_per_month)))
        rows.append(row)
    rows.sort(key=lambda r: (not r["growing"], -r["p99"], r["path"]))
    return rows[:MAX_ARRAYS]


def horizon_years() -> float:
    """How far ahead the 16 MiB time is worth stating: DM102's `medium_years` (rules/scale.py), so
    the scale-risk section and the finding agree that centuries away is not a date to plan for."""
    from nosql_advisor.rules import scale  # noqa: F401  (importing registers DM102)

    return RULES["DM102"].thresholds["medium_years"]


def limit_horizon(months: int) -> dict:
    """{"months_to_16_mib": months} within the horizon, else {"beyond_horizon": True}."""
    return {"months_to_16_mib": months} if months / 12 <= horizon_years() else {"beyond_horizon": True}


def limit_phrase(risk: dict) -> str | None:
    """The 16 MiB line of a collection's scale risk, or None when no growing array heads there."""
    if risk.get("months_to_16_mib") is not None:
        return f"a p99 document reaches 16 MiB in {duration(risk['months_to_16_mib'])}"
    if risk.get("limit_beyond_years") is not None:
        return f"16 MiB is more than {risk['limit_beyond_years']:g} years away at this rate"
    return None


def tenant_skew(entry: dict, tenant_key: str | None = None) -> dict | None:
    """The tenant key's spread (only tenant-key candidates carry value counts, never the values).
    Measured on the database's tenant key when one was decided: a collection carrying both
    `account_id` and `tenant_id` is skewed by tenants, not by user accounts. Without one, the
    first candidate that has counts."""
    for field in entry.get("fields", []):
        skew = field.get("value_skew")
        if skew and field.get("depth") == 1 and tenant_key in (None, field["path"]):
            return {"key": field["path"], "tenants": skew["distinct"], "top_share": skew["top_share"],
                    "top_count": skew["top_count"]}
    return None


def evidence_weight(finding: dict) -> float:
    """0..1, how much the evidence says is at stake: the largest share of documents it names, or
    the fraction of the 16 MiB limit a document reaches, or how soon (DM102) it gets there."""
    evidence = finding.get("evidence") or {}
    weights = [float(evidence[key]) for key in SHARE_KEYS
               if isinstance(evidence.get(key), (int, float)) and 0 <= evidence[key] <= 1]
    size = evidence.get("document_size")
    if isinstance(size, dict) and isinstance(size.get("max"), (int, float)):
        weights.append(min(1.0, size["max"] / LIMIT))
    months = evidence.get("months_to_16_mib")
    if isinstance(months, (int, float)) and months > 0:
        weights.append(min(1.0, 12 / months))  # within a year weighs fully
    return round(max(weights, default=0.0), 4)


def risk_key(finding: dict) -> tuple:
    return (severity_rank(finding["severity"]), -evidence_weight(finding), finding["rule"],
            finding.get("path") or "")


def top_risks(findings: list[dict], baselined: set[tuple] = frozenset()) -> list[dict]:
    """Findings ranked by severity, then by evidence weight; each links to its rule page."""
    ranked = sorted(findings, key=risk_key)
    return [{"rule": f["rule"], "severity": f["severity"], "path": f.get("path"), "message": f["message"],
             "evidence_weight": evidence_weight(f), "docs": page_path(f["rule"]),
             "baselined": (f["rule"], f.get("path")) in baselined, **family_of(f)}
            for f in ranked]


def family_of(finding: dict) -> dict:
    """{"family": glob} for a family finding (one finding on several collections), else {}."""
    return {"family": finding["namespace"]} if namespaces_of(finding) != [finding.get("namespace")] else {}
