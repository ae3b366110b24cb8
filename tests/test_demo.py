"""The demo database: deterministic, sized by scale, its manifest true to the data, its writers
faithful (dump and export round trip), and the advisor finds every planted problem of the rules
it checks and nothing on the controls. No server here: load_live runs in the live tests."""

from __future__ import annotations

import fnmatch
import gzip
import hashlib
import json
import re
from collections import Counter
from datetime import date, datetime, timezone
from pathlib import Path

import bson
import bsonjs
import pytest
from bson import ObjectId, json_util
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument

from nosql_advisor.advise import advise
from nosql_advisor.demo import build_demo, write_dump, write_export, write_schema_files
from nosql_advisor.demo.docs import collections_table, planted_table
from nosql_advisor.rules import all_rules
from nosql_advisor.scan import ScanOptions, scan_sources
from nosql_advisor.schema.load import load_declared
from nosql_advisor.workload import read_workload

ROOT = Path(__file__).resolve().parent.parent
SCALE = 0.05
DATA_RULES = {"DM101", "DM102", "DM103", "DM104", "DM105", "DM106", "DM201", "DM202", "DM301", "DM302",
              "DM303", "DM305", "DM501", "DM502", "DM503", "DM504", "DM505", "DM601", "DM602", "DM603",
              "DM701", "DM702", "DM203", "DM204", "DM506", "DM507", "DM508"}


@pytest.fixture(scope="module")
def demo():
    return build_demo(seed=7, scale=SCALE)


@pytest.fixture(scope="module")
def dump(demo, tmp_path_factory) -> Path:
    return write_dump(demo, tmp_path_factory.mktemp("demo") / "dump")


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    first, again, other = (build_demo(seed=s, scale=0.02) for s in (3, 3, 4))
    assert digest(write_dump(first, tmp_path / "a", gzip=True)) == digest(write_dump(again, tmp_path / "b", gzip=True))
    assert digest(write_export(first, tmp_path / "c")) == digest(write_export(again, tmp_path / "d"))
    assert (tmp_path / "a" / "manifest.json").read_bytes() == (tmp_path / "b" / "manifest.json").read_bytes()
    orders = digest(write_dump(other, tmp_path / "e", gzip=True))["orders.bson.gz"]
    assert digest(tmp_path / "a" / "shop")["orders.bson.gz"] != orders


def test_scale_sizes_the_collections_and_every_problem_is_still_planted():
    small, larger = build_demo(seed=1, scale=0.02), build_demo(seed=1, scale=0.1)
    assert len(larger.collection("orders").documents) == 5 * len(small.collection("orders").documents)
    assert len(larger.collection("invoices").documents) == 5 * len(small.collection("invoices").documents)
    for tiny in (small, build_demo(seed=1, scale=SCALE)):
        assert DATA_RULES | {"DM404"} <= {p.rule for p in tiny.planted}


def test_manifest_lists_what_the_data_holds(demo):
    manifest = json.loads(json.dumps(demo.manifest()))  # JSON-ready as it is
    assert {"database", "seed", "scale", "planted", "controls", "collections"} <= set(manifest)
    assert manifest["collections"] == {c.name: len(c.documents) for c in demo.collections}
    names = set(manifest["collections"])
    for problem in manifest["planted"]:
        database, _, pattern = problem["namespace"].partition(".")
        assert database == "shop" and fnmatch.filter(names, pattern), problem
        assert re.fullmatch(r"DM[1-7]0[1-9]", problem["rule"]) and problem["note"]
    planted = {p["namespace"] for p in manifest["planted"]}
    assert not planted & set(manifest["controls"])
    assert manifest["global_collections"] == ["shop.tenants"]


DEMO_START, DEMO_END = datetime(2024, 6, 30, 12), datetime(2026, 6, 30, 12)  # docs/demo.md: two fixed years


def test_object_ids_carry_the_creation_time_within_two_fixed_years(demo):
    updated_first = {p.namespace for p in demo.planted if (p.rule, p.path) == ("DM507", "updated_at")}
    for collection in demo.collections:
        for document in collection.documents:
            if "created_at" in document and not isinstance(document["_id"], str):
                made = document["_id"].generation_time
                assert made == document["created_at"].replace(tzinfo=timezone.utc)
                assert DEMO_START <= document["created_at"] <= DEMO_END
                if f"shop.{collection.name}" not in updated_first:
                    assert document["created_at"] <= document["updated_at"] <= DEMO_END


