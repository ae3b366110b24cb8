"""Loose ends of issue 11: the scale-risk horizon, plans of unknown index lists, BSON symbols
in the $jsonSchema dialect."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import bson
import jsonschema
from bson import ObjectId, json_util

from nosql_advisor.bsontypes import UNDEFINED, DBPointer, Symbol
from nosql_advisor.report.markdown import collection_detail
from nosql_advisor.report.risk import LIMIT, scale_risk
from nosql_advisor.rules.workload import query_shape_items
from nosql_advisor.scan import ScanOptions, scan_sources
from nosql_advisor.schema.dialect import validator_for
from nosql_advisor.workload.shapes import Operation, Workload

SCHEMA = json.loads((Path(__file__).parents[1] / "schemas" / "report.schema.json").read_text())


def growing_collection(per_month: float, bytes_per_element: float) -> dict:
    """One collection entry whose `events` array grows with document age at the given rate."""
    return {"namespace": "shop.logs", "sampled": 100, "documents_estimated": 100,
            "document_size": {"mean": 1_000, "p99": 2_000, "max": 3_000},
            "fields": [{"path": "events", "array": {
                "lengths": {"p50": 5, "p99": 20, "max": 30},
                "growth": {"per_month": per_month, "correlation": 0.9, "bytes_per_element": bytes_per_element}}}]}


def risk_of(entry: dict) -> dict:
    dm102 = {"rule": "DM102", "severity": "low", "namespace": "shop.logs", "path": "events",
             "message": "events grows", "evidence": {}}
    risk = scale_risk(entry, [dm102])
    jsonschema.validate(risk, {"$ref": "#/$defs/scale_risk", "$defs": SCHEMA["$defs"]})
    return risk


def test_a_16_mib_date_centuries_away_is_said_as_beyond_ten_years():
    entry = growing_collection(per_month=2.0, bytes_per_element=50.0)  # 100 bytes a month
    assert (LIMIT - 2_000) / 100 / 12 > 10_000  # the input: over ten thousand years away
    risk = risk_of(entry)
    assert risk["months_to_16_mib"] is None
    assert risk["limit_beyond_years"] == 10
    assert risk["arrays"][0]["beyond_horizon"] is True and "months_to_16_mib" not in risk["arrays"][0]
    detail = collection_detail({"namespace": "shop.logs", "scale_risk": risk}, None)
    assert "16 MiB is more than 10 years away at this rate" in detail
    assert "reaches 16 MiB in" not in detail


def test_a_16_mib_date_within_ten_years_is_stated():
    entry = growing_collection(per_month=20.0, bytes_per_element=50_000.0)  # 1 MB a month
    expected = round((LIMIT - 2_000) / 1_000_000)
    risk = risk_of(entry)
    assert risk["months_to_16_mib"] == expected and risk["limit_beyond_years"] is None
    assert risk["arrays"][0]["months_to_16_mib"] == expected and "beyond_horizon" not in risk["arrays"][0]
    detail = collection_detail({"namespace": "shop.logs", "scale_risk": risk}, None)
    assert f"a p99 document reaches 16 MiB in {expected} months" in detail
    assert "more than 10 years away" not in detail


def export_and_dump(tmp_path) -> list[str]:
    """app.events as an export file (no index list) and app.orders as a dump with an index on
    tenant_id: the same query shape runs on both, and the log records no plan for either."""
    (tmp_path / "export" / "app").mkdir(parents=True)
    (tmp_path / "export" / "app" / "events.json").write_text(
        "\n".join(json_util.dumps({"_id": i, "tenant_id": "t1"}) for i in range(20)) + "\n")
    folder = tmp_path / "dump" / "app"
    folder.mkdir(parents=True)
    (folder / "orders.bson").write_bytes(b"".join(bson.encode({"_id": i, "tenant_id": "t1"}) for i in range(20)))
    (folder / "orders.metadata.json").write_text(json_util.dumps({"options": {}, "indexes": [
        {"v": 2, "key": {"_id": 1}, "name": "_id_"}, {"v": 2, "key": {"tenant_id": 1}, "name": "tenant_id_1"}]}))
    return [str(tmp_path / "export"), str(tmp_path / "dump")]


def test_a_shape_on_a_collection_with_no_index_list_and_no_recorded_plan_has_an_unknown_plan(tmp_path):
    landscape = scan_sources(export_and_dump(tmp_path), ScanOptions())
    landscape.workload = Workload()
    for namespace in ("app.events", "app.orders"):
        landscape.workload.add(Operation(namespace, "find", {"tenant_id": "t1"}, duration_ms=5))
    plans = {item["namespace"]: item for item in query_shape_items(landscape)}
    assert (plans["app.events"]["plan"], plans["app.events"]["plan_derived"]) == (None, False)
    assert "no index list" in plans["app.events"]["plan_unknown"]
    assert (plans["app.orders"]["plan"], plans["app.orders"]["plan_derived"]) == ("IXSCAN { tenant_id: 1 }", True)


def test_a_plan_the_log_recorded_is_shown_even_without_an_index_list(tmp_path):
    landscape = scan_sources(export_and_dump(tmp_path)[:1], ScanOptions())
    landscape.workload = Workload()
    landscape.workload.add(Operation("app.events", "find", {"tenant_id": "t1"}, duration_ms=5,
                                     plan_summary="COLLSCAN", docs_examined=20, nreturned=20))
    [item] = query_shape_items(landscape)
    assert (item["plan"], item["plan_derived"]) == ("COLLSCAN", False) and "plan_unknown" not in item


def test_type_string_matches_a_string_and_not_a_bson_symbol():
    validator = validator_for({"properties": {"code": {"type": "string"}}})
    assert validator.is_valid({"code": "SKU-1"})
    assert not validator.is_valid({"code": Symbol("SKU-1")})
    assert validator_for({"properties": {"code": {"bsonType": "symbol"}}}).is_valid({"code": Symbol("SKU-1")})


def test_type_object_and_null_do_not_take_a_db_pointer_or_undefined():
    assert validator_for({"type": "object"}).is_valid({"a": 1})
    assert not validator_for({"type": "object"}).is_valid(DBPointer("shop.orders", ObjectId()))
    assert not validator_for({"type": "null"}).is_valid(UNDEFINED)


def test_the_cli_option_defaults_are_the_library_defaults():
    from nosql_advisor import cli
    from nosql_advisor.shape.infer import DEFAULT_MAX_PATHS
    from nosql_advisor.sources.live import DEFAULT_MAX_TIME_MS

    assert (cli.DEFAULT_MAX_PATHS, cli.DEFAULT_MAX_TIME_MS) == (DEFAULT_MAX_PATHS, DEFAULT_MAX_TIME_MS)


def test_importing_the_cli_loads_neither_pymongo_nor_jinja2_nor_the_rules():
    heavy = ("pymongo", "jinja2", "jsonschema", "nosql_advisor.advise", "nosql_advisor.rules")
    probe = f"import sys, nosql_advisor.cli; print([m for m in {heavy!r} if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_report_with_an_unknown_plan_is_valid_and_its_html_charts_the_shapes(tmp_path):
    from nosql_advisor.advise import advise
    from nosql_advisor.report.json_report import build_report
    from nosql_advisor.report.write import render

    landscape = scan_sources(export_and_dump(tmp_path), ScanOptions())
    landscape.workload = Workload()
    landscape.workload.add(Operation("app.events", "find", {"tenant_id": "t1"}, duration_ms=5))
    report = build_report(landscape, advise(landscape))
    jsonschema.validate(report, SCHEMA)
    [shape] = report["query_shapes"]
    assert shape["plan"] is None and shape["namespace"] == "app.events"
    html = render(report, "html")
    assert "top query shapes by total time" in html and "app.events" in html
    report["collections"][0]["scale_risk"] = risk_of(growing_collection(per_month=2.0, bytes_per_element=50.0))
    html = render(report, "html")
    assert "16 MiB is more than 10 years away at this rate" in html and "reaches 16 MiB in" not in html
