"""The e-commerce core of the demo: tenants, customers, products, orders, carts, reviews,
audit events and sessions, each with the problems a real shop grows into planted in it."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from bson import Decimal128

from nosql_advisor.demo import schemas
from nosql_advisor.demo.maker import END, START, TENANTS, Maker, by_tenant, tenant_index, validator
from nosql_advisor.demo.model import DemoCollection, PlantedProblem, ns

PRICE_MIGRATION = datetime(2025, 9, 1)  # products.price: string before, decimal after (DM505)
ORDER_IDS_PER_MONTH = 1.5  # customers.order_ids growth (DM102); still short today, so not DM101
KINDS = ["Lamp", "Chair", "Mug", "Desk", "Shelf"]
TIERS = ["bronze", "silver", "gold", "platinum"]  # customers.tier: four values, copied into orders
COUNTRIES = ["US", "GB", "DE", "FR", "NL", "ES"]
ORDER_TIER_DRIFT = 0.2  # share of orders whose customer.tier copy differs from customers.tier (DM202)
SESSION_TIER_DRIFT = 0.12  # the same for sessions.customer_tier, the copy beside customer_id


def tenants(make: Maker) -> DemoCollection:
    """The tenant registry: global by design, so it carries no tenant key."""
    documents = []
    for number, code in enumerate(TENANTS):
        created = START + timedelta(days=number * 20)
        documents.append({"_id": code, "name": make.fake.company(),
                          "plan": make.rng.choice(["free", "pro", "enterprise"]), **make.audit(created)})
    return DemoCollection("tenants", documents, [{"key": {"plan": 1}, "name": "plan_1"}])


def luhn(digits: str) -> str:
    """`digits` with the check digit that makes it pass the Luhn test (a real-looking card)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return digits + str((10 - total % 10) % 10)


def _order_ids(make: Maker, created: datetime) -> list:
    months = (END - created).days / 30
    count = int(months * ORDER_IDS_PER_MONTH + make.rng.random() * 2)
    return [make.oid(moment) for moment in sorted(make.moment(after=created) for _ in range(count))]


def _customer(make: Maker, number: int) -> dict:
    created = make.moment()
    first, last = make.fake.first_name(), make.fake.last_name()
    audit = make.audit(created)
    deleted_at = make.moment(after=created) if make.rng.random() < 0.05 else None
    if deleted_at:
        audit["updated_at"] = max(audit["updated_at"], deleted_at)
    return {
        "_id": make.oid(created), "tenant_id": make.spread_tenant(number), "name": f"{first} {last}",
        "email": f"{first}.{last}{number}@{make.fake.free_email_domain()}".lower(),
        "phone": make.fake.phone_number(),
        "date_of_birth": datetime(make.rng.randint(1950, 2004), make.rng.randint(1, 12), make.rng.randint(1, 28)),
        "card_number": luhn("4" + "".join(str(make.rng.randint(0, 9)) for _ in range(14))),
        "iban": make.fake.iban(),
        "address": {"street": make.fake.street_address(), "city": make.fake.city(), "zip": make.fake.postcode()},
        "tier": make.rng.choice(TIERS), "country": make.rng.choice(COUNTRIES),
        "order_ids": _order_ids(make, created), "deleted_at": deleted_at, **audit,
    }