def test_one_tenant_holds_most_orders_and_the_rest_is_even(demo):
    shares = {c.name: Counter(d.get("tenant_id") for d in c.documents) for c in demo.collections}
    top = shares["orders"].most_common(1)[0][1] / len(demo.collection("orders").documents)
    assert top > 0.5
    for name in ("customers", "products", "invoices", "shipments", "categories", "audit_events"):
        counts = shares[name]
        assert len(counts) == 12 and max(counts.values()) <= 2 * min(counts.values()) + 1, name


def test_orders_belong_to_their_customers_tenant(demo):
    tenant_of = {c["_id"]: c["tenant_id"] for c in demo.collection("customers").documents}
    emails = {c["_id"]: c["email"] for c in demo.collection("customers").documents}
    for order in demo.collection("orders").documents:
        assert order["tenant_id"] == tenant_of[order["customer_id"]]
        assert order["customer"]["email"] == emails[order["customer_id"]]  # the DM201 copy, not drifted


def luhn_ok(number: str) -> bool:
    digits = [int(c) for c in reversed(number)]
    return sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits)) % 10 == 0


def test_planted_values_are_what_the_manifest_says(demo):
    customers = demo.collection("customers").documents
    assert all(luhn_ok(c["card_number"]) and len(c["card_number"]) == 16 for c in customers)
    reviews = max(len(p["reviews"]) for p in demo.collection("products").documents)
    assert reviews >= 2000
    assert max(len(bson.encode(d)) for d in demo.collection("attachments").documents) > 4 * 2 ** 20
    assert all(d["_id"] == d["email"] for d in demo.collection("newsletter_subscribers").documents)
    clients = demo.collection("api_clients").documents
    assert all(c["api_key"].startswith("sk_live_") and c["aws_access_key_id"].startswith("AKIA") for c in clients)
    prices = demo.collection("products").documents
    assert {type(p["price"]).__name__ for p in prices} == {"str", "Decimal128"}


def test_controls_are_clean_by_construction(demo):
    from nosql_advisor.schema.dialect import failures, validator_for

    for namespace in demo.controls:
        collection = demo.collection(namespace.split(".", 1)[1])
        schema = collection.options["validator"]["$jsonSchema"]
        validator = validator_for(schema)
        assert (collection.options["validationLevel"], collection.options["validationAction"]) == ("strict", "error")
        assert schema["additionalProperties"] is False
        assert all(list(index["key"])[0] == "tenant_id" for index in collection.indexes)
        for document in collection.documents:
            assert not failures(validator, document), (namespace, document["_id"])
            assert {"tenant_id", "created_at", "updated_at"} <= set(document)
            assert "@" not in json_util.dumps(document)  # no emails, nothing personal


# -- the problems of issue 11, each beside the control it must not be mistaken for -------------

CONTROL_OF = {("DM202", "shop.orders"): "shop.payments", ("DM203", "shop.wishlists"): "shop.payments",
              ("DM204", "shop.groups"): "shop.teams", ("DM506", "shop.returns"): "shop.payments",
              ("DM507", "shop.purchase_orders"): "shop.restocks", ("DM508", "shop.preferences"): "shop.restocks"}


def note(demo, rule: str, namespace: str, path: str | None) -> str:
    return next(p.note for p in demo.planted if (p.rule, p.namespace, p.path) == (rule, namespace, path))


def test_each_new_problem_is_planted_beside_a_control(demo):
    planted = {(p.rule, p.namespace) for p in demo.planted}
    for problem, control in CONTROL_OF.items():
        assert problem in planted and control in demo.controls, problem
    assert "shop.delivery_zones" in demo.controls  # GeoJSON: long coordinates, no DM101


