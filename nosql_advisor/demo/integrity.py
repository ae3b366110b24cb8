"""Collections whose values break what the model means: purchase orders whose invariants hold
almost everywhere (DM507), preferences written by two schema versions (DM508), and returns whose
dates are strings (DM506)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from bson import Decimal128

from nosql_advisor.demo.controls import restock
from nosql_advisor.demo.maker import END, START, Maker, by_tenant, tenant_index
from nosql_advisor.demo.model import DemoCollection, PlantedProblem, ns

WRONG_TOTAL, UPDATED_FIRST, SHIPPED_MISMATCH = 0.03, 0.02, 0.02  # shares of purchase_orders broken
PREFERENCES_V2 = datetime(2025, 9, 1)  # preferences written from then on are schema_version 2 (~2/3)


def _break(make: Maker, document: dict) -> str | None:
    """Break one invariant of a restock-like order, or none; says which."""
    draw = make.rng.random()
    if draw < WRONG_TOTAL:
        document["total"] = Decimal128(document["total"].to_decimal() + Decimal(make.rng.randint(1, 500)) / 100)
        return "total"
    if draw < WRONG_TOTAL + UPDATED_FIRST:
        document["updated_at"] = document["created_at"] - timedelta(hours=make.rng.randint(1, 72))
        return "updated_at"
    if draw < WRONG_TOTAL + UPDATED_FIRST + SHIPPED_MISMATCH:
        if document["status"] == "shipped":
            del document["shipped_at"]
        else:
            document["shipped_at"] = document["updated_at"]
        return "shipped_at"
    return None


def _held(broken: int, count: int) -> str:
    return f"holds in {1 - broken / count:.1%}: {broken:,} of {count:,} purchase orders break it"


def purchase_orders(make: Maker, planted: list[PlantedProblem]) -> DemoCollection:
    """Like the restocks control, but written by three code paths that each skip one rule."""
    documents, broken = [], {"total": 0, "updated_at": 0, "shipped_at": 0}
    for number in range(make.count(400, least=200)):
        document = restock(make, number, make.moment(after=START + timedelta(days=3)))
        which = _break(make, document)
        if which:
            broken[which] += 1
        documents.append(document)
    held = {key: _held(broken[key], len(documents)) for key in broken}
    planted += [
        PlantedProblem("DM507", ns("purchase_orders"), "total", f"total = sum of items.price x items.qty {held['total']} (total off by 0.01-5.00)"),
        PlantedProblem("DM507", ns("purchase_orders"), "updated_at", f"updated_at >= created_at {held['updated_at']} (updated_at 1-72 hours before created_at, and so before shipped_at where the order shipped)"),
        PlantedProblem("DM507", ns("purchase_orders"), "shipped_at", f"shipped_at present iff status is shipped {held['shipped_at']} (shipped without shipped_at, or shipped_at on another status)"),
    ]
    return DemoCollection("purchase_orders", documents, [tenant_index(("created_at", -1))])


def _preference(make: Maker, customer: dict) -> dict:
    """Written at sign-up, in the schema version of that day."""
    created = min(END, customer["created_at"] + timedelta(hours=make.rng.randint(0, 48)))
    document = {"_id": make.oid(created), "tenant_id": customer["tenant_id"], "customer_id": customer["_id"]}
    if created < PREFERENCES_V2:
        document |= {"schema_version": 1, "newsletter": make.rng.random() < 0.5, "lang": make.rng.choice(["en", "de", "fr"])}
    else:
        document |= {"schema_version": 2, "language": make.rng.choice(["en", "de", "fr"]),
                     "channels": make.rng.sample(["post", "sms", "push"], make.rng.randint(0, 3))}
    return document | make.audit(created)


def preferences(make: Maker, customers: DemoCollection, planted: list[PlantedProblem]) -> DemoCollection:
    """One per customer. Version 2 renamed lang to language and replaced newsletter with
    channels; the version 1 documents were never migrated, so readers must handle both shapes."""
    people = make.rng.sample(customers.documents, min(len(customers.documents), make.count(500, least=150)))
    documents = [_preference(make, customer) for customer in people]
    old = sum(d["schema_version"] == 1 for d in documents)
    planted += [
        PlantedProblem("DM508", ns("preferences"), "schema_version", f"schema_version splits the preferences in two shapes ({old:,} of version 1, {len(documents) - old:,} of version 2): lang and newsletter only in 1, language and channels only in 2"),
        PlantedProblem("DM508", ns("preferences"), "newsletter", f"newsletter only in the {old:,} schema_version 1 documents (created before {PREFERENCES_V2.date()}), none of the {len(documents) - old:,} version 2 ones: a removed field readers must still handle"),
        PlantedProblem("DM508", ns("preferences"), "lang", f"lang only in the {old:,} schema_version 1 documents (version 2 writes language instead)"),
    ]
    return DemoCollection("preferences", documents, [tenant_index(("customer_id", 1), unique=True)])


def returns(make: Maker, orders: DemoCollection, planted: list[PlantedProblem]) -> DemoCollection:
    """requested_on is an ISO date held as a string ("2025-03-14"): sorting works by luck of the
    format, but $gte with a date, date arithmetic and TTL do not."""
    per_tenant = by_tenant(orders.documents)
    documents = []
    for number in range(make.count(300, least=60)):
        order = make.rng.choice(per_tenant[make.spread_tenant(number)])
        created = make.moment(after=order["created_at"])
        documents.append({"_id": make.oid(created), "tenant_id": order["tenant_id"], "order_id": order["_id"],
                          "requested_on": (created - timedelta(days=make.rng.randint(0, 3))).date().isoformat(),
                          "reason": make.rng.choice(["damaged", "wrong_item", "too_late", "changed_mind"]),
                          **make.audit(created)})
    planted.append(PlantedProblem("DM506", ns("returns"), "requested_on", f"requested_on is a date held as an ISO-8601 string (\"2025-03-14\") in all {len(documents):,} returns"))
    return DemoCollection("returns", documents, [tenant_index(("requested_on", -1))])
