"""Collections that hold references the way they go wrong: a reference stored as a hex string
in part of the documents (DM203), a relationship listed on both sides that drifts (DM204), and
a user reference named like a tenant key beside the real tenant key (DM303 on the wrong key)."""

from __future__ import annotations

from nosql_advisor.demo.maker import Maker, by_tenant, tenant_index
from nosql_advisor.demo.model import DemoCollection, PlantedProblem, ns

HEX_SHARE = 0.3  # wishlists.customer_id held as a 24-hex string instead of an ObjectId (exactly)
ONE_SIDED = 0.1  # share of user-group memberships listed on one side only (half each way)
ROLES = ["admin", "member", "viewer"]


def wishlists(make: Maker, customers: DemoCollection, products: DemoCollection,
              planted: list[PlantedProblem]) -> DemoCollection:
    """An import wrote customer_id as str(ObjectId) in part of the wishlists: $lookup and
    find({customer_id: <ObjectId>}) silently miss those documents."""
    catalogues = by_tenant(products.documents)
    count = make.count(400, least=120)
    as_text = set(make.rng.sample(range(count), round(count * HEX_SHARE)))
    documents = []
    for number in range(count):
        customer = make.rng.choice(customers.documents)
        created = make.moment(after=customer["created_at"])
        catalogue = catalogues[customer["tenant_id"]]
        picked = make.rng.sample(catalogue, min(len(catalogue), make.rng.randint(0, 6)))
        reference = str(customer["_id"]) if number in as_text else customer["_id"]
        documents.append({"_id": make.oid(created), "tenant_id": customer["tenant_id"], "customer_id": reference,
                          "product_ids": [p["_id"] for p in picked], **make.audit(created)})
    strings = sum(isinstance(d["customer_id"], str) for d in documents)
    share = f"{strings:,} of {len(documents):,} wishlists ({strings / len(documents):.0%})"
    planted += [
        PlantedProblem("DM203", ns("wishlists"), "customer_id", f"customer_id references shop.customers._id (objectId) but is a 24-hex string in {share}: those never join"),
        PlantedProblem("DM505", ns("wishlists"), "customer_id", f"customer_id mixes objectId and string ({share} strings), interleaved over the same days"),
        PlantedProblem("DM506", ns("wishlists"), "customer_id", f"ObjectIds held as 24-hex strings in {share}"),
    ]
    return DemoCollection("wishlists", documents, [tenant_index(("customer_id", 1))])


def users(make: Maker) -> DemoCollection:
    """The tenant's staff logins: one document per user (the collection account_id points at)."""
    documents = []
    for number in range(make.count(240, least=120)):
        created = make.moment()
        documents.append({"_id": make.oid(created), "tenant_id": make.spread_tenant(number),
                          "username": f"user{number:04d}", "role": make.rng.choice(ROLES), "group_ids": [],
                          **make.audit(created)})
    return DemoCollection("users", documents, [tenant_index(("username", 1), unique=True)])


def groups(make: Maker, users: DemoCollection, planted: list[PlantedProblem]) -> DemoCollection:
    """Three groups per tenant; each user belongs to one or two of them, written on both sides
    (users.group_ids and groups.member_ids), and a share of the memberships only on one side."""
    members = by_tenant(users.documents)
    documents = []
    for number in range(make.count(36, least=36)):
        tenant = make.spread_tenant(number)
        created = make.moment()
        documents.append({"_id": make.oid(created), "tenant_id": tenant, "code": f"GRP-{number:03d}",
                          "member_ids": [], **make.audit(created)})
    per_tenant = by_tenant(documents)
    pairs = only_user = only_group = 0
    for tenant, people in sorted(members.items()):
        for user in people:
            for group in make.rng.sample(per_tenant[tenant], make.rng.randint(1, 2)):
                pairs += 1
                side = make.rng.random()
                if side >= ONE_SIDED / 2:
                    user["group_ids"].append(group["_id"])
                else:
                    only_group += 1
                if side < ONE_SIDED / 2 or side >= ONE_SIDED:
                    group["member_ids"].append(user["_id"])
                else:
                    only_user += 1
    planted.append(PlantedProblem(
        "DM204", ns("groups"), "member_ids",
        f"users.group_ids and groups.member_ids both list the {pairs:,} memberships: {only_user + only_group:,} "
        f"({(only_user + only_group) / pairs:.0%}) are on one side only ({only_user:,} only in users.group_ids, "
        f"{only_group:,} only in groups.member_ids); neither side owns the relationship"))
    return DemoCollection("groups", documents, [tenant_index(("code", 1), unique=True)])


def notifications(make: Maker, users: DemoCollection, planted: list[PlantedProblem]) -> DemoCollection:
    """tenant_id and account_id in every document; account_id is the user the notification is
    for (users._id), not a tenant. The only index is on account_id: not led by the tenant key."""
    documents = []
    for _ in range(make.count(600, least=120)):
        user = make.rng.choice(users.documents)
        created = make.moment(after=user["created_at"])
        documents.append({"_id": make.oid(created), "tenant_id": user["tenant_id"], "account_id": user["_id"],
                          "kind": make.rng.choice(["order_shipped", "invoice_due", "stock_low"]),
                          "read": make.rng.random() < 0.6, **make.audit(created)})
    planted.append(PlantedProblem(
        "DM303", ns("notifications"), None,
        "index account_id_1 does not start with tenant_id, the database's tenant key; account_id is in all "
        f"{len(documents):,} documents too, but it references shop.users._id (one document per user), so it is not the tenant key"))
    return DemoCollection("notifications", documents, [{"key": {"account_id": 1}, "name": "account_id_1"}])