def test_tier_copies_drift_by_the_share_the_manifest_says_and_the_documented_copy_agrees(demo):
    customers = {c["_id"]: c for c in demo.collection("customers").documents}
    orders = demo.collection("orders").documents
    drifted = sum(o["customer"]["tier"] != customers[o["customer_id"]]["tier"] for o in orders)
    assert 0.15 < drifted / len(orders) < 0.25
    assert f"{drifted:,} of {len(orders):,} customer.tier copies" in note(demo, "DM202", "shop.orders", "customer.tier")
    assert all(o["customer"]["country"] == customers[o["customer_id"]]["country"] for o in orders)
    sessions = demo.collection("sessions").documents
    drifted = sum(s["customer_tier"] != customers[s["customer_id"]]["tier"] for s in sessions)
    assert 0 < drifted < len(sessions) / 3
    assert f"{drifted:,} of {len(sessions):,}" in note(demo, "DM202", "shop.sessions", "customer_tier")
    currency = {i["_id"]: i["currency"] for i in demo.collection("invoices").documents}
    payments = demo.collection("payments")
    assert all(p["currency"] == currency[p["invoice_id"]] for p in payments.documents)
    described = payments.options["validator"]["$jsonSchema"]["properties"]["currency"]["description"]
    assert "source of truth: shop.invoices.currency" in described


def test_wishlists_hold_a_share_of_their_customer_references_as_hex_strings(demo):
    ids = {c["_id"] for c in demo.collection("customers").documents}
    references = [w["customer_id"] for w in demo.collection("wishlists").documents]
    strings = [r for r in references if isinstance(r, str)]
    assert 0.2 < len(strings) / len(references) < 0.4
    assert all(re.fullmatch(r"[0-9a-f]{24}", r) and ObjectId(r) in ids for r in strings)
    assert all(r in ids for r in references if not isinstance(r, str))
    assert f"{len(strings):,} of {len(references):,} wishlists" in note(demo, "DM203", "shop.wishlists", "customer_id")
    invoices = {i["_id"] for i in demo.collection("invoices").documents}  # the control: ObjectIds only
    assert all(type(p["invoice_id"]) is ObjectId and p["invoice_id"] in invoices for p in demo.collection("payments").documents)


def test_memberships_are_listed_on_both_sides_a_tenth_on_one_only_and_teams_own_theirs(demo):
    users, groups = demo.collection("users").documents, demo.collection("groups").documents
    by_user = {(u["_id"], g) for u in users for g in u["group_ids"]}
    by_group = {(m, g["_id"]) for g in groups for m in g["member_ids"]}
    pairs, one_sided = by_user | by_group, by_user ^ by_group
    assert 0.05 < len(one_sided) / len(pairs) < 0.16
    assert f"{len(pairs):,} memberships: {len(one_sided):,}" in note(demo, "DM204", "shop.groups", "member_ids")
    tenant = {u["_id"]: u["tenant_id"] for u in users} | {g["_id"]: g["tenant_id"] for g in groups}
    assert all(tenant[u] == tenant[g] for u, g in pairs)
    teams = demo.collection("teams").documents  # the control: only teams point at users
    assert all(set(t["member_ids"]) <= set(tenant) for t in teams)
    team_ids = {t["_id"] for t in teams}
    held = {v for u in users for value in u.values() for v in (value if isinstance(value, list) else [value])}
    assert not held & team_ids


def test_notifications_carry_both_keys_and_only_an_index_on_the_user_reference(demo):
    users = {u["_id"]: u for u in demo.collection("users").documents}
    assert len({u["username"] for u in users.values()}) == len(users)  # one document per user
    notifications = demo.collection("notifications")
    for document in notifications.documents:
        assert users[document["account_id"]]["tenant_id"] == document["tenant_id"]
    assert [list(index["key"]) for index in notifications.indexes] == [["account_id"]]


def element_types(raw: bytes) -> dict[str, int]:
    """The type byte of each top-level element, read from the bytes (decoding folds symbol,
    undefined and DBPointer into str, None and DBRef). Knows the types legacy_notes holds."""
    types, at = {}, 4
    while raw[at] != 0:
        kind, end = raw[at], raw.index(b"\0", at + 1)
        key, at = raw[at + 1:end].decode(), end + 1
        types[key] = kind
        if kind in (0x02, 0x0E, 0x0C):
            at += 4 + int.from_bytes(raw[at:at + 4], "little") + (12 if kind == 0x0C else 0)
        else:
            at += {0x07: 12, 0x09: 8, 0x06: 0}[kind]
    return types


