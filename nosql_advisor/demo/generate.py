"""The demo database `shop`, built deterministically from a seed and a scale.

Multi-tenant e-commerce (tenant key `tenant_id`) with modelling problems planted on purpose,
each listed in the manifest with its DESIGN.md rule id, namespace and path, and clean control
collections that must raise no finding at all. Every value comes from one seeded
`random.Random` and one seeded Faker, and every time from a fixed end date, so the same seed and
scale give byte-identical output.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from bson import Binary, Decimal128, ObjectId
from faker import Faker

from nosql_advisor.demo import schemas

DATABASE = "shop"
END = datetime(2026, 6, 30, 12, 0, 0)  # fixed: never "now", so builds repeat
SPAN = timedelta(days=730)
TENANTS = [f"t_{i:04d}" for i in range(1, 13)]
PRICE_MIGRATION = datetime(2025, 9, 1)  # products.price: string before, decimal after (DM505)


@dataclass
class DemoCollection:
    name: str
    documents: list[dict]
    indexes: list[dict] = field(default_factory=list)  # without _id_
    options: dict = field(default_factory=dict)


@dataclass
class PlantedProblem:
    rule: str
    namespace: str
    path: str | None
    note: str


@dataclass
class Demo:
    database: str
    seed: int
    scale: float
    collections: list[DemoCollection]
    planted: list[PlantedProblem]
    controls: list[str]
    global_collections: list[str]

    def collection(self, name: str) -> DemoCollection:
        return next(c for c in self.collections if c.name == name)

    def manifest(self) -> dict:
        return {
            "database": self.database, "seed": self.seed, "scale": self.scale, "tenant_key": "tenant_id",
            "planted": [asdict(p) for p in self.planted],
            "controls": self.controls, "global_collections": self.global_collections,
            "collections": {c.name: len(c.documents) for c in self.collections},
        }


class _Maker:
    """The seeded sources of randomness and the helpers every collection builder shares."""

    def __init__(self, seed: int, scale: float) -> None:
        self.rng = random.Random(seed)
        self.fake = Faker("en_US")
        self.fake.seed_instance(seed)
        self.scale = scale
        # orders are skewed to one large tenant (DM305); everything else is spread evenly
        self.skewed_weights = [1 / (rank ** 2.2) for rank in range(1, len(TENANTS) + 1)]

    def count(self, base: int, least: int = 3) -> int:
        return max(least, round(base * self.scale))

    def moment(self, after: datetime | None = None) -> datetime:
        """A creation time in the two years before END, more recent times likelier (growth)."""
        start = after or END - SPAN
        share = self.rng.random() ** 0.5
        return (start + (END - start) * share).replace(microsecond=0)

    def oid(self, when: datetime) -> ObjectId:
        return ObjectId(int((when - datetime(1970, 1, 1)).total_seconds()).to_bytes(4, "big") + self.rng.randbytes(8))

    def tenant(self, skewed: bool = False) -> str:
        return self.rng.choices(TENANTS, self.skewed_weights)[0] if skewed else self.rng.choice(TENANTS)

    def audit(self, created: datetime) -> dict:
        updated = min(END, created + timedelta(hours=self.rng.randint(0, 2000)))
        return {"created_at": created, "updated_at": updated}

    def money(self, low: int, high: int) -> Decimal128:
        return Decimal128(Decimal(self.rng.randint(low * 100, high * 100)) / 100)


def build_demo(seed: int = 42, scale: float = 1.0) -> Demo:
    make = _Maker(seed, scale)
    planted: list[PlantedProblem] = []
    tenants = _tenants(make)
    customers = _customers(make, planted)
    products = _products(make, planted)
    orders = _orders(make, customers, products, planted)
    invoices = _invoices(make, orders)
    collections = [
        tenants, customers, products, orders,
        _carts(make, customers, planted), _reviews(make, products, planted),
        _audit_events(make), _sessions(make, customers, planted), _coupons(make, planted),
        _newsletter(make, planted), _api_clients(make, planted), _attachments(make, planted),
        _category_trees(make, planted), *_events_per_tenant(make, planted),
        invoices, _shipments(make, invoices), _categories(make),
    ]
    _plant_missing_validators(collections, planted)
    return Demo(DATABASE, seed, scale, collections, planted,
                controls=[f"{DATABASE}.{n}" for n in ("invoices", "shipments", "categories")],
                global_collections=[f"{DATABASE}.tenants"])


def _ns(name: str) -> str:
    return f"{DATABASE}.{name}"


def _validator(schema: dict, level: str = "strict", action: str = "error") -> dict:
    return {"validator": {"$jsonSchema": schema}, "validationLevel": level, "validationAction": action}


def _tenant_index(*fields: tuple[str, int]) -> dict:
    key = {"tenant_id": 1, **dict(fields)}
    return {"key": key, "name": "_".join(f"{k}_{v}" for k, v in key.items())}


# -- the global collection and the planted-problem collections --------------------------------

def _tenants(make: _Maker) -> DemoCollection:
    documents = []
    for code in TENANTS:
        created = END - SPAN + timedelta(days=TENANTS.index(code) * 20)
        documents.append({"_id": code, "name": make.fake.company(), "plan": make.rng.choice(["free", "pro", "enterprise"]),
                          **make.audit(created)})
    return DemoCollection("tenants", documents, [{"key": {"plan": 1}, "name": "plan_1"}])


def _luhn(digits: str) -> str:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return digits + str((10 - total % 10) % 10)


def _customers(make: _Maker, planted: list[PlantedProblem]) -> DemoCollection:
    documents = []
    for number in range(make.count(3000)):
        created = make.moment()
        first, last = make.fake.first_name(), make.fake.last_name()
        months = (END - created).days / 30
        deleted = make.rng.random() < 0.05
        documents.append({
            "_id": make.oid(created), "tenant_id": make.tenant(), "name": f"{first} {last}",
            "email": f"{first}.{last}{number}@{make.fake.free_email_domain()}".lower(),
            "phone": make.fake.phone_number(), "date_of_birth": datetime(make.rng.randint(1950, 2004), make.rng.randint(1, 12), make.rng.randint(1, 28)),
            "card_number": _luhn("4" + "".join(str(make.rng.randint(0, 9)) for _ in range(14))),
            "iban": make.fake.iban(),
            "address": {"street": make.fake.street_address(), "city": make.fake.city(), "zip": make.fake.postcode()},
            "order_ids": [make.oid(created + timedelta(days=i)) for i in range(int(months * 1.5 + make.rng.random() * 2))],
            "deleted_at": (created + timedelta(days=30)) if deleted else None,
            **make.audit(created),
        })
    planted += [
        PlantedProblem("DM102", _ns("customers"), "order_ids", "order_ids grows with customer age: about +1.5 ids per month since creation, never trimmed"),
        PlantedProblem("DM701", _ns("customers"), "phone", "phone numbers in clear"),
        PlantedProblem("DM701", _ns("customers"), "date_of_birth", "dates of birth in clear"),
        PlantedProblem("DM701", _ns("customers"), "card_number", "16-digit card numbers that pass the Luhn check, in clear"),
        PlantedProblem("DM701", _ns("customers"), "iban", "IBANs in clear"),
        PlantedProblem("DM701", _ns("customers"), "email", "email addresses in clear (personal data, low severity)"),
        PlantedProblem("DM603", _ns("customers"), "deleted_at", "soft delete (deleted_at set on ~5%) with no TTL or partial index to enforce retention"),
    ]
    indexes = [_tenant_index(("email", 1)) | {"unique": True}, _tenant_index(("created_at", -1))]
    return DemoCollection("customers", documents, indexes, _validator(schemas.CUSTOMERS))


def _products(make: _Maker, planted: list[PlantedProblem]) -> DemoCollection:
    documents = []
    total = make.count(600, least=20)
    popular = set(make.rng.sample(range(total), max(1, total // 33)))
    for number in range(total):
        created = make.moment()
        price = make.money(2, 400)
        reviews = make.rng.randint(2000, 3000) if number in popular else make.rng.randint(0, 20)
        first_day = created.date()
        views = {str(first_day + timedelta(days=d)): make.rng.randint(0, 500)
                 for d in range(min(400, (END.date() - first_day).days))}
        documents.append({
            "_id": make.oid(created), "tenant_id": make.tenant(), "sku": f"SKU-{number:05d}",
            "name": f"{make.fake.color_name()} {make.fake.word().title()} {make.rng.choice(['Lamp', 'Chair', 'Mug', 'Desk', 'Shelf'])}",
            "price": str(price) if created < PRICE_MIGRATION else price,
            "reviews": [{"rating": make.rng.randint(1, 5), "at": created + timedelta(hours=i)} for i in range(reviews)],
            "daily_views": views,
            **make.audit(created),
        })
    planted += [
        PlantedProblem("DM101", _ns("products"), "reviews", f"reviews embedded without bound: {len(popular)} products hold 2,000–3,000 entries, no maxItems declared"),
        PlantedProblem("DM105", _ns("products"), "daily_views", "one key per day (\"2025-01-01\": n): hundreds of date keys per document, use the attribute or bucket pattern"),
        PlantedProblem("DM505", _ns("products"), "price", f"price is a string for products created before {PRICE_MIGRATION.date()} and a decimal after"),
        PlantedProblem("DM503", _ns("products"), "price", "string prices fail the declared bsonType decimal"),
    ]
    indexes = [_tenant_index(("sku", 1)) | {"unique": True}]
    return DemoCollection("products", documents, indexes, _validator(schemas.PRODUCTS))


def _orders(make: _Maker, customers: DemoCollection, products: DemoCollection, planted: list[PlantedProblem]) -> DemoCollection:
    documents = []
    for _ in range(make.count(8000)):
        customer = make.rng.choice(customers.documents)
        created = make.moment(after=customer["created_at"])
        items = [{"sku": p["sku"], "qty": make.rng.randint(1, 4), "price": make.money(2, 400)}
                 for p in make.rng.sample(products.documents, make.rng.randint(1, 6))]
        total = sum((i["price"].to_decimal() * i["qty"] for i in items), Decimal(0))
        documents.append({
            "_id": make.oid(created), "tenant_id": make.tenant(skewed=True), "customer_id": customer["_id"],
            "customer": {"name": customer["name"], "email": customer["email"]},
            "items": items, "status": make.rng.choice(["new", "paid", "paid", "shipped", "cancelled"]),
            "total": Decimal128(total), **make.audit(created),
        })
    top = max(TENANTS, key=lambda t: sum(d["tenant_id"] == t for d in documents))
    share = sum(d["tenant_id"] == top for d in documents) / len(documents)
    planted += [
        PlantedProblem("DM201", _ns("orders"), "customer.email", "customer name and email copied from shop.customers into every order, no source of truth documented"),
        PlantedProblem("DM701", _ns("orders"), "customer.email", "the copied customer email is personal data in clear"),
        PlantedProblem("DM303", _ns("orders"), None, "index status_1_created_at_-1 does not start with tenant_id"),
        PlantedProblem("DM305", _ns("orders"), "tenant_id", f"tenant {top} holds {share:.0%} of orders"),
        PlantedProblem("DM404", _ns("orders"), None, "index tenant_id_1 is a prefix of tenant_id_1_created_at_-1 (redundant)"),
    ]
    indexes = [_tenant_index(("created_at", -1)), _tenant_index(),
               {"key": {"status": 1, "created_at": -1}, "name": "status_1_created_at_-1"}]
    return DemoCollection("orders", documents, indexes, _validator(schemas.ORDERS))


def _carts(make: _Maker, customers: DemoCollection, planted: list[PlantedProblem]) -> DemoCollection:
    documents = []
    for _ in range(make.count(1500)):
        customer = make.rng.choice(customers.documents)
        created = make.moment(after=customer["created_at"])
        cart = {"_id": make.oid(created), "tenant_id": customer["tenant_id"], "customer_id": customer["_id"],
                "lines": [{"sku": f"SKU-{make.rng.randint(0, 500):05d}", "qty": make.rng.randint(1, 3)}
                          for _ in range(make.rng.randint(0, 5))],
                "promo_code": make.rng.choice([None, "SPRING", "VIP10"]), **make.audit(created)}
        if make.rng.random() < 0.07:
            del cart["tenant_id"]
        documents.append(cart)
    planted += [
        PlantedProblem("DM302", _ns("carts"), "tenant_id", "tenant_id missing in about 7% of carts"),
        PlantedProblem("DM502", _ns("carts"), None, "validator with validationAction warn"),
        PlantedProblem("DM504", _ns("carts"), "promo_code", "promo_code in every cart but not declared in the schema"),
    ]
    return DemoCollection("carts", documents, [_tenant_index(("customer_id", 1))],
                          _validator(schemas.CARTS, level="moderate", action="warn"))


def _reviews(make: _Maker, products: DemoCollection, planted: list[PlantedProblem]) -> DemoCollection:
    documents = []
    for _ in range(make.count(4000)):
        product = make.rng.choice(products.documents)
        created = make.moment(after=product["created_at"])
        name = product["name"] if make.rng.random() >= 0.15 else product["name"] + " (old name)"
        rating = make.rng.randint(1, 5) if make.rng.random() >= 0.08 else make.rng.choice([0, 6])
        documents.append({"_id": make.oid(created), "tenant_id": product["tenant_id"], "product_id": product["_id"],
                          "product_name": name, "rating": rating, "text": make.fake.sentence(nb_words=10),
                          **make.audit(created)})
    planted += [
        PlantedProblem("DM202", _ns("reviews"), "product_name", "about 15% of product_name copies differ from shop.products.name (source of truth documented in the schema)"),
        PlantedProblem("DM503", _ns("reviews"), "rating", "about 8% of ratings are 0 or 6, outside the declared minimum 1 / maximum 5"),
    ]
    return DemoCollection("reviews", documents, [_tenant_index(("product_id", 1))], _validator(schemas.REVIEWS))


def _audit_events(make: _Maker) -> DemoCollection:
    documents = []
    for _ in range(make.count(3000)):
        created = make.moment()
        documents.append({"_id": make.oid(created), "tenant_id": make.tenant(),
                          "action": make.rng.choice(["login", "export", "update", "delete"]),
                          "actor_id": make.oid(created - timedelta(days=3)), **make.audit(created)})
    return DemoCollection("audit_events", documents, [_tenant_index(("created_at", -1))])


def _sessions(make: _Maker, customers: DemoCollection, planted: list[PlantedProblem]) -> DemoCollection:
    planted.append(PlantedProblem("DM701", _ns("sessions"), "ip", "client IP addresses in clear (personal data, low severity)"))
    documents = []
    for _ in range(make.count(1500)):
        customer = make.rng.choice(customers.documents)
        created = make.moment(after=customer["created_at"])
        documents.append({"_id": make.oid(created), "tenant_id": customer["tenant_id"], "customer_id": customer["_id"],
                          "token": make.rng.randbytes(16).hex(), "ip": make.fake.ipv4_public(),
                          **make.audit(created)})
    return DemoCollection("sessions", documents, [_tenant_index(("customer_id", 1))])



def _coupons(make: _Maker, planted: list[PlantedProblem]) -> DemoCollection:
    documents = [{"_id": make.oid(make.moment()), "code": f"SAVE{make.rng.randint(5, 50)}-{n:04d}",
                  "percent": make.rng.choice([5, 10, 15, 20]), "active": make.rng.random() < 0.7}
                 for n in range(make.count(200))]
    planted += [
        PlantedProblem("DM301", _ns("coupons"), None, "no tenant key in a multi-tenant database"),
        PlantedProblem("DM602", _ns("coupons"), None, "no created_at / updated_at audit fields"),
    ]
    return DemoCollection("coupons", documents, [{"key": {"code": 1}, "name": "code_1", "unique": True}])


def _newsletter(make: _Maker, planted: list[PlantedProblem]) -> DemoCollection:
    documents = []
    for number in range(make.count(800)):
        email = f"{make.fake.user_name()}{number}@{make.fake.free_email_domain()}"
        documents.append({"_id": email, "email": email, "tenant_id": make.tenant(),
                          "subscribed": make.rng.random() < 0.9})
    planted += [
        PlantedProblem("DM601", _ns("newsletter_subscribers"), "_id", "_id is the subscriber's email address: it changes, and every reference breaks"),
        PlantedProblem("DM602", _ns("newsletter_subscribers"), None, "no created_at / updated_at audit fields"),
        PlantedProblem("DM701", _ns("newsletter_subscribers"), "_id", "email addresses in clear, as the _id"),
        PlantedProblem("DM701", _ns("newsletter_subscribers"), "email", "email addresses in clear"),
    ]
    return DemoCollection("newsletter_subscribers", documents, [_tenant_index(("subscribed", 1))])


PEM = ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA{body}\n-----END RSA PRIVATE KEY-----")


def _api_clients(make: _Maker, planted: list[PlantedProblem]) -> DemoCollection:
    documents = []
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    for _ in range(make.count(60, least=5)):
        created = make.moment()
        documents.append({
            "_id": make.oid(created), "tenant_id": make.tenant(), "client_name": make.fake.domain_word(),
            "password": make.fake.password(length=12),
            "api_key": "sk_live_" + make.rng.randbytes(12).hex(),
            "aws_access_key_id": "AKIA" + "".join(make.rng.choice(alphabet) for _ in range(16)),
            "private_key": PEM.format(body=make.rng.randbytes(48).hex()),
            **make.audit(created)})
    planted += [
        PlantedProblem("DM702", _ns("api_clients"), "password", "plaintext passwords (not bcrypt/argon2/scrypt/PBKDF2 hashes)"),
        PlantedProblem("DM702", _ns("api_clients"), "api_key", "live API keys sk_live_..."),
        PlantedProblem("DM702", _ns("api_clients"), "aws_access_key_id", "AWS access key ids AKIA..."),
        PlantedProblem("DM702", _ns("api_clients"), "private_key", "PEM private keys"),
    ]
    return DemoCollection("api_clients", documents, [_tenant_index()])


def _attachments(make: _Maker, planted: list[PlantedProblem]) -> DemoCollection:
    documents = []
    for number in range(max(2, round(4 * make.scale))):
        created = make.moment()
        size = make.rng.randint(4, 9) * 1024 * 1024
        documents.append({"_id": make.oid(created), "tenant_id": make.tenant(), "file_name": f"scan-{number:03d}.pdf",
                          "content": Binary(make.rng.randbytes(size)), **make.audit(created)})
    planted.append(PlantedProblem("DM103", _ns("attachments"), None, "documents of 4–9 MiB (file contents as binData) heading for the 16 MiB limit; use GridFS or object storage"))
    return DemoCollection("attachments", documents, [_tenant_index()])


def _category_trees(make: _Maker, planted: list[PlantedProblem]) -> DemoCollection:
    documents = []
    for _ in range(make.count(50)):
        created = make.moment()
        node: dict = {"label": make.fake.word()}
        for _level in range(14):
            node = {"label": make.fake.word(), "children": [node]}
        documents.append({"_id": make.oid(created), "tenant_id": make.tenant(), "tree": node, **make.audit(created)})
    planted.append(PlantedProblem("DM104", _ns("category_trees"), "tree", "the category tree nests 15 subdocuments deep (children of children...); use the parent/child reference patterns"))
    return DemoCollection("category_trees", documents, [_tenant_index()])


def _events_per_tenant(make: _Maker, planted: list[PlantedProblem]) -> list[DemoCollection]:
    collections = []
    for tenant in TENANTS:
        documents = []
        for _ in range(make.count(100)):
            created = make.moment()
            documents.append({"_id": make.oid(created), "kind": make.rng.choice(["view", "click", "buy"]),
                              "value": make.rng.randint(1, 100), **make.audit(created)})
        collections.append(DemoCollection(f"events_{tenant}", documents))
    planted.append(PlantedProblem("DM106", _ns("events_t_*"), None, f"one events collection per tenant ({len(TENANTS)} events_t_NNNN collections): put tenant_id in one events collection"))
    return collections


def _plant_missing_validators(collections: list[DemoCollection], planted: list[PlantedProblem]) -> None:
    for collection in collections:
        if "validator" not in collection.options:
            planted.append(PlantedProblem("DM501", _ns(collection.name), None, "collection has no validator"))


# -- the controls: clean by construction ----------------------------------------------------

LABELS = ["Service fee", "Hardware", "Support plan", "Installation", "Shipping"]


def _invoices(make: _Maker, orders: DemoCollection) -> DemoCollection:
    documents = []
    by_tenant: dict[str, list[dict]] = {}
    for order in orders.documents:
        by_tenant.setdefault(order["tenant_id"], []).append(order)
    tenants = sorted(by_tenant)
    for number in range(make.count(2000)):
        # tenants evenly, not in proportion to orders: the control must not inherit the skew
        order = make.rng.choice(by_tenant[make.rng.choice(tenants)])
        created = make.moment(after=order["created_at"])
        lines = [{"line_no": i + 1, "label": make.rng.choice(LABELS), "qty": make.rng.randint(1, 5),
                  "amount": make.money(5, 300)} for i in range(make.rng.randint(1, 5))]
        documents.append({
            "_id": make.oid(created), "tenant_id": order["tenant_id"], "number": f"INV-{number:06d}",
            "order_id": order["_id"], "amount": Decimal128(sum((l["amount"].to_decimal() for l in lines), Decimal(0))),
            "currency": make.rng.choice(["EUR", "USD", "GBP"]), "status": make.rng.choice(["open", "paid", "void"]),
            "lines": lines, **make.audit(created)})
    indexes = [_tenant_index(("created_at", -1)), _tenant_index(("number", 1)) | {"unique": True}]
    return DemoCollection("invoices", documents, indexes, _validator(schemas.INVOICES))


def _shipments(make: _Maker, invoices: DemoCollection) -> DemoCollection:
    documents = []
    for _ in range(make.count(1500)):
        invoice = make.rng.choice(invoices.documents)
        created = make.moment(after=invoice["created_at"])
        documents.append({
            "_id": make.oid(created), "tenant_id": invoice["tenant_id"], "invoice_id": invoice["_id"],
            "carrier": make.rng.choice(["DHL", "UPS", "GLS", "PostNL"]),
            "tracking_code": f"TRK{make.rng.randint(0, 10**10 - 1):010d}",
            "status": make.rng.choice(["label", "in_transit", "delivered"]),
            "parcels": [{"weight_grams": make.rng.randint(100, 20000), "size": make.rng.choice(["S", "M", "L", "XL"])}
                        for _ in range(make.rng.randint(1, 4))],
            **make.audit(created)})
    indexes = [_tenant_index(("created_at", -1)), _tenant_index(("invoice_id", 1))]
    return DemoCollection("shipments", documents, indexes, _validator(schemas.SHIPMENTS))


TITLES = ["Lighting", "Seating", "Tables", "Storage", "Kitchen", "Office", "Garden", "Textiles"]


def _categories(make: _Maker) -> DemoCollection:
    documents = []
    for number in range(make.count(120)):
        created = make.moment()
        documents.append({
            "_id": make.oid(created), "tenant_id": make.tenant(), "code": f"CAT-{number:03d}",
            "title": make.rng.choice(TITLES), "parent_code": None if number < 8 else f"CAT-{make.rng.randint(0, 7):03d}",
            "position": make.rng.randint(0, 20), **make.audit(created)})
    indexes = [_tenant_index(("code", 1)) | {"unique": True}]
    return DemoCollection("categories", documents, indexes, _validator(schemas.CATEGORIES))
