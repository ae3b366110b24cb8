"""The control collections: clean by construction, so any finding on them is a false positive.

Each carries tenant_id in every document (tenants spread evenly), created_at/updated_at, a
strict closed validator every document passes, small arrays with maxItems, only indexes led by
tenant_id, no personal data or secrets, one type per field, and only ObjectId references to
other collections (no copied values).
"""

from __future__ import annotations

from decimal import Decimal

from bson import Decimal128

from nosql_advisor.demo import schemas
from nosql_advisor.demo.maker import TENANTS, Maker, by_tenant, tenant_index, validator
from nosql_advisor.demo.model import DemoCollection

LABELS = ["Service fee", "Hardware", "Support plan", "Installation", "Shipping"]
TITLES = ["Lighting", "Seating", "Tables", "Storage", "Kitchen", "Office", "Garden", "Textiles"]
ROOTS = len(TENANTS)


def _invoice(make: Maker, number: int, order: dict) -> dict:
    created = make.moment(after=order["created_at"])
    lines = [{"line_no": i + 1, "label": make.rng.choice(LABELS), "qty": make.rng.randint(1, 5),
              "amount": make.money(5, 300)} for i in range(make.rng.randint(1, 5))]
    amount = sum((line["amount"].to_decimal() for line in lines), Decimal(0))
    return {
        "_id": make.oid(created), "tenant_id": order["tenant_id"], "number": f"INV-{number:06d}",
        "order_id": order["_id"], "amount": Decimal128(amount),
        "currency": make.rng.choice(["EUR", "USD", "GBP"]), "status": make.rng.choice(["open", "paid", "void"]),
        "lines": lines, **make.audit(created)}


def invoices(make: Maker, orders: DemoCollection) -> DemoCollection:
    """Even across tenants (unlike orders): each invoice bills an order of its own tenant."""
    per_tenant = by_tenant(orders.documents)
    documents = [_invoice(make, number, make.rng.choice(per_tenant[make.spread_tenant(number)]))
                 for number in range(make.count(2000))]
    indexes = [tenant_index(("created_at", -1)), tenant_index(("number", 1), unique=True),
               tenant_index(("status", 1)) | {"name": "tenant_id_1_status_1_open",
                                              "partialFilterExpression": {"status": "open"}}]
    return DemoCollection("invoices", documents, indexes, validator(schemas.INVOICES))


def shipments(make: Maker, invoices: DemoCollection) -> DemoCollection:
    per_tenant = by_tenant(invoices.documents)
    documents = []
    for number in range(make.count(1500)):
        invoice = make.rng.choice(per_tenant[make.spread_tenant(number)])
        created = make.moment(after=invoice["created_at"])
        documents.append({
            "_id": make.oid(created), "tenant_id": invoice["tenant_id"], "invoice_id": invoice["_id"],
            "carrier": make.rng.choice(["DHL", "UPS", "GLS", "PostNL"]),
            "tracking_code": f"TRK{make.rng.randint(0, 10**10 - 1):010d}",
            "status": make.rng.choice(["label", "in_transit", "delivered"]),
            "parcels": [{"weight_grams": make.rng.randint(100, 20000), "size": make.rng.choice(["S", "M", "L", "XL"])}
                        for _ in range(make.rng.randint(1, 4))],
            **make.audit(created)})
    indexes = [tenant_index(("created_at", -1)), tenant_index(("invoice_id", 1))]
    return DemoCollection("shipments", documents, indexes, validator(schemas.SHIPMENTS))


def categories(make: Maker) -> DemoCollection:
    """A two-level tree per tenant, referenced by _id (category n belongs to tenant n % 12, the
    first twelve are the roots, so a parent is always of the same tenant)."""
    documents = []
    for number in range(make.count(120)):
        created = make.moment(after=documents[number % ROOTS]["created_at"] if number >= ROOTS else None)
        documents.append({
            "_id": make.oid(created), "tenant_id": make.spread_tenant(number), "code": f"CAT-{number:04d}",
            "title": make.rng.choice(TITLES),
            "parent_id": documents[number % ROOTS]["_id"] if number >= ROOTS else None,
            "position": make.rng.randint(0, 20), **make.audit(created)})
    return DemoCollection("categories", documents, [tenant_index(("code", 1), unique=True)], validator(schemas.CATEGORIES))
