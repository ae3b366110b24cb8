"""The tenant key is decided per database, by the key most of its collections carry (ties: the
configured order), and a candidate that points at a per-user collection is a reference, not the key.
Every tenant rule (DM301-DM305) then holds each collection to that one key."""

from __future__ import annotations

import datetime

import bson

from helpers import scanned_dump
from nosql_advisor.rules import TENANT_KEYS, RuleConfig, run_rules
from nosql_advisor.rules.tenancy import tenant_keys

NOW = datetime.datetime(2026, 1, 1)
AUDIT = {"created_at": NOW, "updated_at": NOW}


dump = scanned_dump  # a mongodump of database `app` with these collections (and indexes), scanned


def index(*fields: str) -> dict:
    return {"v": 2, "key": {f: 1 for f in fields}, "name": "_".join(f"{f}_1" for f in fields)}


def documents(n: int, **fields) -> list[dict]:
    """n documents; each keyword is a function of the document's number giving that field."""
    return [{"_id": i, **{name: make(i) for name, make in fields.items()}, **AUDIT} for i in range(n)]


def findings(landscape, rule: str, config: RuleConfig = RuleConfig()):
    return [f for f in run_rules(landscape, config) if f.rule == rule]


def test_both_keys_in_every_document_the_database_majority_decides(tmp_path):
    # orders: 60 of 100 documents belong to tenant "big" (skewed), while 50 accounts share them evenly
    orders = documents(100, tenant_id=lambda i: "big" if i < 60 else f"t{i % 4}", account_id=lambda i: f"a{i % 50}")
    landscape = dump(tmp_path, {
        "orders": orders,
        "invoices": documents(10, tenant_id=lambda i: f"t{i % 4}"),
        "products": documents(10, tenant_id=lambda i: f"t{i % 4}"),
    }, {"orders": [index("account_id"), index("tenant_id", "created_at")]})
    assert tenant_keys(landscape, RuleConfig())["app"].key == "tenant_id"  # carried by 3 of 3, account_id by 1
    [unprefixed] = findings(landscape, "DM303")
    assert (unprefixed.namespace, unprefixed.evidence["index"], unprefixed.evidence["tenant_key"]) == \
        ("app.orders", "account_id_1", "tenant_id")
    [skew] = findings(landscape, "DM305")
    assert (skew.path, skew.evidence["top_share"], skew.evidence["distinct"]) == ("tenant_id", 0.6, 5)
    assert findings(landscape, "DM301") == findings(landscape, "DM302") == []


def test_a_database_where_account_id_is_the_majority_key_takes_account_id(tmp_path):
    landscape = dump(tmp_path, {
        "orders": documents(10, tenant_id=lambda i: f"t{i % 2}", account_id=lambda i: f"a{i % 3}"),
        "invoices": documents(10, account_id=lambda i: f"a{i % 3}"),
        "products": documents(10, account_id=lambda i: f"a{i % 3}"),
    }, {"orders": [index("account_id", "status"), index("tenant_id")]})
    assert tenant_keys(landscape, RuleConfig())["app"].key == "account_id"
    assert [(f.namespace, f.evidence["index"]) for f in findings(landscape, "DM303")] == [("app.orders", "tenant_id_1")]
    assert findings(landscape, "DM301") == []


def test_a_tie_is_broken_by_the_configured_order_and_the_other_side_is_dm301(tmp_path):
    landscape = dump(tmp_path, {
        "orders": documents(10, tenant_id=lambda i: f"t{i % 2}", account_id=lambda i: f"a{i % 3}"),
        "invoices": documents(10, tenant_id=lambda i: f"t{i % 2}"),
        "products": documents(10, account_id=lambda i: f"a{i % 3}"),
    })
    assert tenant_keys(landscape, RuleConfig())["app"].key == "tenant_id"  # 2 against 2: tenant_id comes first
    [missing] = findings(landscape, "DM301")
    assert missing.namespace == "app.products"
    assert "carries 'account_id' but not the database's tenant key 'tenant_id'" in missing.message
    accounts_first = RuleConfig(tenant_keys=("account_id",) + tuple(k for k in TENANT_KEYS if k != "account_id"))
    assert tenant_keys(landscape, accounts_first)["app"].key == "account_id"
    assert [f.namespace for f in findings(landscape, "DM301", accounts_first)] == ["app.invoices"]


