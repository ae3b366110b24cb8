"""DM201: copies joined through a reference, found by fingerprints; documented ones are fine."""

from __future__ import annotations

import bson
from bson import ObjectId, json_util

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
