"""report.json: the versioned contract of DESIGN.md, described by schemas/report.schema.json.

Order is deterministic (collections by namespace, fields by path) so that two runs over the
same input give the same file apart from `generated_at`.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from bson import json_util

from nosql_advisor import __version__
from nosql_advisor.scan import Collection, Landscape

REPORT_VERSION = 1
MAX_PROBLEMS = 1000
RELAXED = json_util.JSONOptions(json_mode=json_util.JSONMode.RELAXED)


def build_report(landscape: Landscape, generated_at: datetime | None = None) -> dict:
    moment = generated_at or datetime.now(timezone.utc)
    problems = landscape.problems
    return {
        "version": REPORT_VERSION,
        "tool": {"name": "nosql-advisor", "version": __version__},
        "generated_at": moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
        "sources": landscape.sources,
        "collections": [collection_entry(c) for c in landscape.collections],
        "findings": [],
        "index_advice": [],
        "problems": [{"where": p.where, "message": p.message} for p in problems[:MAX_PROBLEMS]],
        "problems_omitted": max(0, len(problems) - MAX_PROBLEMS),
    }


def collection_entry(collection: Collection) -> dict:
    entry = collection.shape.to_dict()
    info = collection.info
    entry["source"] = {"kind": info.kind, "location": info.location}
    entry["problems"] = sum(1 for p in info.problems if p.exit_code)
    entry["indexes"] = bson_to_json(info.indexes)
    validator = info.options.get("validator")
    if validator:
        entry["validator"] = {"declared": {
            "validator": bson_to_json(validator),
            "validationLevel": info.options.get("validationLevel", "strict"),
            "validationAction": info.options.get("validationAction", "error"),
        }}
    return entry


def bson_to_json(value: object) -> object:
    """BSON values (SON, Int64, dates, regexes in partial filters...) as relaxed Extended JSON."""
    return json.loads(json_util.dumps(value, json_options=RELAXED))


def dumps(report: dict) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"