def per_user_database(accounts: list[dict]) -> dict[str, list[dict]]:
    """account_id (pointing at `accounts`) in four collections, tenant_id in orders and invoices
    (and in accounts when they carry it): by a bare count account_id would be the key."""
    ids = [a["_id"] for a in accounts]
    account = lambda i: ids[i % len(ids)]  # noqa: E731
    return {
        "accounts": accounts,
        "orders": documents(90, tenant_id=lambda i: f"t{i % 3}", account_id=account),
        "invoices": documents(90, tenant_id=lambda i: f"t{i % 3}", account_id=account),
        "sessions": documents(90, account_id=account),
        "carts": documents(90, account_id=account),
    }


def test_a_candidate_pointing_at_a_per_user_collection_is_a_reference_not_the_key(tmp_path):
    accounts = [{"_id": bson.ObjectId(), "tenant_id": f"t{i % 3}", "email": f"user{i}@example.com", **AUDIT}
                for i in range(30)]
    landscape = dump(tmp_path, per_user_database(accounts))
    decided = tenant_keys(landscape, RuleConfig())["app"]
    assert (decided.key, decided.references) == ("tenant_id", {"account_id": "app.accounts"})
    assert decided.votes == {"tenant_id": 3}  # accounts, orders, invoices; account_id takes no part
    missing = findings(landscape, "DM301")
    assert sorted(f.namespace for f in missing) == ["app.carts", "app.sessions"]
    assert all("'account_id' (a reference to app.accounts, not a tenant key)" in f.message for f in missing)


def test_a_per_user_collection_is_known_by_a_unique_login_too(tmp_path):
    accounts = [{"_id": bson.ObjectId(), "email": f"user{i}@example.com", **AUDIT} for i in range(30)]
    collections = per_user_database(accounts)
    collections["products"] = documents(10, tenant_id=lambda i: f"t{i % 3}")
    landscape = dump(tmp_path, collections)
    decided = tenant_keys(landscape, RuleConfig())["app"]
    assert (decided.key, decided.references) == ("tenant_id", {"account_id": "app.accounts"})


def test_a_tenant_registry_with_a_login_does_not_make_the_only_key_a_reference(tmp_path):
    tenants = [{"_id": f"t{i}", "email": f"owner{i}@example.com", **AUDIT} for i in range(25)]
    landscape = dump(tmp_path, {
        "tenants": tenants,
        "orders": documents(100, tenant_id=lambda i: f"t{i % 25}"),
        "invoices": documents(100, tenant_id=lambda i: f"t{i % 25}"),
        "coupons": documents(5),
    })
    decided = tenant_keys(landscape, RuleConfig())["app"]
    assert (decided.key, decided.references) == ("tenant_id", {})
    assert [f.namespace for f in findings(landscape, "DM301")] == ["app.coupons"]


def test_recommended_indexes_lead_with_the_database_key_and_dm304_asks_for_it(tmp_path):
    from nosql_advisor.workload.shapes import Operation, Workload

    landscape = dump(tmp_path, {
        "orders": documents(1200, tenant_id=lambda i: f"t{i % 3}", account_id=lambda i: f"a{i % 40}"),
        "invoices": documents(10, tenant_id=lambda i: f"t{i % 3}"),
    })
    landscape.workload = Workload()
    for _ in range(3):
        landscape.workload.add(Operation("app.orders", "find", {"account_id": "a1", "tenant_id": "t1"}))
        landscape.workload.add(Operation("app.orders", "find", {"account_id": "a1"}))
    advised = sorted(f.evidence["index"] for f in findings(landscape, "DM401"))
    assert advised == [[["account_id", 1]], [["tenant_id", 1], ["account_id", 1]]]  # not account_id, tenant_id
    [open_query] = findings(landscape, "DM304")
    assert (open_query.path, open_query.evidence["operations"]) == ("tenant_id", 3)  # account_id is no tenant filter
