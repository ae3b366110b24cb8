"""report.json: the versioned contract of DESIGN.md, described by schemas/report.schema.json.

Order is deterministic (collections by namespace, fields by path) so that two runs over the
same input give the same file apart from `generated_at`. Every other form (md, html, sarif, the
terminal summary) is rendered from this dict, so each collection carries its scale-risk section
(report/risk.py) and each finding on a collection with a schema file carries where in that file
it points (report/locate.py).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from bson import json_util

from nosql_advisor.shape.engine import engine_name
from nosql_advisor import __version__
from nosql_advisor.advise import Advice
from nosql_advisor.coverage import coverage
from nosql_advisor.errors import ProblemList, error_count, place_of
from nosql_advisor.report.format import namespaces_of
from nosql_advisor.report.locate import Located, locate_in, parse_with_lines
from nosql_advisor.report.risk import scale_risk
from nosql_advisor.scan import Collection, Landscape

REPORT_VERSION = 1
MAX_PROBLEMS = 1000
RELAXED = json_util.JSONOptions(json_mode=json_util.JSONMode.RELAXED)


def build_report(landscape: Landscape, advice: Advice | None = None, generated_at: datetime | None = None) -> dict:
    moment = generated_at or datetime.now(timezone.utc)
    problems = landscape.problems
    advice = advice or Advice()
    collections = [collection_entry(c, advice) for c in landscape.collections]
    findings = [finding.to_dict() for finding in advice.findings]
    add_schema_locations(findings, landscape)
    indexes_known = {c.info.namespace for c in landscape.collections if c.info.knows_metadata}
    add_scale_risks(collections, findings, advice, indexes_known, advice.tenant_keys)
    return {
        "version": REPORT_VERSION,
        "tool": {"name": "nosql-advisor", "version": __version__, "engine": engine_name()},
        "generated_at": moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
        "sources": landscape.sources,
        "collections": collections,
        "findings": findings,
        "ignored": [{"rule": f.rule, "namespace": f.namespace, "path": f.path, "reason": why.reason}
                    for f, why in advice.ignored],
        "baselined": [{"rule": f.rule, "namespace": f.namespace, "path": f.path} for f in advice.baselined],
        "index_advice": advice.index_advice,
        "query_shapes": advice.query_shapes,
        "coverage": coverage_entries(landscape),
        "problems": [{"where": p.where, "message": p.message} for p in problems[:MAX_PROBLEMS]],
        "problems_omitted": max(0, len(problems) - MAX_PROBLEMS) + _counted_not_kept(problems),
        "problems_kept_per_file": getattr(problems, "limit", None),
        "problem_counts": problem_counts(problems),
    }


def _counted_not_kept(problems) -> int:
    return problems.omitted_total() if isinstance(problems, ProblemList) else 0


def problem_counts(problems) -> list[dict]:
    """Per file (or namespace) with problems: how many were counted and how many are kept in
    `problems` (a file of a million bad lines keeps the first PROBLEMS_KEPT_PER_FILE)."""
    kept: dict[str, int] = {}
    for problem in problems[:MAX_PROBLEMS]:
        kept[place_of(problem.where)] = kept.get(place_of(problem.where), 0) + 1
    omitted = problems.omitted if isinstance(problems, ProblemList) else {}
    places = sorted(set(kept) | set(omitted))
    counted = {place: (problems.counted(place) if isinstance(problems, ProblemList) else kept[place]) for place in places}
    return [{"where": place, "counted": counted[place], "listed": kept.get(place, 0)} for place in places]


def collection_entry(collection: Collection, advice: Advice) -> dict:
    entry = collection.shape.to_dict()
    info = collection.info
    namespace = info.namespace
    entry["source"] = {"kind": info.kind, "location": info.location}
    entry["status"] = info.status
    if info.status_reason:
        entry["status_reason"] = info.status_reason
    entry["problems"] = error_count(info.problems)
    entry["indexes"] = bson_to_json(info.indexes)
    if info.storage is not None:
        entry["storage"] = bson_to_json(info.storage)
    validator: dict = {}
    declared = collection.declared
    if declared is not None:
        validator["declared"] = {
            "origin": declared.origin,
            "$jsonSchema": bson_to_json(declared.schema) if declared.schema is not None else None,
            "validationLevel": declared.validation_level,
            "validationAction": declared.validation_action,
            "not_comparable": declared.not_comparable,
        }
        if declared.file is not None:
            validator["declared"]["file"] = declared.file.as_posix()
    if collection.validation is not None:
        result = collection.validation
        validator["validation"] = {"checked": result.checked, "failed": result.failed, "share": result.share}
    if namespace in advice.never_seen:
        validator["never_seen"] = advice.never_seen[namespace]
    if namespace in advice.schema_disagreements:
        validator["disagreements"] = advice.schema_disagreements[namespace]
    if namespace in advice.validators:
        validator["generated"] = advice.validators[namespace]
    if validator:
        entry["validator"] = validator
    return entry


def coverage_entries(landscape: Landscape) -> list[dict]:
    """Every rule on every collection (or database), checked or not and why (coverage.py):
    silence is never a pass."""
    return [entry.to_dict() for entry in coverage(landscape)]


def add_schema_locations(findings: list[dict], landscape: Landscape) -> None:
    """`schema_location` {file, pointer, line} on each finding whose collection was held against
    a schema file: where in the file a reviewer (or GitHub code scanning, via SARIF) should look."""
    files = {c.info.namespace: c.declared.file for c in landscape.collections
             if c.declared is not None and c.declared.file is not None}
    roots: dict[str, Located | None] = {}
    for finding in findings:
        file = files.get(finding["namespace"])
        if file is None:
            continue
        key = file.as_posix()
        if key not in roots:
            roots[key] = _parsed(file)
        if roots[key] is not None:
            finding["schema_location"] = {"file": key, **locate_in(roots[key], finding.get("path"))}


def _parsed(file: Path) -> Located | None:
    """The schema file parsed with its lines; None when it is gone or changed since it was
    loaded (no location, no failure)."""
    try:
        return parse_with_lines(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, IndexError):
        return None


def add_scale_risks(collections: list[dict], findings: list[dict], advice: Advice, indexes_known: set[str],
                    tenant_keys: dict[str, str] | None = None) -> None:
    """The scale-risk section of every collection: its figures and its top risks, the new and
    the baselined findings (ignored ones were dismissed with a reason, so they are not risks); a
    family finding counts under each of its collections. `tenant_keys` (database -> its tenant
    key, rules/tenancy.py) says which field the tenant skew is measured on."""
    baselined = [f.to_dict() for f in advice.baselined]
    by_namespace: dict[str, list[dict]] = {}
    for finding in findings + baselined:
        for namespace in namespaces_of(finding):
            by_namespace.setdefault(namespace, []).append(finding)
    accepted = {(n, f["rule"], f["path"]) for f in baselined for n in namespaces_of(f)}
    for entry in collections:
        namespace = entry["namespace"]
        mine = by_namespace.get(namespace, [])
        entry["scale_risk"] = scale_risk(entry, mine, {(r, p) for n, r, p in accepted if n == namespace},
                                         namespace in indexes_known,
                                         (tenant_keys or {}).get(namespace.partition(".")[0]))


def bson_to_json(value: object) -> object:
    """BSON values (SON, Int64, dates, regexes in partial filters...) as relaxed Extended JSON."""
    return json.loads(json_util.dumps(value, json_options=RELAXED))


def dumps(report: dict) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"
