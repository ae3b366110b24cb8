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
from datetime import datetime, timezone
from pathlib import Path

import bson
import pytest
from bson import json_util

from nosql_advisor.advise import advise
from nosql_advisor.demo import build_demo, write_dump, write_export, write_schema_files
from nosql_advisor.demo.docs import collections_table, planted_table
from nosql_advisor.rules import all_rules
from nosql_advisor.scan import ScanOptions, scan_sources
from nosql_advisor.schema.load import load_declared

ROOT = Path(__file__).resolve().parent.parent
SCALE = 0.05
DATA_RULES = {"DM101", "DM102", "DM103", "DM104", "DM105", "DM106", "DM201", "DM202", "DM301", "DM302",
              "DM303", "DM305", "DM501", "DM502", "DM503", "DM504", "DM505", "DM601", "DM602", "DM603",
              "DM701", "DM702"}


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
        assert re.fullmatch(r"DM[1-7]0[1-7]", problem["rule"]) and problem["note"]
    planted = {p["namespace"] for p in manifest["planted"]}
    assert not planted & set(manifest["controls"])
    assert manifest["global_collections"] == ["shop.tenants"]


DEMO_START, DEMO_END = datetime(2024, 6, 30, 12), datetime(2026, 6, 30, 12)  # docs/demo.md: two fixed years


def test_object_ids_carry_the_creation_time_within_two_fixed_years(demo):
    for collection in demo.collections:
        for document in collection.documents:
            if "created_at" in document and not isinstance(document["_id"], str):
                made = document["_id"].generation_time
                assert made == document["created_at"].replace(tzinfo=timezone.utc)
                assert DEMO_START <= document["created_at"] <= document["updated_at"] <= DEMO_END


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


def test_dump_round_trips_with_metadata(demo, dump):
    for collection in demo.collections:
        with open(dump / f"{collection.name}.bson", "rb") as handle:
            assert list(bson.decode_file_iter(handle)) == collection.documents
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


def matches(finding, problem) -> bool:
    return (finding.rule == problem.rule and fnmatch.fnmatchcase(finding.namespace, problem.namespace)
            and (problem.path is None or finding.path is None or finding.path == problem.path))


def test_every_checked_planted_problem_is_found_and_nothing_else(demo, dump, tmp_path):
    write_schema_files(demo, tmp_path / "schemas")
    declared, _ = load_declared(tmp_path / "schemas", keep_going=False)
    findings = advise(scan_sources([str(dump)], ScanOptions(schemas=declared))).findings
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