def test_legacy_notes_hold_symbol_undefined_and_db_pointer_byte_by_byte(demo, dump):
    documents = demo.collection("legacy_notes").documents
    types = [element_types(d.raw) for d in documents]
    assert all(t["reminder"] == 0x06 and t["order_ref"] == 0x0C and t["tenant_id"] == 0x02 for t in types)
    kinds = Counter(t["kind"] for t in types)
    assert set(kinds) == {0x02, 0x0E}
    assert f"symbol (BSON 0x0E) in {kinds[0x0E]:,} of {len(documents):,}" in note(demo, "DM505", "shop.legacy_notes", "kind")
    orders = {o["_id"] for o in demo.collection("orders").documents}
    assert all(d["order_ref"].collection == "shop.orders" and d["order_ref"].id in orders for d in documents)
    raw = (dump / "legacy_notes.bson").read_bytes()
    assert raw == b"".join(d.raw for d in documents)


def test_the_validator_generated_from_legacy_notes_accepts_every_note(dump, tmp_path):
    """Generated from the dump, it names symbol, undefined and dbPointer; held against the same
    notes as their declared schema, no note violates it (DM503). The server side of this is in
    tests/test_schema_server.py (SecantusDB folds those types; a mongod keeps them)."""
    notes = str(dump / "legacy_notes.bson")
    validator = advise(scan_sources([notes], ScanOptions())).validators["shop.legacy_notes"]
    properties = validator["$jsonSchema"]["properties"]
    assert sorted(properties["kind"]["bsonType"]) == ["string", "symbol"]
    assert (properties["reminder"]["bsonType"], properties["order_ref"]["bsonType"]) == ("undefined", "dbPointer")
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "legacy_notes.json").write_text(json.dumps(validator))
    declared, _ = load_declared(tmp_path, keep_going=False)
    findings = advise(scan_sources([notes], ScanOptions(schemas=declared))).findings
    assert [f for f in findings if f.rule in ("DM503", "DM504")] == []


def test_purchase_orders_break_each_invariant_in_a_few_and_restocks_in_none(demo):
    checks = {"total": lambda d: d["total"].to_decimal() == sum(i["price"].to_decimal() * i["qty"] for i in d["items"]),
              "updated_at": lambda d: d["updated_at"] >= d["created_at"],
              "shipped_at": lambda d: ("shipped_at" in d) == (d["status"] == "shipped")}
    restocks = demo.collection("restocks").documents
    assert all(check(d) for d in restocks for check in checks.values())
    assert {"shipped", "draft"} <= {d["status"] for d in restocks}
    orders = demo.collection("purchase_orders").documents
    for path, check in checks.items():
        broken = sum(not check(d) for d in orders)
        assert 0 < broken <= 0.05 * len(orders), path
        assert f"{broken:,} of {len(orders):,} purchase orders break it" in note(demo, "DM507", "shop.purchase_orders", path)


def test_preferences_of_version_one_are_the_older_and_alone_hold_newsletter_and_lang(demo):
    documents = demo.collection("preferences").documents
    old = [d for d in documents if d["schema_version"] == 1]
    new = [d for d in documents if d["schema_version"] == 2]
    assert old and new and len(old) + len(new) == len(documents)
    assert max(d["created_at"] for d in old) < min(d["created_at"] for d in new)
    assert all({"newsletter", "lang"} <= set(d) for d in old)
    assert not any({"newsletter", "lang"} & set(d) for d in new)


def test_returns_hold_dates_as_iso_strings_and_the_control_real_dates(demo):
    returns = demo.collection("returns").documents
    assert all(isinstance(r["requested_on"], str) and date.fromisoformat(r["requested_on"]) for r in returns)
    assert all(type(p["paid_at"]) is datetime for p in demo.collection("payments").documents)


def test_delivery_zones_are_closed_polygons_and_some_outlines_are_long(demo):
    rings = [z["geometry"]["coordinates"][0] for z in demo.collection("delivery_zones").documents]
    assert all(ring[0] == ring[-1] and len(ring) >= 4 for ring in rings)
    assert max(map(len, rings)) > 1000  # over DM101's max_length: only the GeoJSON rule spares it


RAW = CodecOptions(document_class=RawBSONDocument)


