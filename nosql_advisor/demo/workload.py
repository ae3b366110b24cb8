"""A mongod log (4.4+ JSON lines, "Slow query" entries) of writes against the demo database,
written beside the dump or the export as OUT/mongod.log: three unsafe writes (DM408) among
clean ones. Read it with `scan OUT/shop --log OUT/mongod.log`.

The entries copy the layout of real mongod 6.0 lines (attr.type "update" with the statement in
attr.command {q, u, multi, upsert}; attr.type "command" for an insert with its writeConcern).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from nosql_advisor.demo.maker import END
from nosql_advisor.demo.model import DATABASE, Demo, PlantedProblem, ns

LOG_NAME = "mongod.log"


def _entry(seconds: int, component: str, attr: dict) -> str:
    when = (END + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.000+00:00")
    return json.dumps({"t": {"$date": when}, "s": "I", "c": component, "id": 51803, "ctx": f"conn{40 + seconds % 7}",
                       "msg": "Slow query", "attr": attr}, separators=(",", ":"))


def _update(name: str, q: dict, u: dict, multi: bool, upsert: bool, plan: str, millis: int) -> dict:
    return {"type": "update", "ns": ns(name), "command": {"q": q, "u": u, "multi": multi, "upsert": upsert},
            "planSummary": plan, "nMatched": 0 if upsert else 12, "nModified": 0 if upsert else 12,
            "nUpserted": 1 if upsert else 0, "numYields": 0, "durationMillis": millis}


def _insert(name: str, write_concern: dict, millis: int) -> dict:
    return {"type": "command", "ns": ns(name),
            "command": {"insert": name, "ordered": True, "writeConcern": write_concern, "$db": DATABASE},
            "ninserted": 1, "numYields": 0, "reslen": 45, "durationMillis": millis}


def _oid(value) -> dict:
    return {"$oid": str(value)}


def log_lines(demo: Demo) -> list[str]:
    """The log's lines, from the demo's own documents (real tenants, customers, SKUs)."""
    carts = [c for c in demo.collection("carts").documents if "tenant_id" in c][:5]
    product = demo.collection("products").documents[0]
    entries = [("WRITE", _update("carts", {"tenant_id": c["tenant_id"], "customer_id": _oid(c["customer_id"])},
                                 {"$set": {"lines": []}}, False, True, "IXSCAN { tenant_id: 1, customer_id: 1 }", 140))
               for c in carts]  # upsert on a non-unique index: two at once insert two carts
    entries += [
        ("WRITE", _update("products", {"tenant_id": product["tenant_id"], "sku": product["sku"]},
                          {"$set": {"name": product["name"]}}, False, True, "IXSCAN { tenant_id: 1, sku: 1 }", 120)),
        ("WRITE", _update("tenants", {}, {"$set": {"plan": "pro"}}, True, False, "COLLSCAN", 160)),
        ("WRITE", _update("invoices", {"tenant_id": product["tenant_id"], "created_at": {"$lt": {"$date": "2025-01-01T00:00:00Z"}}},
                          {"$set": {"status": "void"}}, True, False, "IXSCAN { tenant_id: 1, created_at: -1 }", 150)),
        ("COMMAND", _insert("audit_events", {"w": 0}, 110)),
        ("COMMAND", _insert("audit_events", {"w": "majority"}, 130)),
    ]
    return [_entry(number, component, attr) for number, (component, attr) in enumerate(entries)]


def planted_writes(demo: Demo) -> list[PlantedProblem]:
    upserts = sum('"ns":"shop.carts"' in line for line in log_lines(demo))
    return [
        PlantedProblem("DM408", ns("carts"), None, f"{upserts} upserts on {{tenant_id, customer_id}} in {LOG_NAME}, an index that is not unique: two concurrent upserts insert two carts"),
        PlantedProblem("DM408", ns("tenants"), None, f"updateMany with an empty filter ({{}}) in {LOG_NAME}: every tenant rewritten"),
        PlantedProblem("DM408", ns("audit_events"), None, f"an insert with writeConcern {{w: 0}} in {LOG_NAME}: nobody learns whether it was written"),
    ]


def write_log(demo: Demo, out_dir: Path) -> Path:
    path = Path(out_dir) / LOG_NAME
    path.write_text("\n".join(log_lines(demo)) + "\n", encoding="utf-8")
    return path
