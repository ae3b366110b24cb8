"""Declared schemas against the data: loading, validation counts, and the DM50x findings."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import bson
import pytest
from bson import Int64, ObjectId, json_util
from pymongo import MongoClient

from nosql_advisor.advise import advise
from nosql_advisor.errors import InputError
from nosql_advisor.scan import ScanOptions, scan_sources
from nosql_advisor.schema.load import load_declared, load_schema_file

from helpers import run_cli

SCHEMA = {"bsonType": "object", "required": ["_id", "sku", "price"], "properties": {
    "_id": {"bsonType": "objectId"},
    "sku": {"bsonType": "string", "description": "stock keeping unit"},
    "price": {"bsonType": "decimal"},
    "tags": {"bsonType": "array", "items": {"bsonType": "string"}},
}}


def oid(day: int) -> ObjectId:
    return ObjectId.from_datetime(__import__("datetime").datetime(2025, 1, day))


def write_dump(folder: Path, documents: list[dict], validator: dict | None, action: str = "error") -> Path:
    db = folder / "dump" / "shop"
    db.mkdir(parents=True)
    (db / "products.bson").write_bytes(b"".join(bson.encode(d) for d in documents))
    options = {"validator": validator, "validationAction": action} if validator else {}
    (db / "products.metadata.json").write_text(json_util.dumps({"options": options, "indexes": []}))
    return folder / "dump"


def write_schemas(folder: Path, schema: dict) -> Path:
    (folder / "schemas" / "shop").mkdir(parents=True)
    (folder / "schemas" / "shop" / "products.json").write_text(json.dumps({"$jsonSchema": schema}))
    return folder / "schemas"


def findings_for(dump: Path, schemas: Path | None = None) -> list:
    """The schema findings (DM501–DM505) of a scan; other rules are tested on their own."""
    declared, _ = load_declared(schemas, keep_going=False)
    landscape = scan_sources([str(dump)], ScanOptions(schemas=declared))
    return [f for f in advise(landscape).findings if f.rule.startswith("DM50")]


PRODUCTS = [
    {"_id": oid(1), "sku": "A-1", "price": bson.Decimal128("1.50"), "tags": ["x"]},
    {"_id": oid(2), "sku": "A-2", "price": "2.00"},  # price as a string: fails bsonType
    {"_id": oid(3), "sku": "A-3", "price": bson.Decimal128("3"), "colour": "red"},  # undeclared field
    {"_id": oid(4), "price": bson.Decimal128("4")},  # sku missing: fails required
]


def test_violations_are_counted_with_the_failing_rules_and_an_example_id(tmp_path):
    dump = write_dump(tmp_path, PRODUCTS, {"$jsonSchema": SCHEMA})
    [violations] = [f for f in findings_for(dump) if f.rule == "DM503"]
    assert violations.evidence["checked"] == 4
    assert violations.evidence["failed"] == 2
    rules = {(r["path"], r["keyword"]): r for r in violations.evidence["top_rules"]}
    assert rules[("price", "bsonType")]["example_id"] == str(oid(2))
    assert rules[("sku", "required")]["documents"] == 1
    assert "2.00" not in json.dumps(violations.evidence)  # values never reach the report


def test_undeclared_fields_and_type_drift_with_when_it_changed(tmp_path):
    dump = write_dump(tmp_path, PRODUCTS, {"$jsonSchema": SCHEMA})
    found = {(f.rule, f.path): f for f in findings_for(dump)}
    assert found[("DM504", "colour")].evidence["count"] == 1
    drift = found[("DM505", "price")]
    assert drift.evidence["types"] == {"decimal": 3, "string": 1}
    assert drift.evidence["type_times"]["string"] == {"first": "2025-01-02T00:00:00Z", "last": "2025-01-02T00:00:00Z"}


def test_weak_and_missing_validators(tmp_path):
    weak = write_dump(tmp_path / "a", PRODUCTS[:1], {"$jsonSchema": SCHEMA}, action="warn")
    assert [f.rule for f in findings_for(weak)] == ["DM502"]
    missing = write_dump(tmp_path / "b", PRODUCTS[:1], None)
    assert [f.rule for f in findings_for(missing)] == ["DM501"]


def test_an_export_says_nothing_about_validators(tmp_path):
    export = tmp_path / "shop" / "products.json"
    export.parent.mkdir()
    export.write_text(json_util.dumps(PRODUCTS[0]) + "\n")
    assert findings_for(export) == []  # no DM501: an export cannot tell whether a validator exists


def test_a_schema_file_wins_over_the_server_validator_and_disagreements_are_listed(tmp_path):
    server_schema = {**SCHEMA, "properties": {**SCHEMA["properties"], "price": {"bsonType": "string"}}}
    dump = write_dump(tmp_path, PRODUCTS[:1], {"$jsonSchema": server_schema})
    schemas = write_schemas(tmp_path, SCHEMA)
    declared, _ = load_declared(schemas, keep_going=False)
    landscape = scan_sources([str(dump)], ScanOptions(schemas=declared))
    advice = advise(landscape)
    assert landscape.collections[0].declared.origin.endswith("products.json")
    assert advice.schema_disagreements["shop.products"] == [
        "'price': bsonType ['decimal'] in the file, ['string'] on the server"]


def test_clean_data_under_a_strict_validator_has_no_finding(tmp_path):
    dump = write_dump(tmp_path, PRODUCTS[:1], {"$jsonSchema": SCHEMA})
    assert findings_for(dump) == []


def test_generated_validator_carries_declared_descriptions(tmp_path):
    dump = write_dump(tmp_path, PRODUCTS[:1], {"$jsonSchema": SCHEMA})
    advice = advise(scan_sources([str(dump)], ScanOptions()))
    generated = advice.validators["shop.products"]["$jsonSchema"]
    assert generated["properties"]["sku"]["description"] == "stock keeping unit"
    assert generated["required"] == ["_id", "price", "sku", "tags"]


def test_query_operator_validators_are_not_comparable_not_dropped(tmp_path):
    validator = {"$jsonSchema": SCHEMA, "$expr": {"$gt": ["$price", 0]}}
    dump = write_dump(tmp_path, PRODUCTS[:1], validator)
    collection = scan_sources([str(dump)], ScanOptions()).collections[0]
    assert collection.server_validator.not_comparable == ["$expr"]


@pytest.mark.parametrize("content, where, message", [
    ("{not json", "products.json:1", "not JSON"),
    ('{"$jsonSchema": {"properties": {"a": {"bsonType": "strin"}}}}', "products.json#/properties/a/bsonType",
     "unknown bsonType 'strin'"),
    ('{"properties": {"a": {"format": "email"}}}', "products.json#/properties/a/format",
     "'format' is not supported"),
])
def test_bad_schema_files_name_the_file_and_pointer(tmp_path, content, where, message):
    path = tmp_path / "products.json"
    path.write_text(content)
    with pytest.raises(InputError) as raised:
        load_schema_file(path, "shop.products")
    assert where in str(raised.value) and message in str(raised.value)


def test_cli_diff_stops_on_a_bad_schema_file_unless_keep_going(tmp_path):
    dump = write_dump(tmp_path, PRODUCTS, {"$jsonSchema": SCHEMA})
    schemas = write_schemas(tmp_path, SCHEMA)
    (schemas / "shop" / "broken.json").write_text('{"$ref": "#/x"}')
    stopped = run_cli("diff", str(dump), "--schemas", str(schemas), cwd=tmp_path)
    assert stopped.returncode == 2
    assert "broken.json#/$ref: '$ref' is not supported" in stopped.stderr
    assert "Traceback" not in stopped.stderr
    went_on = run_cli("diff", str(dump), "--schemas", str(schemas), "--keep-going", "--json", cwd=tmp_path)
    assert went_on.returncode == 2
    assert {f["rule"] for f in json.loads(went_on.stdout)} == {"DM503", "DM504", "DM505"}


def test_cli_validators_writes_json_and_a_mongosh_script(tmp_path):
    dump = write_dump(tmp_path, PRODUCTS, None)
    done = run_cli("validators", str(dump), "--out", "v", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    validator = json.loads((tmp_path / "v" / "shop.products.json").read_text())
    assert validator["$jsonSchema"]["properties"]["price"]["bsonType"] == ["decimal", "string"]
    script = (tmp_path / "v" / "shop.products.js").read_text()
    assert 'db.getSiblingDB("shop").runCommand(' in script and '"collMod": "products"' in script


@pytest.mark.live
def test_cli_apply_refuses_without_yes_when_stdin_is_not_a_terminal(mongo_uri, tmp_path):
    """A reachable server holding data with no validator: the scan completes and writes the
    validator files, then the missing --yes (stdin is not a terminal) is what exits 2, and the
    server is unchanged. The same command with --yes does apply, so nothing else stood in the way."""
    name = f"drift_{uuid.uuid4().hex[:8]}"
    client = MongoClient(mongo_uri)
    try:
        client[name]["products"].insert_many(PRODUCTS)
        collections_before = client[name].list_collections()
        before = [(c["name"], c.get("options", {})) for c in collections_before]
        documents_before = list(client[name]["products"].find().sort("_id"))
        command = ("validators", mongo_uri, "--db", name, "--out", "v", "--apply", "-q")

        refused = run_cli(*command, cwd=tmp_path)
        assert refused.returncode == 2, refused.stderr
        assert "--yes" in refused.stderr
        assert (tmp_path / "v" / f"{name}.products.json").is_file()  # the scan got as far as the plan
        assert [(c["name"], c.get("options", {})) for c in client[name].list_collections()] == before
        assert "validator" not in client[name]["products"].options()
        assert list(client[name]["products"].find().sort("_id")) == documents_before

        applied = run_cli(*command, "--yes", cwd=tmp_path)
        assert applied.returncode == 0, applied.stderr
        assert "$jsonSchema" in client[name]["products"].options()["validator"]
    finally:
        client.drop_database(name)
        client.close()


def test_long_ints_are_long_in_the_generated_validator(tmp_path):
    dump = write_dump(tmp_path, [{"_id": 1, "n": Int64(5)}], None)
    advice = advise(scan_sources([str(dump)], ScanOptions()))
    assert advice.validators["shop.products"]["$jsonSchema"]["properties"]["n"]["bsonType"] == "long"


def test_declared_fields_never_seen_are_listed(tmp_path):
    dump = write_dump(tmp_path, [{"_id": oid(1), "sku": "A", "price": bson.Decimal128("1")}], {"$jsonSchema": SCHEMA})
    advice = advise(scan_sources([str(dump)], ScanOptions()))
    assert advice.never_seen == {"shop.products": ["tags"]}


def test_enum_only_when_asked_and_only_for_low_cardinality_strings(tmp_path):
    documents = [{"_id": i, "status": ["new", "paid", None][i % 3], "sku": f"S{i}", "tags": ["a", "b"][: i % 3]}
                 for i in range(30)]
    dump = write_dump(tmp_path, documents, None)
    plain = advise(scan_sources([str(dump)], ScanOptions()))
    assert "enum" not in json.dumps(plain.validators)
    from nosql_advisor.schema.generate import GenerateOptions

    landscape = scan_sources([str(dump)], ScanOptions(enum_limit=5))
    properties = advise(landscape, GenerateOptions(enums=True)).validators["shop.products"]["$jsonSchema"]["properties"]
    assert properties["status"]["enum"] == ["new", "paid", None]
    assert properties["tags"]["items"]["enum"] == ["a", "b"]
    assert "enum" not in properties["sku"]  # 30 distinct values: not an enum


# -- DM505 weighs what the mix breaks, and tells a change from a mix ----------------------------

def drift_of(tmp_path, values: list) -> object:
    """The DM505 finding of a `qty` field holding `values`, one document a day from 2025-01-01."""
    documents = [{"_id": oid(day), "qty": value} for day, value in enumerate(values, start=1)]
    [finding] = [f for f in findings_for(write_dump(tmp_path, documents, None)) if f.rule == "DM505"]
    return finding


def test_int_and_long_are_one_number_type_so_their_mix_is_info(tmp_path):
    finding = drift_of(tmp_path, [3, Int64(5), 7, Int64(2**40)])
    assert finding.evidence["types"] == {"int": 2, "long": 2}
    assert finding.severity == "info" and "compare, sort and index as one number type" in finding.message


def test_a_number_beside_a_string_is_medium(tmp_path):
    finding = drift_of(tmp_path, [3, "4", 5, "six"])
    assert (finding.severity, finding.evidence["types"]) == ("medium", {"int": 2, "string": 2})
    assert "a range query on one never matches the others" in finding.message


def test_a_scalar_beside_an_array_is_medium(tmp_path):
    assert drift_of(tmp_path, [3, [3, 4], 5]).severity == "medium"


def test_a_decimal_beside_a_double_is_money_losing_precision(tmp_path):
    finding = drift_of(tmp_path, [bson.Decimal128("0.10"), 0.1, bson.Decimal128("0.20")])
    assert finding.severity == "medium" and "lost precision" in finding.message


def test_int_beside_doubles_holding_whole_numbers_is_info(tmp_path):
    finding = drift_of(tmp_path, [3, 4.0, 5, 6.0, Int64(2**40), 1e15])  # every double is whole
    assert finding.evidence["types"] == {"double": 3, "int": 2, "long": 1}
    assert (finding.severity, finding.evidence["mix"], finding.evidence["fractional_doubles"]) == ("info", "whole numbers", 0)
    assert "int, long and double holding whole numbers compare, sort and index as one number type" in finding.message


def test_int_beside_doubles_holding_fractions_is_low_and_says_how_many(tmp_path):
    finding = drift_of(tmp_path, [3, 4.5, 5, 6.0, 7.25, float("inf")])  # 4.5, 7.25 and inf are not whole
    assert finding.evidence["types"] == {"double": 4, "int": 2}
    assert (finding.severity, finding.evidence["mix"], finding.evidence["fractional_doubles"]) == ("low", "int and double", 3)
    assert "3 of the 4 doubles hold fractions: a real mix of integers and fractions" in finding.message


def test_int_beside_double_without_the_count_is_low_and_says_the_doubles_were_not_checked(tmp_path):
    """A shape read back without `fractional_doubles` (an older report.json) cannot tell."""
    from dataclasses import replace

    from nosql_advisor.schema.drift import drift_findings

    landscape = scan_sources([str(write_dump(tmp_path, [{"_id": oid(1), "qty": 3}, {"_id": oid(2), "qty": 4.0}], None))],
                             ScanOptions())
    [shape] = [c.shape for c in landscape.collections]
    shape.fields = [replace(f, fractional_doubles=None) for f in shape.fields]
    [finding] = [f for f in drift_findings(shape, None, None, None, False) if f.rule == "DM505"]
    assert finding.severity == "low" and "not checked for fractions" in finding.message
    assert "fractional_doubles" not in finding.evidence


def test_double_then_int_in_disjoint_time_ranges_is_a_change(tmp_path):
    finding = drift_of(tmp_path, [1.5, 2.5, 3.5, 4, 5, 6])  # days 1-3 double, days 4-6 int
    assert finding.evidence["timeline"] == "changed"
    assert "It changed from double to int: double until 2025-01-03, int since 2025-01-04." in finding.message
    assert "mixed" not in finding.message


def test_double_and_int_interleaved_over_the_same_days_are_a_mix_not_a_change(tmp_path):
    finding = drift_of(tmp_path, [1.5, 2, 3.5, 4, 5.5, 6])  # both types on alternate days 1-6
    assert finding.evidence["timeline"] == "mixed"
    assert "mixed, not a change: written side by side between 2025-01-01 and 2025-01-06" in finding.message
    assert "changed" not in finding.message


def test_types_written_in_the_same_second_are_a_mix(tmp_path):
    """A bulk import stamps every _id alike: both ranges are one instant, which is no change."""
    same = ObjectId.from_datetime(__import__("datetime").datetime(2012, 10, 16, 17, 13, 57))
    documents = [{"_id": ObjectId(same.binary[:4] + bytes([0] * 7 + [i])), "qty": v} for i, v in enumerate([1.5, 2, 3])]
    [finding] = [f for f in findings_for(write_dump(tmp_path, documents, None)) if f.rule == "DM505"]
    assert finding.evidence["timeline"] == "mixed" and "side by side on 2012-10-16" in finding.message
