"""Consistency rules as invariants (DM507): a rule the documents nearly always keep, and the few
that break it.

The shape carries every candidate invariant between top-level fields with the documents it could
be checked on and held on (shape/invariants.py). An invariant that holds everywhere is the data
doing its job; one that holds almost everywhere is a rule enforced in some code paths and not in
others, and the documents that break it are the bugs it leaves behind.
"""

from __future__ import annotations

import math

from nosql_advisor.findings import Finding
from nosql_advisor.rules import Rule, register


def broken_invariants(landscape, thresholds: dict, config=None) -> list[Finding]:
    """DM507: invariants holding in at least `min_share` of at least `min_documents` documents
    (for a presence rule, on both sides: with and without the field), and broken by some."""
    findings = []
    for collection in landscape.collections:
        for invariant in collection.shape.invariants or []:
            if _reported(invariant, thresholds):
                findings.append(_finding(collection.info.namespace, invariant, thresholds))
    return findings


def _reported(invariant, thresholds: dict) -> bool:
    if not invariant.broken or invariant.applies < thresholds["min_documents"]:
        return False
    if invariant.holds < thresholds["min_share"] * invariant.applies:
        return False
    detail = invariant.detail
    if invariant.kind == "presence":
        return min(detail["documents_with"], detail["documents_without"]) >= thresholds["min_documents"]
    if invariant.kind == "order":  # the order must be seen more often than it is broken
        return detail["strictly_later"] > invariant.broken
    return True


def _finding(namespace: str, invariant, thresholds: dict) -> Finding:
    share = math.floor(invariant.holds / invariant.applies * 1000) / 10  # 99.96% is not "100.0%"
    path = {"sum": invariant.paths[0], "order": invariant.detail.get("later"),
            "presence": invariant.detail.get("field")}[invariant.kind]
    return Finding(
        "DM507", "medium", namespace, path,
        f"'{invariant.statement}' holds in {share:.1f}%; {invariant.broken:,} of {invariant.applies:,} "
        "documents break it; enforce it in one place.",
        {"invariant": invariant.statement, "kind": invariant.kind, "fields": invariant.paths,
         "documents": invariant.applies, "holding": invariant.holds, "breaking": invariant.broken,
         "share": round(invariant.holds / invariant.applies, 4), **invariant.detail,
         "check": _check(invariant), "thresholds": thresholds},
        "Compute or check it in one place (one function every write goes through, or an update "
        "pipeline that sets the derived field in the same write), add the `check` expression to "
        "the validator ($expr), and repair the documents that break it.")


def _check(invariant) -> dict:
    """A query (for a validator, or to find the documents that break it with $nor) that holds
    exactly when the document keeps the invariant (doubles compare exactly here: round first)."""
    detail = invariant.detail
    if invariant.kind == "order":
        return {"$expr": {"$gte": [f"${detail['later']}", f"${detail['earlier']}"]}}
    if invariant.kind == "sum":
        array, terms = detail["array"], detail["terms"]
        each = f"$$this.{terms[0]}" if len(terms) == 1 else {"$multiply": [f"$$this.{name}" for name in terms]}
        return {"$expr": {"$eq": [f"${detail['target']}", {"$sum": {"$map": {"input": f"${array}", "in": each}}}]}}
    status, field = detail["status"], detail["field"]
    return {"$or": [{status: {"$in": detail["values_with"]}, field: {"$exists": True, "$ne": None}},
                    {status: {"$nin": detail["values_with"]}, field: None},
                    {status: {"$not": {"$type": "string"}}}]}


register(Rule("DM507", "consistency invariant broken by some documents", "medium",
              "consistency rules as invariants", broken_invariants,
              {"min_share": 0.95, "min_documents": 20}))
