"""Tenancy (DM301–DM303) and auditability (DM602, DM603) rules: positive, clean and boundary."""

from __future__ import annotations

import datetime


from helpers import scanned_dump
from nosql_advisor.rules import RuleConfig, run_rules

NOW = datetime.datetime(2026, 1, 1)


dump = scanned_dump  # a mongodump of database `app` with these collections (and indexes), scanned


def rows(landscape, *rules: str, config: RuleConfig = RuleConfig()) -> list[tuple]:
    return [(f.rule, f.namespace, f.path) for f in run_rules(landscape, config) if f.rule in rules]


def scoped(n: int = 3, **extra) -> list[dict]:
    return [{"_id": i, "tenant_id": f"t{i % 2}", "created_at": NOW, "updated_at": NOW, **extra} for i in range(n)]


def test_a_collection_without_tenant_key_in_a_multi_tenant_database(tmp_path):
    landscape = dump(tmp_path, {"orders": scoped(), "invoices": scoped(),
                                "coupons": [{"_id": 1, "created_at": NOW, "updated_at": NOW}],
                                "tenants": [{"_id": "t0", "created_at": NOW, "updated_at": NOW}]})
    assert rows(landscape, "DM301") == [("DM301", "app.coupons", None)]  # tenants: the registry, exempt
    assert rows(landscape, "DM301", config=RuleConfig(global_collections=frozenset({"app.coupons"}))) == []


def test_a_database_where_few_collections_carry_a_tenant_key_is_not_multi_tenant(tmp_path):
    landscape = dump(tmp_path, {"orders": scoped(), "coupons": [{"_id": 1}], "notes": [{"_id": 1}]})
    assert rows(landscape, "DM301", "DM302", "DM303") == []


def test_tenant_key_missing_in_part_of_a_collection(tmp_path):
    carts = scoped(9) + [{"_id": 99, "created_at": NOW, "updated_at": NOW}]
    landscape = dump(tmp_path, {"carts": carts, "orders": scoped()})
    [finding] = [f for f in run_rules(landscape) if f.rule == "DM302"]
    assert (finding.namespace, finding.path, finding.evidence["missing"]) == ("app.carts", "tenant_id", 1)


def test_indexes_must_start_with_the_tenant_key(tmp_path):
    indexes = {"orders": [{"v": 2, "key": {"tenant_id": 1, "status": 1}, "name": "tenant_id_1_status_1"},
                          {"v": 2, "key": {"status": 1}, "name": "status_1"}]}
    landscape = dump(tmp_path, {"orders": scoped(), "invoices": scoped()}, indexes)
    [finding] = [f for f in run_rules(landscape) if f.rule == "DM303"]
    assert finding.evidence["index"] == "status_1"


def test_audit_fields_missing_partial_and_present(tmp_path):
    landscape = dump(tmp_path, {
        "clean": scoped(),
        "bare": [{"_id": 1}],
        "partial": [{"_id": 1, "createdAt": NOW, "updatedAt": NOW}, {"_id": 2, "createdAt": NOW}],
    })
    found = {f.namespace: f for f in run_rules(landscape) if f.rule == "DM602"}
    assert sorted(found) == ["app.bare", "app.partial"]
    assert found["app.partial"].evidence["partial"] == {"updatedAt": 0.5}


def test_soft_delete_needs_a_ttl_or_partial_index(tmp_path):
    documents = scoped(4, deleted_at=None)
    documents[0]["deleted_at"] = NOW
    plain = dump(tmp_path / "a", {"users": documents})
    ttl = dump(tmp_path / "b", {"users": documents},
               {"users": [{"v": 2, "key": {"tenant_id": 1, "deleted_at": 1}, "name": "purge", "expireAfterSeconds": 86400}]})
    partial = dump(tmp_path / "c", {"users": documents},
                   {"users": [{"v": 2, "key": {"tenant_id": 1}, "name": "live",
                               "partialFilterExpression": {"deleted_at": None}}]})
    assert rows(plain, "DM603") == [("DM603", "app.users", "deleted_at")]
    assert rows(ttl, "DM603") == rows(partial, "DM603") == []


def test_tenant_skew_boundary(tmp_path):
    def orders(top: int, others: int) -> list[dict]:
        documents = [{"_id": i, "tenant_id": "big", "created_at": NOW, "updated_at": NOW} for i in range(top)]
        return documents + [{"_id": 1000 + i, "tenant_id": f"t{i % 3}", "created_at": NOW, "updated_at": NOW}
                            for i in range(others)]

    skewed = dump(tmp_path / "a", {"orders": orders(51, 49), "invoices": scoped()})
    even = dump(tmp_path / "b", {"orders": orders(49, 51), "invoices": scoped()})
    [finding] = [f for f in run_rules(skewed) if f.rule == "DM305"]
    assert (finding.namespace, finding.evidence["top_share"], finding.evidence["distinct"]) == ("app.orders", 0.51, 4)
    assert "big" not in finding.message + str(finding.evidence)  # the tenant is not named
    assert rows(even, "DM305") == []
