"""References between collections and what rides on them: low-cardinality copies and their drift
(DM201/DM202, joined through the reference and held against chance), references stored as another
BSON type than the `_id` they name (DM203), and two collections listing each other's ids (DM204)."""

from __future__ import annotations

import random

import bson
import pytest
from bson import ObjectId

from nosql_advisor.rules import RuleConfig, run_rules
from nosql_advisor.rules.references import chernoff_p_value, references
from nosql_advisor.scan import ScanOptions, scan_sources
from nosql_advisor.schema.load import DeclaredSchema

TIERS = ("bronze", "silver", "gold", "platinum")
COUNTRIES = ("FR", "DE", "US", "JP", "BR", "IN")


def landscape_of(tmp_path, collections: dict[str, list[dict]], schemas=None):
    folder = tmp_path / "shop"
    folder.mkdir(parents=True, exist_ok=True)
    for name, documents in collections.items():
        (folder / f"{name}.bson").write_bytes(b"".join(bson.encode(d) for d in documents))
    return scan_sources([str(folder)], ScanOptions(schemas=schemas or {}))


def findings_of(tmp_path, collections, schemas=None, config: RuleConfig = RuleConfig()):
    findings = run_rules(landscape_of(tmp_path, collections, schemas), config)
    return {(f.rule, f.namespace, f.path): f for f in findings if f.rule in ("DM201", "DM202", "DM203", "DM204")}


