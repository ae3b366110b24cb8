"""DM201: copies joined through a reference, found by fingerprints; documented ones are fine."""

from __future__ import annotations

import bson
from bson import ObjectId

from nosql_advisor.rules import RuleConfig, run_rules
from nosql_advisor.scan import ScanOptions, scan_sources
from nosql_advisor.schema.load import DeclaredSchema


def people(n: int = 60) -> list[dict]:
    return [{"_id": ObjectId(), "email": f"p{i}@example.com", "name": f"Person {i}", "city": f"City {i % 30}"}
            for i in range(n)]


def write(folder, collections: dict[str, list[dict]]):
    folder.mkdir(parents=True, exist_ok=True)
    for name, documents in collections.items():
        (folder / f"{name}.bson").write_bytes(b"".join(bson.encode(d) for d in documents))


def copies(tmp_path, collections, schemas=None, config: RuleConfig = RuleConfig()) -> list[tuple[str, str]]:
    write(tmp_path / "shop", collections)
    landscape = scan_sources([str(tmp_path / "shop")], ScanOptions(schemas=schemas or {}))
    return [(f.namespace, f.path) for f in run_rules(landscape, config) if f.rule == "DM201"]


def orders_of(customers: list[dict], **extra) -> list[dict]:
    return [{"_id": i, "customer_id": c["_id"], "customer": {"email": c["email"], "name": c["name"]}, **extra}
            for i, c in enumerate(customers * 2)]


def test_copied_fields_joined_through_a_reference(tmp_path):
    customers = people()
    assert copies(tmp_path, {"customers": customers, "orders": orders_of(customers)}) == [
        ("shop.orders", "customer.email"), ("shop.orders", "customer.name")]


def test_a_documented_source_of_truth_is_not_a_finding(tmp_path):
    customers = people()
    schema = {"properties": {"customer": {"bsonType": "object",
                                          "description": "extended reference; source of truth: shop.customers"}}}
    declared = {"shop.orders": DeclaredSchema("shop.orders", schema, "schemas/shop/orders.json")}
    assert copies(tmp_path / "a", {"customers": customers, "orders": orders_of(customers)}, declared) == []
    config = RuleConfig(sources_of_truth={"shop.orders.customer": "shop.customers"})
    assert copies(tmp_path / "b", {"customers": customers, "orders": orders_of(customers)}, config=config) == []


def test_equal_values_without_a_join_are_not_copies(tmp_path):
    customers = people()
    leads = [{"_id": i, "name": c["name"]} for i, c in enumerate(customers)]  # no reference to customers
    assert copies(tmp_path, {"customers": customers, "leads": leads}) == []


def test_a_unique_key_copied_serves_as_the_reference(tmp_path):
    users = people()
    comments = [{"_id": i, "email": u["email"], "name": u["name"], "text": f"comment {i}"} for i, u in enumerate(users * 3)]
    assert copies(tmp_path, {"users": users, "comments": comments}) == [("shop.comments", "name")]


def test_too_few_distinct_values_prove_nothing(tmp_path):
    customers = people(10)
    assert copies(tmp_path, {"customers": customers, "orders": orders_of(customers)}) == []


# -- DM202: copies lined up with their source, document by document --------------------------

def drift(tmp_path, collections, config: RuleConfig = RuleConfig()) -> list:
    write(tmp_path / "shop", collections)
    landscape = scan_sources([str(tmp_path / "shop")], ScanOptions())
    return [f for f in run_rules(landscape, config) if f.rule == "DM202"]


def reviews_of(products: list[dict], renamed: int, per_product: int = 2) -> list[dict]:
    reviews = [{"_id": ObjectId(), "product_id": p["_id"], "product_name": p["name"], "stars": 4}
               for p in products * per_product]
    for review in reviews[:renamed]:
        review["product_name"] += " (old name)"
    return reviews


def catalogue(n: int = 100) -> list[dict]:
    return [{"_id": ObjectId(), "name": f"Product {i}", "sku": f"SKU-{i:04}"} for i in range(n)]


def test_a_copy_that_differs_from_its_source_is_counted(tmp_path):
    products = catalogue()
    [finding] = drift(tmp_path, {"products": products, "reviews": reviews_of(products, renamed=30)})
    assert (finding.namespace, finding.path, finding.severity) == ("shop.reviews", "product_name", "high")
    expected = {"copy_of": "shop.products.name", "joined": 200, "differ": 30, "share": 0.15,
                "joined_through": "product_id -> shop.products._id"}
    assert {key: finding.evidence[key] for key in expected} == expected
    assert "Product" not in str(finding.evidence) + finding.message  # counts only, never a value


def test_copies_in_sync_are_not_drift(tmp_path):
    products = catalogue()
    assert drift(tmp_path, {"products": products, "reviews": reviews_of(products, renamed=0)}) == []


def test_drift_below_the_share_threshold_is_not_reported(tmp_path):
    products = catalogue()
    config = RuleConfig(thresholds={"DM202": {"min_share": 0.05}})
    assert drift(tmp_path / "a", {"products": products, "reviews": reviews_of(products, renamed=9)}, config) == []
    [at] = drift(tmp_path / "b", {"products": products, "reviews": reviews_of(products, renamed=10)}, config)
    assert at.evidence["share"] == 0.05


def test_a_documented_copy_is_still_checked_for_drift(tmp_path):
    products = catalogue()
    config = RuleConfig(sources_of_truth={"shop.reviews.product_name": "shop.products.name"})
    [finding] = drift(tmp_path, {"products": products, "reviews": reviews_of(products, renamed=40)}, config)
    assert finding.evidence["source_of_truth_documented"] is True


def test_a_field_that_agrees_with_nothing_is_not_a_copy(tmp_path):
    products = catalogue()
    reviews = [{"_id": ObjectId(), "product_id": p["_id"], "title": f"Great {i}"} for i, p in enumerate(products * 2)]
    assert drift(tmp_path, {"products": products, "reviews": reviews}) == []


def test_too_few_joined_documents_prove_nothing(tmp_path):
    products = catalogue(25)
    reviews = reviews_of(products, renamed=5, per_product=1)[:19]  # 19 joined < min_joined 20
    assert drift(tmp_path, {"products": products, "reviews": reviews}) == []


def test_copies_of_a_few_heavy_sources_count_by_documents(tmp_path):
    """mflix's comments: most comments come from users in `users`, a long tail from users who are
    not; by distinct values that is under 80%, by documents it is a copy."""
    users = people(40)
    known = [{"_id": i, "email": u["email"], "name": u["name"]} for i, u in enumerate(users * 10)]
    strangers = [{"_id": 1000 + i, "email": f"s{i}@example.org", "name": f"Stranger {i}"} for i in range(30)]
    found = copies(tmp_path, {"users": users, "comments": known + strangers})
    assert found == [("shop.comments", "name")]