def test_dump_round_trips_with_metadata(demo, dump):
    for collection in demo.collections:  # byte for byte: legacy_notes' symbols stay symbols
        with open(dump / f"{collection.name}.bson", "rb") as handle:
            records = [record.raw for record in bson.decode_file_iter(handle, RAW)]
        assert records == [bson.encode(document) for document in collection.documents], collection.name
    metadata = json_util.loads((dump / "orders.metadata.json").read_text())
    assert metadata["indexes"][0] == {"v": 2, "key": {"_id": 1}, "name": "_id_"}
    assert [i["name"] for i in metadata["indexes"][1:]] == [i["name"] for i in demo.collection("orders").indexes]
    assert metadata["collectionName"] == "orders" and metadata["type"] == "collection"
    assert re.fullmatch(r"[0-9a-f]{32}", metadata["uuid"])
    assert metadata["options"] == demo.collection("orders").options
    raw = json.loads((dump / "customers.metadata.json").read_text())  # canonical EJSON like mongodump
    assert raw["indexes"][0]["v"] == {"$numberInt": "2"}
    manifest = json.loads((dump.parent / "manifest.json").read_text())
    assert manifest == json.loads(json.dumps(demo.manifest()))


def test_gzipped_dump_decodes(demo, tmp_path):
    folder = write_dump(demo, tmp_path, gzip=True)
    documents = list(bson.decode_file_iter(gzip.open(folder / "reviews.bson.gz", "rb")))
    assert documents == demo.collection("reviews").documents


@pytest.mark.parametrize("compressed", [False, True])
def test_export_round_trips(demo, tmp_path, compressed):
    folder = write_export(demo, tmp_path, gzip=compressed)
    for name in ("reviews", "products", "attachments"):
        path = folder / f"{name}.json{'.gz' if compressed else ''}"
        text = (gzip.open(path, "rt") if compressed else open(path)).read()
        documents = [json_util.loads(line) for line in text.splitlines()]
        assert documents == demo.collection(name).documents
    legacy = folder / f"legacy_notes.json{'.gz' if compressed else ''}"
    lines = (gzip.open(legacy, "rt") if compressed else open(legacy)).read().splitlines()
    assert [bsonjs.loads(line) for line in lines] == [d.raw for d in demo.collection("legacy_notes").documents]
    assert all('"$dbPointer"' in line and '"$undefined"' in line for line in lines)
    assert any('"kind" : { "$symbol"' in line for line in lines)
    first = (folder / ("orders.json.gz" if compressed else "orders.json"))
    line = (gzip.open(first, "rt") if compressed else open(first)).readline()
    assert '"$oid"' in line and '"$numberDecimal"' in line and '"$date": {"$numberLong"' in line


def test_schema_files_are_the_installed_validators(demo, tmp_path):
    write_schema_files(demo, tmp_path)
    written = sorted(p.name for p in (tmp_path / "shop").iterdir())
    declared = sorted(f"{c.name}.json" for c in demo.collections if c.options.get("validator"))
    assert written == declared
    for name in written:
        on_disk = json.loads((tmp_path / "shop" / name).read_text())
        collection = demo.collection(name.removesuffix(".json"))
        assert on_disk == json.loads(json.dumps(collection.options["validator"]))
        committed = ROOT / "schemas" / "shop" / name  # schemas/shop/ is what the demo installs
        assert json.loads(committed.read_text()) == on_disk, f"regenerate {committed}"


def test_docs_show_the_default_demo():
    page = (ROOT / "docs" / "demo.md").read_text(encoding="utf-8")
    demo = build_demo()
    assert collections_table(demo) in page, "regenerate with python -m nosql_advisor.demo.docs"
    assert planted_table(demo) in page, "regenerate with python -m nosql_advisor.demo.docs"