def customers_of(n: int = 200, seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    return [{"_id": ObjectId(), "email": f"c{i}@example.com", "tier": rng.choice(TIERS),
             "country": rng.choice(COUNTRIES), "status": rng.choice(TIERS)} for i in range(n)]


def other_tier(tier: str) -> str:
    return TIERS[(TIERS.index(tier) + 1) % len(TIERS)]


def orders_of(customers: list[dict], n: int, drifted: float = 0.0, seed: int = 2) -> list[dict]:
    """Orders embedding a copy of their customer, `drifted` of them with another tier than the
    customer's (the customer changed tier since)."""
    rng = random.Random(seed)
    orders = []
    for i in range(n):
        customer = rng.choice(customers)
        tier = other_tier(customer["tier"]) if i < drifted * n else customer["tier"]
        orders.append({"_id": ObjectId(), "customer_id": customer["_id"], "total": rng.randint(5, 500),
                       "customer": {"email": customer["email"], "tier": tier, "country": customer["country"]}})
    return orders


# -- DM201/DM202: copies of any cardinality, joined through the reference -----------------------

def test_a_four_valued_copy_with_a_fifth_drifted_is_a_copy_and_its_drift_is_measured(tmp_path):
    customers = customers_of()
    orders = orders_of(customers, 2500, drifted=0.2)  # 2,500 orders: the 2,000-row sample measures it
    found = findings_of(tmp_path, {"customers": customers, "orders": orders})
    drift = found[("DM202", "shop.orders", "customer.tier")]
    assert drift.evidence["copy_of"] == "shop.customers.tier"
    assert drift.evidence["joined_through"] == "customer_id -> shop.customers._id"
    assert drift.evidence["joined"] == 2000 and drift.evidence["share"] == pytest.approx(0.2, abs=0.03)
    assert drift.evidence["differ"] == pytest.approx(400, abs=60)
    tier_shares = [sum(c["tier"] == t for c in customers) / len(customers) for t in TIERS]
    assert drift.evidence["chance_agreement"] == pytest.approx(sum(s * s for s in tier_shares), abs=0.05)
    copies = sorted(path for rule, namespace, path in found if rule == "DM201")
    assert copies == ["customer.country", "customer.email", "customer.tier"]  # each once, email too
    email = found[("DM201", "shop.orders", "customer.email")].evidence
    assert email["containment"] == 1.0 and email["joined"] == 2000  # found by fingerprints and by the join
    assert ("DM202", "shop.orders", "customer.country") not in found  # copied with no drift


def test_copies_in_sync_are_copies_but_not_drift(tmp_path):
    customers = customers_of()
    found = findings_of(tmp_path, {"customers": customers, "orders": orders_of(customers, 600)})
    assert not [key for key in found if key[0] == "DM202"]
    tier = found[("DM201", "shop.orders", "customer.tier")]
    assert (tier.evidence["joined"], tier.evidence["differ"]) == (600, 0)
    assert "joined through customer_id -> shop.customers._id" in tier.message


def test_a_copy_documented_as_source_of_truth_is_no_dm201_but_its_drift_is_measured(tmp_path):
    customers = customers_of()
    orders = orders_of(customers, 600, drifted=0.2)
    schema = {"properties": {"customer": {"bsonType": "object",
                                          "description": "snapshot at order time; source of truth: shop.customers"}}}
    declared = {"shop.orders": DeclaredSchema("shop.orders", schema, "schemas/shop/orders.json")}
    found = findings_of(tmp_path, {"customers": customers, "orders": orders}, declared)
    assert not [key for key in found if key[0] == "DM201"]
    drift = found[("DM202", "shop.orders", "customer.tier")]
    assert (drift.evidence["differ"], drift.evidence["joined"]) == (120, 600)  # every order is a row
    assert drift.evidence["source_of_truth_documented"] is True


def test_a_field_copied_beside_the_reference_is_a_copy(tmp_path):
    customers = customers_of()
    rng = random.Random(4)
    sessions = []
    for i in range(500):
        customer = rng.choice(customers)
        sessions.append({"_id": ObjectId(), "customer_id": customer["_id"], "page": f"/p/{rng.randint(1, 50)}",
                         "customer_tier": other_tier(customer["tier"]) if i % 10 == 0 else customer["tier"]})
    found = findings_of(tmp_path, {"customers": customers, "sessions": sessions})
    assert found[("DM201", "shop.sessions", "customer_tier")].evidence["copy_of"] == "shop.customers.tier"
    drift = found[("DM202", "shop.sessions", "customer_tier")]
    assert (drift.evidence["differ"], drift.evidence["joined"]) == (50, 500)
    assert ("DM201", "shop.sessions", "page") not in found


def test_the_siblings_of_a_reference_inside_an_embedded_object_are_compared(tmp_path):
    customers = customers_of()
    orders = [{"_id": o["_id"], "customer": {"_id": c, **{k: v for k, v in o["customer"].items() if k != "email"}}}
              for o, c in ((o, o.pop("customer_id")) for o in orders_of(customers, 400, drifted=0.25))]
    found = findings_of(tmp_path, {"customers": customers, "orders": orders})
    drift = found[("DM202", "shop.orders", "customer.tier")]
    assert drift.evidence["joined_through"] == "customer._id -> shop.customers._id"
    assert (drift.evidence["differ"], drift.evidence["joined"]) == (100, 400)
    assert ("DM201", "shop.orders", "customer.country") in found


def test_fields_that_share_values_by_chance_are_not_copies(tmp_path):
    """orders.priority and orders.status take the same four values as customers.tier and
    customers.status, independently: they agree about a quarter of the time, as chance does."""
    customers = customers_of()
    rng = random.Random(5)
    orders = [{"_id": ObjectId(), "customer_id": c["_id"], "priority": rng.choice(TIERS), "status": rng.choice(TIERS)}
              for c in (rng.choice(customers) for _ in range(800))]
    found = findings_of(tmp_path, {"customers": customers, "orders": orders})
    assert [key for key in found if key[1] == "shop.orders"] == []


def test_values_drawn_from_one_list_are_no_copy_though_their_fingerprints_match(tmp_path):
    """Every order's `city` is among the customers' 40 city names (fingerprint containment 100%),
    but an order's city is its customer's only by chance (1 in 40): the joined documents decide."""
    rng = random.Random(7)
    cities = [f"City {n}" for n in range(40)]
    customers = [{**c, "city": rng.choice(cities)} for c in customers_of()]
    orders = [{"_id": ObjectId(), "customer_id": c["_id"], "city": rng.choice(cities)}
              for c in (rng.choice(customers) for _ in range(800))]
    found = findings_of(tmp_path, {"customers": customers, "orders": orders})
    assert [key for key in found if key[1] == "shop.orders"] == []


def test_the_binomial_bound_holds_chance_agreement_apart_from_a_copy():
    assert chernoff_p_value(800, 0.26, 0.25) > 0.01  # a quarter of 800, as chance gives
    assert chernoff_p_value(800, 0.8, 0.25) < 1e-100
    assert chernoff_p_value(20, 0.5, 0.25) > 1e-6  # 10 of 20: too few to tell
    assert chernoff_p_value(100, 0.2, 0.25) == 1.0


# -- DM203: a reference stored as another type ----------------------------------------------------

def test_object_ids_stored_as_hex_strings_are_reported_with_the_share_affected(tmp_path):
    customers = customers_of()
    orders = orders_of(customers, 500)
    for order in orders[:150]:  # 30% as strings, 70% as ObjectIds
        order["customer_id"] = str(order["customer_id"])
    found = findings_of(tmp_path, {"customers": customers, "orders": orders})
    finding = found[("DM203", "shop.orders", "customer_id")]
    assert (finding.evidence["mistyped"], finding.evidence["joined"], finding.evidence["share"]) == (150, 500, 0.3)
    assert finding.evidence["types"] == {"objectId": 350, "string": 150}
    assert finding.evidence["referenced_id_types"] == {"objectId": 200}
    assert "30.0%" in finding.message and finding.severity == "high"
    assert ("DM201", "shop.orders", "customer.tier") in found  # the copies still line up on the text form


def test_a_reference_held_only_as_strings_is_found_on_its_text_form(tmp_path):
    customers = customers_of()
    orders = [{**order, "customer_id": str(order["customer_id"])} for order in orders_of(customers, 300)]
    landscape = landscape_of(tmp_path, {"customers": customers, "orders": orders})
    [reference] = [r for r in references(landscape) if r.source == "shop.orders" and r.key == "_id"]
    assert (reference.path, reference.target, reference.measured_by) == (
        "customer_id", "shop.customers", "text forms of sampled documents")
    finding = [f for f in run_rules(landscape) if f.rule == "DM203"][0]
    assert finding.evidence["share"] == 1.0


def test_int_ids_stored_as_digit_strings_are_reported(tmp_path):
    products = [{"_id": i, "name": f"Product {i}"} for i in range(100)]
    reviews = [{"_id": ObjectId(), "product_id": str(i % 100), "stars": 1 + i % 5} for i in range(300)]
    found = findings_of(tmp_path, {"products": products, "reviews": reviews})
    finding = found[("DM203", "shop.reviews", "product_id")]
    assert (finding.evidence["mistyped"], finding.evidence["joined"]) == (300, 300)
    assert finding.evidence["referenced_id_types"] == {"int": 100}


def test_references_of_the_right_type_are_not_dm203(tmp_path):
    customers = customers_of()
    found = findings_of(tmp_path, {"customers": customers, "orders": orders_of(customers, 500)})
    assert not [key for key in found if key[0] == "DM203"]


# -- DM204: two collections listing each other's ids ----------------------------------------------

def users_and_groups(one_sided: float, member_ids: bool = True) -> tuple[list[dict], list[dict], int]:
    rng = random.Random(6)
    groups = [{"_id": ObjectId(), "name": f"group {g}"} for g in range(30)]
    users = [{"_id": ObjectId(), "name": f"user {u}",
              "group_ids": [g["_id"] for g in rng.sample(groups, rng.randint(1, 3))]} for u in range(200)]
    pairs = [(u["_id"], g) for u in users for g in u["group_ids"]]
    dropped = set(rng.sample(range(len(pairs)), round(one_sided * len(pairs))))
    if member_ids:
        for group in groups:
            group["member_ids"] = [u for n, (u, g) in enumerate(pairs) if g == group["_id"] and n not in dropped]
    return users, groups, len(pairs)


def test_two_way_id_lists_are_reported_with_the_share_of_pairs_that_disagree(tmp_path):
    users, groups, pairs = users_and_groups(one_sided=0.1)
    found = findings_of(tmp_path, {"users": users, "groups": groups})
    [finding] = [f for key, f in found.items() if key[0] == "DM204"]
    assert (finding.namespace, finding.path) == ("shop.groups", "member_ids")
    expected = {"pairs": pairs, "listed_both_ways": pairs - round(0.1 * pairs), "listed_only_by_source": 0,
                "listed_only_by_target": round(0.1 * pairs)}
    assert {key: finding.evidence[key] for key in expected} == expected
    assert finding.evidence["share"] == pytest.approx(0.1, abs=0.001)
    assert sorted(finding.evidence["references"]) == ["shop.groups.member_ids -> shop.users._id",
                                                      "shop.users.group_ids -> shop.groups._id"]


def test_a_one_directional_id_list_is_not_dm204(tmp_path):
    users, groups, _ = users_and_groups(one_sided=0.0, member_ids=False)
    found = findings_of(tmp_path, {"users": users, "groups": groups})
    assert not [key for key in found if key[0] == "DM204"]


# -- review A: counts are no references, unrelated lists are no two-way reference, numbers copied
# -- across numeric types, correlated fields are no copies ----------------------------------------

def test_counts_in_the_range_of_string_ids_are_not_dm203(tmp_path):
    """forum.threads has _ids "1".."300"; posts.likes (0..40) and posts.position (1..60) are ints
    whose values are among those ids as text, but they are counts, not references."""
    rng = random.Random(13)
    threads = [{"_id": str(i), "title": "t"} for i in range(1, 301)]
    posts = [{"_id": ObjectId(), "thread_id": str(rng.randint(1, 300)), "likes": rng.randint(0, 40),
              "position": rng.randint(1, 60)} for _ in range(800)]
    found = findings_of(tmp_path, {"threads": threads, "posts": posts})
    assert [key for key in found if key[0] == "DM203"] == []


def test_a_count_stored_as_digits_beside_int_ids_is_not_dm203(tmp_path):
    """posts._id 0..49 (ints); comments.replies "0".."29" (strings): a count, whatever it overlaps."""
    rng = random.Random(7)
    posts = [{"_id": i, "title": f"t{i}"} for i in range(50)]
    comments = [{"_id": ObjectId(), "likes": rng.randrange(50), "replies": str(rng.randrange(30)),
                 "post_id": rng.randrange(50)} for _ in range(600)]
    found = findings_of(tmp_path, {"posts": posts, "comments": comments})
    assert [key for key in found if key[0] == "DM203"] == []


def test_a_reference_named_after_the_collection_stored_as_another_type_is_dm203(tmp_path):
    rng = random.Random(3)
    threads = [{"_id": str(i), "title": "t"} for i in range(1, 301)]
    posts = [{"_id": ObjectId(), "thread": rng.randint(1, 300)} for _ in range(800)]
    found = findings_of(tmp_path, {"threads": threads, "posts": posts})
    finding = found[("DM203", "shop.posts", "thread")]
    assert (finding.evidence["mistyped"], finding.evidence["joined"]) == (800, 800)


def test_two_lists_of_different_relationships_are_not_dm204(tmp_path):
    """users.group_ids (memberships) and groups.admin_ids (2 random users each): they share pairs
    only at the rate chance gives, so they are two relationships, not one listed twice."""
    rng = random.Random(11)
    users = [{"_id": ObjectId()} for _ in range(200)]
    groups = [{"_id": ObjectId()} for _ in range(40)]
    for user in users:
        user["group_ids"] = [g["_id"] for g in rng.sample(groups, 3)]
    for group in groups:
        group["admin_ids"] = [u["_id"] for u in rng.sample(users, 2)]
    found = findings_of(tmp_path, {"users": users, "groups": groups})
    assert [key for key in found if key[0] == "DM204"] == []


def test_two_way_lists_in_sync_are_low_and_drifted_ones_medium(tmp_path):
    users, groups, pairs = users_and_groups(one_sided=0.0)
    [in_sync] = [f for key, f in findings_of(tmp_path / "sync", {"users": users, "groups": groups}).items()
                 if key[0] == "DM204"]
    assert (in_sync.severity, in_sync.evidence["listed_both_ways"], in_sync.evidence["share"]) == ("low", pairs, 0)
    assert "in sync today" in in_sync.message
    users, groups, _ = users_and_groups(one_sided=0.1)
    [drifted] = [f for key, f in findings_of(tmp_path / "drift", {"users": users, "groups": groups}).items()
                 if key[0] == "DM204"]
    assert drifted.severity == "medium" and drifted.evidence["kappa"] > 0.5


def products_and_lines(stored_as, drifted: float, seed: int = 21) -> tuple[list[dict], list[dict]]:
    """products.price a whole double; lines.product.price its copy stored as `stored_as`, the
    first `drifted` share of lines with the price plus 5 (the product's price changed since)."""
    rng = random.Random(seed)
    products = [{"_id": ObjectId(), "price": float(rng.choice([5, 10, 15, 20, 25, 30])), "name": f"p{i}"}
                for i in range(200)]
    lines = []
    for i in range(800):
        product = rng.choice(products)
        price = int(product["price"]) + (5 if i < round(drifted * 800) else 0)
        lines.append({"_id": ObjectId(), "product_id": product["_id"],
                      "product": {"price": stored_as(price), "name": product["name"]}})
    return products, lines


def test_a_whole_number_copied_as_int_beside_a_double_source_is_a_copy_and_its_drift_measured(tmp_path):
    products, lines = products_and_lines(int, drifted=0.2)
    found = findings_of(tmp_path, {"products": products, "lines": lines})
    assert found[("DM201", "shop.lines", "product.price")].evidence["copy_of"] == "shop.products.price"
    drift = found[("DM202", "shop.lines", "product.price")]
    assert (drift.evidence["differ"], drift.evidence["joined"]) == (160, 800)


@pytest.mark.parametrize("stored_as", [bson.Int64, lambda n: bson.Decimal128(str(n))], ids=["long", "decimal"])
def test_a_whole_number_copied_as_long_or_decimal_is_a_copy_in_sync(tmp_path, stored_as):
    products, lines = products_and_lines(stored_as, drifted=0.0)
    found = findings_of(tmp_path, {"products": products, "lines": lines})
    assert found[("DM201", "shop.lines", "product.price")].evidence["differ"] == 0
    assert ("DM202", "shop.lines", "product.price") not in found


def customers_and_orders(field: str, equal: float, seed: int = 8) -> tuple[list[dict], list[dict]]:
    """orders.<field> beside customer_id, equal to the customer's country in `equal` of orders."""
    rng = random.Random(seed)
    customers = [{"_id": ObjectId(), "email": f"c{i}@x.io", "country": rng.choice(COUNTRIES)} for i in range(300)]
    orders = []
    for i in range(800):
        customer = rng.choice(customers)
        country = customer["country"] if i >= round((1 - equal) * 800) else \
            COUNTRIES[(COUNTRIES.index(customer["country"]) + 1) % len(COUNTRIES)]
        orders.append({"_id": ObjectId(), "customer_id": customer["_id"], field: country, "total": 3})
    return customers, orders


def test_a_differently_named_field_correlated_with_the_source_is_no_copy(tmp_path):
    """orders.shipping_country equals the customer's country in 85% of orders: correlation, not
    a copy (its name is not `country`, `customer_country`, nor inside `customer`)."""
    customers, orders = customers_and_orders("shipping_country", equal=0.85)
    found = findings_of(tmp_path, {"customers": customers, "orders": orders})
    assert [key for key in found if key[1] == "shop.orders"] == []


def test_a_differently_named_field_always_equal_is_dm201_by_values_but_never_dm202(tmp_path):
    customers, orders = customers_and_orders("shipping_country", equal=0.99)
    found = findings_of(tmp_path, {"customers": customers, "orders": orders})
    copy = found[("DM201", "shop.orders", "shipping_country")]
    assert copy.evidence["matched_by"] == "values" and copy.evidence["differ"] == 8
    assert ("DM202", "shop.orders", "shipping_country") not in found


def test_a_field_named_as_the_copy_keeps_its_drift(tmp_path):
    customers, orders = customers_and_orders("customer_country", equal=0.85)
    found = findings_of(tmp_path, {"customers": customers, "orders": orders})
    drift = found[("DM202", "shop.orders", "customer_country")]
    assert (drift.evidence["differ"], drift.evidence["matched_by"]) == (120, "name")


def test_whole_numbers_hash_alike_in_rows_whatever_their_numeric_type():
    """MongoDB holds 20, NumberLong(20), 20.0 and NumberDecimal("20") equal: the join does too,
    while 20.5 stays apart and the text form DM203 reads still tells a number from a string."""
    from nosql_advisor.shape.rows import is_text, row_hashes

    rows = [row_hashes({"price": value}) for value in (20, bson.Int64(20), 20.0, bson.Decimal128("20.00"))]
    assert len({row["price"] for row in rows}) == 1
    assert row_hashes({"price": 20.5})["price"] != rows[0]["price"]
    assert row_hashes({"price": bson.Decimal128("20.5")})["price"] != rows[0]["price"]
    assert not is_text(rows[0], "price") and is_text(row_hashes({"price": "20"}), "price")


def test_a_reference_of_whole_doubles_is_still_found_on_sampled_documents(tmp_path):
    """Rows hash 20.0 as the int it equals; the sampled documents' containment against the
    fingerprints (which hash values as stored) reads the typed hash, so double ids still meet."""
    from nosql_advisor.rules.references import row_containment
    from nosql_advisor.shape.rows import row_hashes

    landscape = landscape_of(tmp_path, {"accounts": [{"_id": float(1000 + i)} for i in range(50)]})
    [accounts] = landscape.collections
    rows = [row_hashes({"account_id": float(1000 + i % 50)}) for i in range(100)]
    assert row_containment(rows, "account_id", accounts.shape.field("_id").fingerprints, 20) == 1.0
