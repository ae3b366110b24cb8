"""The control collections: clean by construction, so any finding on them is a false positive.

Each carries tenant_id in every document (tenants spread evenly), created_at/updated_at, a
strict closed validator every document passes, small arrays with maxItems (but for GeoJSON
coordinates, as long as the outline they draw), only indexes led by tenant_id, no personal data
or secrets, one type per field, dates as dates, only ObjectId references to other collections
(one way), and no copied values but one documented copy that agrees with its source
(payments.currency). Each stands beside a planted problem it must not be mistaken for:
payments beside orders.customer.tier (a documented low-cardinality copy, in full agreement) and
wishlists (ObjectId references) and returns (dates), teams beside users/groups (a one-way array
of ids), delivery_zones beside products.reviews (a long array that is a shape, not a list),
restocks beside purchase_orders (totals, date order and shipped_at all hold) and preferences
(shipped_at is optional at every age, not a removed field).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
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


def payments(make: Maker, invoices: DemoCollection) -> DemoCollection:
    """Payments of invoices of their own tenant, the invoice's currency copied in and documented
    as such: a low-cardinality copy that agrees everywhere (no DM202) and has its source of truth
    declared (no DM201). paid_at is a real date (beside returns.requested_on, a string)."""
    per_tenant = by_tenant(invoices.documents)
    documents = []
    for number in range(make.count(600, least=100)):
        invoice = make.rng.choice(per_tenant[make.spread_tenant(number)])
        created = make.moment(after=invoice["created_at"])
        documents.append({
            "_id": make.oid(created), "tenant_id": invoice["tenant_id"], "invoice_id": invoice["_id"],
            "currency": invoice["currency"], "amount": make.money(5, 900),
            "method": make.rng.choice(["card", "transfer", "wallet"]), "paid_at": created,
            **make.audit(created)})
    indexes = [tenant_index(("invoice_id", 1)), tenant_index(("paid_at", -1))]
    return DemoCollection("payments", documents, indexes, validator(schemas.PAYMENTS))


def teams(make: Maker, users: DemoCollection) -> DemoCollection:
    """Teams list their members; users do not list their teams: one side owns the relationship."""
    per_tenant = by_tenant(users.documents)
    documents = []
    for number in range(make.count(36, least=24)):
        tenant = make.spread_tenant(number)
        members = make.rng.sample(per_tenant[tenant], min(len(per_tenant[tenant]), make.rng.randint(2, 6)))
        created = make.moment(after=max(m["created_at"] for m in members))
        documents.append({"_id": make.oid(created), "tenant_id": tenant, "code": f"TEAM-{number:03d}",
                          "member_ids": [m["_id"] for m in members], **make.audit(created)})
    return DemoCollection("teams", documents, [tenant_index(("member_ids", 1))], validator(schemas.TEAMS))


def _ring(make: Maker, points: int) -> list[list[float]]:
    """A closed ring of `points` positions around a random centre (first == last, as GeoJSON asks)."""
    lng, lat, radius = make.rng.uniform(-120, 30), make.rng.uniform(-40, 60), make.rng.uniform(0.01, 0.2)
    ring = []
    for step in range(points - 1):
        angle = 2 * math.pi * step / (points - 1)
        wobble = radius * make.rng.uniform(0.8, 1.2)
        ring.append([round(lng + wobble * math.cos(angle), 6), round(lat + wobble * math.sin(angle), 6)])
    return ring + [list(ring[0])]


def delivery_zones(make: Maker) -> DemoCollection:
    """GeoJSON Polygons: most outlines are simple, one in ten traces a coastline or a river in
    1,200-2,500 points. Long arrays, but each is as long as the shape it draws (no DM101), and
    a zone does not grow with its age (no DM102)."""
    documents = []
    for number in range(make.count(48, least=24)):
        created = make.moment()
        points = make.rng.randint(1200, 2500) if number % 10 == 3 else make.rng.randint(5, 40)
        documents.append({"_id": make.oid(created), "tenant_id": make.spread_tenant(number),
                          "code": f"ZONE-{number:03d}",
                          "geometry": {"type": "Polygon", "coordinates": [_ring(make, points)]},
                          **make.audit(created)})
    return DemoCollection("delivery_zones", documents, [tenant_index(("code", 1), unique=True)],
                          validator(schemas.DELIVERY_ZONES))


def restock(make: Maker, number: int, created: datetime) -> dict:
    """A supplier order whose invariants all hold: total = sum of price x qty, updated_at not
    before created_at, shipped_at present exactly when the status is shipped."""
    items = [{"part_no": f"P-{make.rng.randint(0, 99999):05d}", "price": make.money(1, 250),
              "qty": make.rng.randint(1, 12)} for _ in range(make.rng.randint(1, 5))]
    total = sum((item["price"].to_decimal() * item["qty"] for item in items), Decimal(0))
    status = make.rng.choice(["draft", "placed", "shipped", "shipped", "cancelled"])
    document = {"_id": make.oid(created), "tenant_id": make.spread_tenant(number),
                "supplier_code": f"SUP-{make.rng.randint(1, 40):03d}", "items": items,
                "total": Decimal128(total), "status": status, **make.audit(created)}
    if status == "shipped":
        document["shipped_at"] = min(document["updated_at"], created + timedelta(hours=make.rng.randint(1, 96)))
    return document


def restocks(make: Maker) -> DemoCollection:
    documents = [restock(make, number, make.moment()) for number in range(make.count(300, least=100))]
    indexes = [tenant_index(("created_at", -1)), tenant_index(("status", 1))]
    return DemoCollection("restocks", documents, indexes, validator(schemas.RESTOCKS))
