"""report.json: the versioned contract of DESIGN.md, described by schemas/report.schema.json.

Order is deterministic (collections by namespace, fields by path) so that two runs over the
same input give the same file apart from `generated_at`.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from bson import json_util

from nosql_advisor import __version__
from nosql_advisor.advise import Advice
from nosql_advisor.scan import Collection, Landscape

REPORT_VERSION = 1
MAX_PROBLEMS = 1000
RELAXED = json_util.JSONOptions(json_mode=json_util.JSONMode.RELAXED)


def build_report(landscape: Landscape, advice: Advice | None = None, generated_at: datetime | None = None) -> dict:
    moment = generated_at or datetime.now(timezone.utc)
    problems = landscape.problems
    advice = advice or Advice()
    return {
        "version": REPORT_VERSION,
        "tool": {"name": "nosql-advisor", "version": __version__},
        "generated_at": moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
        "sources": landscape.sources,
        "collections": [collection_entry(c, advice) for c in landscape.collections],
        "findings": [finding.to_dict() for finding in advice.findings],
        "ignored": [{"rule": f.rule, "namespace": f.namespace, "path": f.path, "reason": why.reason}
                    for f, why in advice.ignored],
        "baselined": [{"rule": f.rule, "namespace": f.namespace, "path": f.path} for f in advice.baselined],
        "index_advice": [],
        "problems": [{"where": p.where, "message": p.message} for p in problems[:MAX_PROBLEMS]],
        "problems_omitted": max(0, len(problems) - MAX_PROBLEMS),
    }


def collection_entry(collection: Collection, advice: Advice) -> dict:
    entry = collection.shape.to_dict()
    info = collection.info
    namespace = info.namespace
    entry["source"] = {"kind": info.kind, "location": info.location}
    entry["problems"] = sum(1 for p in info.problems if p.exit_code)
    entry["indexes"] = bson_to_json(info.indexes)
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


def bson_to_json(value: object) -> object:
    """BSON values (SON, Int64, dates, regexes in partial filters...) as relaxed Extended JSON."""
    return json.loads(json_util.dumps(value, json_options=RELAXED))


def dumps(report: dict) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"