def customers(make: Maker, planted: list[PlantedProblem]) -> DemoCollection:
    documents = [_customer(make, number) for number in range(make.count(3000))]
    deleted = sum(d["deleted_at"] is not None for d in documents)
    longest = max(len(d["order_ids"]) for d in documents)
    planted += [
        PlantedProblem("DM102", ns("customers"), "order_ids", f"order_ids grows with customer age, about +{ORDER_IDS_PER_MONTH} ids per month since creation and never trimmed: short today (at most {longest} ids), but with no bound"),
        PlantedProblem("DM603", ns("customers"), "deleted_at", f"soft delete: deleted_at set on {deleted:,} of {len(documents):,} customers, with no TTL or partial index to enforce retention"),
        PlantedProblem("DM701", ns("customers"), "phone", "phone numbers in clear in every customer"),
        PlantedProblem("DM701", ns("customers"), "date_of_birth", "dates of birth in clear in every customer"),
        PlantedProblem("DM701", ns("customers"), "card_number", "16-digit card numbers that pass the Luhn check, in clear in every customer"),
        PlantedProblem("DM701", ns("customers"), "iban", "IBANs in clear in every customer"),
        PlantedProblem("DM701", ns("customers"), "email", "email addresses in clear in every customer (personal data, low severity)"),
    ]
    indexes = [tenant_index(("email", 1), unique=True), tenant_index(("created_at", -1)),
               tenant_index(("name", 1)) | {"name": "tenant_id_1_name_1_ci", "collation": {"locale": "en", "strength": 2}}]
    return DemoCollection("customers", documents, indexes, validator(schemas.CUSTOMERS))


def _product(make: Maker, number: int, popular: bool) -> dict:
    created = make.moment()
    price = make.money(2, 400)
    reviews = make.rng.randint(2000, 3000) if popular else make.rng.randint(0, 20)
    first_day = created.date()
    views = {str(first_day + timedelta(days=d)): make.rng.randint(0, 500)
             for d in range(min(400, (END.date() - first_day).days))}
    return {
        "_id": make.oid(created), "tenant_id": make.spread_tenant(number), "sku": f"SKU-{number:05d}",
        "name": f"{make.fake.color_name()} {make.fake.word().title()} {make.rng.choice(KINDS)}",
        "price": str(price) if created < PRICE_MIGRATION else price,
        "reviews": [{"rating": make.rng.randint(1, 5), "at": created + timedelta(hours=i)} for i in range(reviews)],
        "daily_views": views, **make.audit(created),
    }