def test_the_log_beside_the_dump_holds_the_planted_writes_among_clean_ones(demo, dump):
    lines = [json.loads(line) for line in (dump.parent / "mongod.log").read_text().splitlines()]
    assert all(entry["id"] == 51803 and entry["msg"] == "Slow query" for entry in lines)
    commands = [(e["attr"]["ns"], e["attr"]["command"]) for e in lines]
    upserts = [ns for ns, c in commands if c.get("upsert")]
    assert upserts.count("shop.carts") == 5 and upserts.count("shop.products") == 1  # products: a unique index
    assert [ns for ns, c in commands if c.get("multi") and c["q"] == {}] == ["shop.tenants"]
    assert [ns for ns, c in commands if c.get("multi") and c["q"]] == ["shop.invoices"]
    concerns = [c["writeConcern"] for ns, c in commands if "insert" in c]
    assert concerns == [{"w": 0}, {"w": "majority"}]
    unique = [list(i["key"]) for i in demo.collection("products").indexes if i.get("unique")]
    assert ["tenant_id", "sku"] in unique and not any(i.get("unique") for i in demo.collection("carts").indexes)


def matches(finding, problem) -> bool:
    return (finding.rule == problem.rule and fnmatch.fnmatchcase(finding.namespace, problem.namespace)
            and (problem.path is None or finding.path is None or finding.path == problem.path))


def test_every_checked_planted_problem_is_found_and_nothing_else(demo, dump, tmp_path):
    """The dump with its declared schemas and the mongod.log written beside it (DM408)."""
    write_schema_files(demo, tmp_path / "schemas")
    declared, _ = load_declared(tmp_path / "schemas", keep_going=False)
    landscape = scan_sources([str(dump)], ScanOptions(schemas=declared))
    landscape.workload = read_workload([], [dump.parent / "mongod.log"])
    findings = advise(landscape).findings
    checked = {rule.id for rule in all_rules() if rule.checked and "not checked" not in rule.summary}
    missed = [p for p in demo.planted if p.rule in checked and not any(matches(f, p) for f in findings)]
    assert missed == []
    unexpected = [(f.rule, f.namespace, f.path) for f in findings if not any(matches(f, p) for p in demo.planted)]
    assert unexpected == []
    assert not [f for f in findings if f.namespace in demo.controls]
    reviews = next(f for f in findings if f.rule == "DM503" and f.namespace == "shop.reviews")
    assert {r["path"] for r in reviews.evidence["top_rules"]} == {"rating"}


def test_missing_server_program_names_the_extra(monkeypatch, tmp_path):
    from nosql_advisor.demo import server
    from nosql_advisor.errors import InputError

    monkeypatch.setattr(server.sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(InputError, match=r"pip install 'nosql-advisor\[demo\]'"):
        server.find_secantusd()  # what start_secantus asks first; no server starts, so not `live`


def test_the_export_form_finds_what_needs_no_metadata_and_says_the_rest_was_not_checked(demo, tmp_path):
    """An export holds no indexes, options or validators: the problems whose rules need them (the
    manifest's `needs`) are reported as not checked, every other one is found, and the controls
    are clean when the declared schemas are given (`controls_need`)."""
    export = write_export(demo, tmp_path / "export")
    write_schema_files(demo, tmp_path / "schemas")
    declared, _ = load_declared(tmp_path / "schemas", keep_going=False)
    landscape = scan_sources([str(export)], ScanOptions(schemas=declared))
    landscape.workload = read_workload([], [tmp_path / "export" / "mongod.log"])
    findings = advise(landscape).findings
    manifest = demo.manifest()
    unchecked = landscape.not_checked()
    needing_metadata = [p for p in manifest["planted"] if "metadata" in p["needs"] or "indexes" in p["needs"]]
    assert needing_metadata  # DM501, DM303, ...: the export form cannot show them
    for problem in needing_metadata:
        namespaces = [c.info.namespace for c in landscape.collections
                      if fnmatch.fnmatchcase(c.info.namespace, problem["namespace"])]
        assert namespaces and all((namespace, problem["rule"]) in unchecked for namespace in namespaces), problem
    found_here = [p for p in demo.planted if not any(n in ("metadata", "indexes", "indexes or recorded plans")
                                                       for n in manifest_needs(manifest, p))]
    missed = [(p.rule, p.namespace, p.path) for p in found_here if not any(matches(f, p) for f in findings)]
    assert missed == []
    assert manifest["controls_need"] == {"shop.payments": ["declared schema"]}
    assert not [f for f in findings if f.namespace in demo.controls]


def manifest_needs(manifest: dict, problem) -> list[str]:
    return next(p["needs"] for p in manifest["planted"]
                if (p["rule"], p["namespace"], p["path"], p["note"]) == (problem.rule, problem.namespace, problem.path, problem.note))
