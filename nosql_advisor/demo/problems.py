"""Collections that exist in the demo to carry one modelling problem each, the way such
collections turn up in real databases: coupons with no tenant, newsletter subscribers keyed by
email, API clients with their secrets in clear, file blobs, deep trees, a collection per tenant."""

from __future__ import annotations

import re
from collections import Counter

from nosql_advisor.demo.maker import TENANTS, Maker, tenant_index
from nosql_advisor.demo.model import DATABASE, DemoCollection, PlantedProblem, ns

PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA{body}\n-----END RSA PRIVATE KEY-----"
BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
TREE_DEPTH = 15
FAMILY = re.compile(r"\d+")  # names that differ only by digits form a family (as DM106 groups them)
MIN_FAMILY = 3  # the advisor's default size of a family reported once


def coupons(make: Maker, planted: list[PlantedProblem]) -> DemoCollection:
    documents = [{"_id": make.oid(make.moment()), "code": f"SAVE{make.rng.randint(5, 50)}-{n:04d}",
                  "percent": make.rng.choice([5, 10, 15, 20]), "active": make.rng.random() < 0.7}
                 for n in range(make.count(200))]
    planted += [
        PlantedProblem("DM301", ns("coupons"), None, f"no tenant key in any of the {len(documents):,} coupons, in a database where every other tenant-scoped collection has one"),
        PlantedProblem("DM602", ns("coupons"), None, "no created_at / updated_at audit fields in any coupon"),
    ]
    return DemoCollection("coupons", documents, [{"key": {"code": 1}, "name": "code_1", "unique": True}])


def newsletter_subscribers(make: Maker, planted: list[PlantedProblem]) -> DemoCollection:
    documents = []
    for number in range(make.count(800)):
        email = f"{make.fake.user_name()}{number}@{make.fake.free_email_domain()}"
        documents.append({"_id": email, "email": email, "tenant_id": make.spread_tenant(number),
                          "subscribed": make.rng.random() < 0.9})
    name = "newsletter_subscribers"
    planted += [
        PlantedProblem("DM601", ns(name), "_id", f"_id is the subscriber's email address in all {len(documents):,} documents: it changes, and every reference breaks"),
        PlantedProblem("DM602", ns(name), None, "no created_at / updated_at audit fields in any subscriber"),
        PlantedProblem("DM701", ns(name), "_id", "email addresses in clear, as the _id"),
        PlantedProblem("DM701", ns(name), "email", "email addresses in clear"),
    ]
    return DemoCollection(name, documents, [tenant_index(("subscribed", 1))])


def api_clients(make: Maker, planted: list[PlantedProblem]) -> DemoCollection:
    documents = []
    for number in range(make.count(60)):
        created = make.moment()
        documents.append({
            "_id": make.oid(created), "tenant_id": make.spread_tenant(number), "client_name": make.fake.domain_word(),
            "password": make.fake.password(length=12),
            "api_key": "sk_live_" + make.rng.randbytes(12).hex(),
            "aws_access_key_id": "AKIA" + "".join(make.rng.choice(BASE32) for _ in range(16)),
            "private_key": PEM.format(body=make.rng.randbytes(48).hex()),
            **make.audit(created)})
    planted += [
        PlantedProblem("DM702", ns("api_clients"), "password", "plaintext passwords (no bcrypt/argon2/scrypt/PBKDF2 hash) in every API client"),
        PlantedProblem("DM702", ns("api_clients"), "api_key", "live API keys sk_live_... in every API client"),
        PlantedProblem("DM702", ns("api_clients"), "aws_access_key_id", "AWS access key ids AKIA... in every API client"),
        PlantedProblem("DM702", ns("api_clients"), "private_key", "PEM RSA private keys in every API client"),
    ]
    return DemoCollection("api_clients", documents, [tenant_index()])


def attachments(make: Maker, planted: list[PlantedProblem]) -> DemoCollection:
    documents = []
    for number in range(max(2, round(4 * make.scale))):
        created = make.moment()
        size = make.rng.randint(4, 9) * 1024 * 1024
        documents.append({"_id": make.oid(created), "tenant_id": make.spread_tenant(number),
                          "file_name": f"scan-{number:03d}.pdf", "content": make.rng.randbytes(size),  # binData subtype 0
                          **make.audit(created)})
    largest = max(len(d["content"]) for d in documents) / 2 ** 20
    planted.append(PlantedProblem("DM103", ns("attachments"), None, f"file contents stored as binData: documents of 4-9 MiB (largest {largest:.0f} MiB) heading for the 16 MiB limit; use GridFS or object storage"))
    return DemoCollection("attachments", documents, [tenant_index()])


def _tree(make: Maker) -> dict:
    node: dict = {"label": make.fake.word()}
    for _ in range(TREE_DEPTH - 1):
        node = {"label": make.fake.word(), "children": [node]}
    return node


def category_trees(make: Maker, planted: list[PlantedProblem]) -> DemoCollection:
    documents = []
    for number in range(make.count(50)):
        created = make.moment()
        documents.append({"_id": make.oid(created), "tenant_id": make.spread_tenant(number), "tree": _tree(make),
                          **make.audit(created)})
    planted.append(PlantedProblem("DM104", ns("category_trees"), "tree", f"the whole category tree in one document: {TREE_DEPTH} levels of children inside children (over 10); use parent/child references"))
    return DemoCollection("category_trees", documents, [tenant_index()])


def events_per_tenant(make: Maker, planted: list[PlantedProblem]) -> list[DemoCollection]:
    """One collection per tenant, the tenant only in the name (so no tenant key inside)."""
    collections = []
    for tenant in TENANTS:
        documents = []
        for _ in range(make.count(100)):
            created = make.moment()
            documents.append({"_id": make.oid(created), "kind": make.rng.choice(["view", "click", "buy"]),
                              "value": make.rng.randint(1, 100), **make.audit(created)})
        collections.append(DemoCollection(f"events_{tenant}", documents))
    planted.append(PlantedProblem("DM106", f"{DATABASE}.events_t_*", None, f"one events collection per tenant ({len(TENANTS)} collections events_t_0001 ... events_t_{len(TENANTS):04d}): one events collection with tenant_id scales, one per tenant does not"))
    return collections


def missing_validators(collections: list[DemoCollection], planted: list[PlantedProblem]) -> None:
    """DM501 for every collection the demo leaves without a validator (all but the declared ones);
    a family of collections named alike (events_t_0001 ...) once, under its glob, as the advisor
    reports a finding repeated across a family."""
    families = Counter(FAMILY.sub("*", c.name) for c in collections)
    for collection in collections:
        if "validator" in collection.options:
            continue
        pattern = FAMILY.sub("*", collection.name)
        if families[pattern] < MIN_FAMILY or "*" not in pattern:
            planted.append(PlantedProblem("DM501", ns(collection.name), None, "collection has no validator"))
        elif not any(p.rule == "DM501" and p.namespace == ns(pattern) for p in planted):
            planted.append(PlantedProblem("DM501", ns(pattern), None, f"none of the {families[pattern]} collections {pattern} has a validator (one finding for the family)"))