def products(make: Maker, planted: list[PlantedProblem]) -> DemoCollection:
    total = make.count(600, least=72)  # enough string prices (before the migration) for DM506 to count
    popular = set(make.rng.sample(range(total), max(1, total // 33)))
    documents = [_product(make, number, number in popular) for number in range(total)]
    strings = sum(isinstance(d["price"], str) for d in documents)
    keys = max(len(d["daily_views"]) for d in documents)
    planted += [
        PlantedProblem("DM101", ns("products"), "reviews", f"reviews embedded without bound: {len(popular)} of {total:,} products hold 2,000-3,000 entries, no maxItems declared"),
        PlantedProblem("DM105", ns("products"), "daily_views", f"one key per day (\"2025-01-01\": n), up to {keys} date keys in one document: data used as field names"),
        PlantedProblem("DM505", ns("products"), "price", f"price is a string in the {strings:,} products created before {PRICE_MIGRATION.date()} and a decimal after"),
        PlantedProblem("DM503", ns("products"), "price", f"the {strings:,} string prices fail the declared bsonType decimal"),
        PlantedProblem("DM506", ns("products"), "price", f"the {strings:,} string prices are numbers held as text (\"123.45\"): they sort and compare as text"),
    ]
    return DemoCollection("products", documents, [tenant_index(("sku", 1), unique=True)], validator(schemas.PRODUCTS))


def _tier_copy(make: Maker, customer: dict, drift: float) -> str:
    """The customer's tier as copied when the order or session was written: since then a share
    `drift` of the customers moved to another tier and the copies were never updated."""
    if make.rng.random() >= drift:
        return customer["tier"]
    return make.rng.choice([tier for tier in TIERS if tier != customer["tier"]])


def _drifted(documents: list[dict], customers: DemoCollection, copy) -> int:
    tier = {c["_id"]: c["tier"] for c in customers.documents}
    return sum(copy(d) != tier[d["customer_id"]] for d in documents)


def _order(make: Maker, customer: dict, catalogue: list[dict]) -> dict:
    created = make.moment(after=customer["created_at"])
    picked = make.rng.sample(catalogue, min(len(catalogue), make.rng.randint(1, 6)))
    items = [{"sku": p["sku"], "qty": make.rng.randint(1, 4), "price": make.money(2, 400)} for p in picked]
    total = sum((i["price"].to_decimal() * i["qty"] for i in items), Decimal(0))
    return {
        "_id": make.oid(created), "tenant_id": customer["tenant_id"], "customer_id": customer["_id"],
        "customer": {"name": customer["name"], "email": customer["email"],
                     "tier": _tier_copy(make, customer, ORDER_TIER_DRIFT), "country": customer["country"]},
        "items": items, "status": make.rng.choice(["new", "paid", "paid", "shipped", "cancelled"]),
        "total": Decimal128(total), **make.audit(created),
    }


def orders(make: Maker, customers: DemoCollection, products: DemoCollection, planted: list[PlantedProblem]) -> DemoCollection:
    """Orders of a tenant go to that tenant's customers and products; one tenant has most of them."""
    people, catalogues = by_tenant(customers.documents), by_tenant(products.documents)
    documents = []
    for number in range(make.count(8000, least=100)):  # enough for the skew to show
        tenant = make.skewed_tenant(number)
        documents.append(_order(make, make.rng.choice(people[tenant]), catalogues[tenant]))
    top = TENANTS[0]
    share = sum(d["tenant_id"] == top for d in documents) / len(documents)
    drifted = _drifted(documents, customers, lambda order: order["customer"]["tier"])
    planted += [
        PlantedProblem("DM201", ns("orders"), "customer.email", "every order copies the customer's email from shop.customers.email, no source of truth documented"),
        PlantedProblem("DM201", ns("orders"), "customer.name", "every order copies the customer's name from shop.customers.name, no source of truth documented"),
        PlantedProblem("DM201", ns("orders"), "customer.tier", "every order copies the customer's tier (4 values) from shop.customers.tier, joined through customer_id; no source of truth documented"),
        PlantedProblem("DM202", ns("orders"), "customer.tier", f"{drifted:,} of {len(documents):,} customer.tier copies ({drifted / len(documents):.0%}) differ from shop.customers.tier (the customer changed tier since); chance agreement of 4 tiers is about 25%"),
        PlantedProblem("DM201", ns("orders"), "customer.country", f"every order copies the customer's country (6 values) from shop.customers.country, joined through customer_id, all {len(documents):,} equal; no source of truth documented"),
        PlantedProblem("DM701", ns("orders"), "customer.email", "the copied customer email is personal data in clear, in every order"),
        PlantedProblem("DM303", ns("orders"), None, "index status_1_created_at_-1 does not start with tenant_id"),
        PlantedProblem("DM305", ns("orders"), "tenant_id", f"tenant {top} holds {share:.0%} of the orders; an even share of 12 tenants is 8%"),
        PlantedProblem("DM404", ns("orders"), None, "index tenant_id_1 is a prefix of tenant_id_1_created_at_-1 (redundant: the longer index serves every query the shorter one does)"),
    ]
    indexes = [tenant_index(("created_at", -1)), tenant_index(),
               {"key": {"status": 1, "created_at": -1}, "name": "status_1_created_at_-1"}]
    return DemoCollection("orders", documents, indexes, validator(schemas.ORDERS))


def carts(make: Maker, customers: DemoCollection, products: DemoCollection, planted: list[PlantedProblem]) -> DemoCollection:
    catalogues = by_tenant(products.documents)
    documents = []
    for _ in range(make.count(1500)):
        customer = make.rng.choice(customers.documents)
        created = make.moment(after=customer["created_at"])
        skus = [p["sku"] for p in catalogues[customer["tenant_id"]]]
        cart = {"_id": make.oid(created), "tenant_id": customer["tenant_id"], "customer_id": customer["_id"],
                "lines": [{"sku": make.rng.choice(skus), "qty": make.rng.randint(1, 3)} for _ in range(make.rng.randint(0, 5))],
                "promo_code": make.rng.choice([None, "SPRING", "VIP10"]), **make.audit(created)}
        if make.rng.random() < 0.07:
            del cart["tenant_id"]
        documents.append(cart)
    missing = sum("tenant_id" not in d for d in documents)
    planted += [
        PlantedProblem("DM302", ns("carts"), "tenant_id", f"tenant_id missing in {missing:,} of {len(documents):,} carts ({missing / len(documents):.0%})"),
        PlantedProblem("DM502", ns("carts"), None, "validator with validationAction warn and validationLevel moderate"),
        PlantedProblem("DM504", ns("carts"), "promo_code", "promo_code in every cart but not declared in the schema"),
    ]
    return DemoCollection("carts", documents, [tenant_index(("customer_id", 1))],
                          validator(schemas.CARTS, level="moderate", action="warn"))


def reviews(make: Maker, products: DemoCollection, planted: list[PlantedProblem]) -> DemoCollection:
    catalogues = by_tenant(products.documents)
    documents = []
    for number in range(make.count(4000)):
        product = make.rng.choice(catalogues[make.spread_tenant(number)])
        created = make.moment(after=product["created_at"])
        name = product["name"] if make.rng.random() >= 0.15 else product["name"] + " (old name)"
        rating = make.rng.randint(1, 5) if make.rng.random() >= 0.08 else make.rng.choice([0, 6])
        documents.append({"_id": make.oid(created), "tenant_id": product["tenant_id"], "product_id": product["_id"],
                          "product_name": name, "rating": rating, "text": make.fake.sentence(nb_words=10),
                          **make.audit(created)})
    drifted = sum(d["product_name"].endswith(" (old name)") for d in documents)
    invalid = sum(d["rating"] not in range(1, 6) for d in documents)
    planted += [
        PlantedProblem("DM202", ns("reviews"), "product_name", f"{drifted:,} of {len(documents):,} product_name copies ({drifted / len(documents):.0%}) differ from shop.products.name (the schema documents that source of truth)"),
        PlantedProblem("DM503", ns("reviews"), "rating", f"{invalid:,} of {len(documents):,} ratings ({invalid / len(documents):.0%}) are 0 or 6, outside the declared minimum 1 / maximum 5"),
    ]
    return DemoCollection("reviews", documents, [tenant_index(("product_id", 1))], validator(schemas.REVIEWS))


def audit_events(make: Maker) -> DemoCollection:
    documents = []
    for number in range(make.count(3000)):
        created = make.moment()
        documents.append({"_id": make.oid(created), "tenant_id": make.spread_tenant(number),
                          "action": make.rng.choice(["login", "export", "update", "delete"]),
                          "actor_id": make.oid(created - timedelta(days=3)), **make.audit(created)})
    return DemoCollection("audit_events", documents, [tenant_index(("created_at", -1))])


def sessions(make: Maker, customers: DemoCollection, planted: list[PlantedProblem]) -> DemoCollection:
    documents = []
    for _ in range(make.count(1500)):
        customer = make.rng.choice(customers.documents)
        created = make.moment(after=customer["created_at"])
        documents.append({"_id": make.oid(created), "tenant_id": customer["tenant_id"], "customer_id": customer["_id"],
                          "customer_tier": _tier_copy(make, customer, SESSION_TIER_DRIFT),
                          "token": make.rng.randbytes(16).hex(), "ip": make.fake.ipv4_public(),
                          **make.audit(created)})
    drifted = _drifted(documents, customers, lambda session: session["customer_tier"])
    planted += [
        PlantedProblem("DM701", ns("sessions"), "ip", "client IP addresses in clear in every session (personal data, low severity)"),
        PlantedProblem("DM201", ns("sessions"), "customer_tier", "customer_tier beside customer_id copies shop.customers.tier (4 values) into every session; no source of truth documented"),
        PlantedProblem("DM202", ns("sessions"), "customer_tier", f"{drifted:,} of {len(documents):,} customer_tier copies ({drifted / len(documents):.0%}) differ from shop.customers.tier, joined through customer_id"),
    ]
    return DemoCollection("sessions", documents, [tenant_index(("customer_id", 1))])

