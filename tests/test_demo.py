"""The demo database: deterministic, sized by scale, and its planted drift is exactly what the
schema checks find (no more: the controls stay clean)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import bson
import pytest
from bson import json_util

from nosql_advisor.advise import advise
from nosql_advisor.demo import build_demo, write_dump, write_export, write_schema_files
from nosql_advisor.scan import ScanOptions, scan_sources
from nosql_advisor.schema.load import load_declared

SCALE = 0.05


@pytest.fixture(scope="module")
def demo():
    return build_demo(seed=7, scale=SCALE)


@pytest.fixture(scope="module")
def dump(demo, tmp_path_factory) -> Path:
    return write_dump(demo, tmp_path_factory.mktemp("demo") / "dump")


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    first = write_dump(build_demo(seed=3, scale=0.02), tmp_path / "a", gzip=True)
    again = write_dump(build_demo(seed=3, scale=0.02), tmp_path / "b", gzip=True)
    other = write_dump(build_demo(seed=4, scale=0.02), tmp_path / "c", gzip=True)
    assert digest(first) == digest(again)
    assert digest(first)["orders.bson.gz"] != digest(other)["orders.bson.gz"]


def test_scale_sizes_the_collections_and_every_problem_is_still_planted():
    small, larger = build_demo(seed=1, scale=0.02), build_demo(seed=1, scale=0.1)
    assert len(larger.collection("orders").documents) == 5 * len(small.collection("orders").documents)
    rules = {p.rule for p in small.planted}
    assert {"DM101", "DM102", "DM103", "DM104", "DM105", "DM106", "DM201", "DM202", "DM301", "DM302",
            "DM303", "DM305", "DM404", "DM501", "DM502", "DM503", "DM504", "DM505", "DM601", "DM602",
            "DM603", "DM701", "DM702"} <= rules


def test_controls_are_clean_by_construction(demo):
    from nosql_advisor.schema.dialect import failures, validator_for

    for namespace in demo.controls:
        collection = demo.collection(namespace.split(".", 1)[1])
        validator = validator_for(collection.options["validator"]["$jsonSchema"])
        assert collection.options["validationAction"] == "error"
        assert all(index["key"].get("tenant_id") == 1 and list(index["key"])[0] == "tenant_id"
                   for index in collection.indexes)
        for document in collection.documents:
            assert not failures(validator, document), (namespace, document["_id"])
            assert {"tenant_id", "created_at", "updated_at"} <= set(document)


def test_dump_round_trips_with_metadata(demo, dump):
    orders = list(bson.decode_file_iter(open(dump / "orders.bson", "rb")))
    assert orders == demo.collection("orders").documents
    metadata = json_util.loads((dump / "orders.metadata.json").read_text())
    assert [i["name"] for i in metadata["indexes"]][0] == "_id_"
    assert "$jsonSchema" in metadata["options"]["validator"]
    manifest = json.loads((dump.parent / "manifest.json").read_text())
    assert manifest["collections"]["orders"] == len(orders)


def test_export_round_trips(demo, tmp_path):
    folder = write_export(demo, tmp_path)
    lines = (folder / "reviews.json").read_text().splitlines()
    assert [json_util.loads(line) for line in lines] == demo.collection("reviews").documents


def test_schema_files_are_the_installed_validators(demo, tmp_path):
    write_schema_files(demo, tmp_path)
    on_disk = json.loads((tmp_path / "shop" / "invoices.json").read_text())
    assert on_disk == json.loads(json.dumps(demo.collection("invoices").options["validator"]))
    committed = Path(__file__).resolve().parent.parent / "schemas" / "shop" / "invoices.json"
    assert json.loads(committed.read_text()) == on_disk  # schemas/shop/ is what the demo installs


def test_planted_drift_is_found_and_the_controls_have_no_schema_finding(demo, dump, tmp_path):
    write_schema_files(demo, tmp_path / "schemas")
    declared, _ = load_declared(tmp_path / "schemas", keep_going=False)
    advice = advise(scan_sources([str(dump)], ScanOptions(schemas=declared)))
    found = {(f.rule, f.namespace, f.path) for f in advice.findings}
    for problem in demo.planted:
        if problem.rule.startswith("DM50"):
            path = None if problem.rule == "DM503" else problem.path
            assert (problem.rule, problem.namespace, path) in found, problem
    planted = {(p.rule, p.namespace) for p in demo.planted}
    unexpected = [f for f in advice.findings if (f.rule, f.namespace) not in planted]
    assert unexpected == []
    assert not [f for f in advice.findings if f.namespace in demo.controls]
    reviews = next(f for f in advice.findings if f.rule == "DM503" and f.namespace == "shop.reviews")
    assert {r["path"] for r in reviews.evidence["top_rules"]} == {"rating"}
